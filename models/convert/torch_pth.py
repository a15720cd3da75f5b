"""Read PyTorch ``.pth`` state dicts with the standard library and NumPy (no torch import).

Two containers exist (weights-formats.md §2.2-§2.3):

* **zip** (torch >= 1.6): ``<folder>/data.pkl`` is the pickle; each storage is the raw record
  ``<folder>/data/<key>``; ``<folder>/byteorder`` says ``little`` or ``big``. The persistent id
  is ``('storage', StorageType, key, location, numel)``.
* **legacy stream** (torch < 1.6, or ``_use_new_zipfile_serialization=False``): pickles of the
  magic number, protocol 1001 and ``sys_info``; the state-dict pickle with ids
  ``('storage', StorageType, root_key, location, numel, view_metadata)``; a pickle of the list
  of storage keys; then per key an 8-byte little-endian element count and the raw bytes.

Both go through :mod:`models.convert.safe_unpickle`. Before a byte of tensor data is read,
every declared storage size is compared with the bytes actually present, so a truncated or
lying file is refused instead of being read past its end. ``location`` (``cpu``/``cuda:0``)
is ignored: everything loads to host memory.
"""
from __future__ import annotations

import os
import pickletools
import struct
import zipfile
import zlib

import numpy as np

from models.convert.errors import ConversionError, UnsafeCheckpointError
from models.convert.safe_unpickle import (StorageRef, materialize, restricted_load, state_dict_refs,
                                          storage_id)

LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
LEGACY_PROTOCOL = 1001
#: What zipfile raises on a damaged archive (a damaged version field: NotImplementedError; a
#: damaged deflate stream: zlib.error; a damaged flag bit: RuntimeError "encrypted").
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
               RuntimeError, zlib.error, struct.error)


def _dtype(storage_dtype: str, little_endian: bool) -> np.dtype:
    return np.dtype(storage_dtype).newbyteorder("<" if little_endian else ">")


# ----------------------------------------------------------------------------------------- zip
def _archive_folder(names: list[str], source: str) -> str:
    """The single top-level folder of a torch zip, after refusing unsafe entry names."""
    for name in names:
        parts = name.split("/")
        if (name.startswith("/") or "\\" in name or ":" in parts[0] or ".." in parts
                or "" in parts[:-1] or "\x00" in name):
            raise UnsafeCheckpointError(
                f"refusing checkpoint {source}: zip entry {name!r} points outside the archive folder")
    if len(set(names)) != len(names):
        raise UnsafeCheckpointError(f"refusing checkpoint {source}: the zip has duplicate entry names")
    folders = {name.split("/", 1)[0] for name in names}
    if len(folders) != 1 or any("/" not in name for name in names):
        raise ConversionError(f"checkpoint {source}: zip entries must share one top-level folder, "
                              f"found {sorted(folders)[:5]}")
    return folders.pop()


def read_zip(path, check=None) -> dict[str, np.ndarray]:
    """State dict from a zip-format ``.pth`` (see the module docstring); ``check(refs)`` runs on
    the tensor references (name -> :class:`TensorRef`) before any storage is read."""
    source = f"'{path}'"
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise ConversionError(f"checkpoint {source} is not a readable zip archive (truncated or "
                              f"damaged download?): {exc}") from exc
    with zf:
        infos = {info.filename: info for info in zf.infolist()}
        folder = _archive_folder(list(infos), source)

        def record(name: str) -> bytes:
            try:
                return zf.read(infos[f"{folder}/{name}"])
            except KeyError:
                raise ConversionError(f"checkpoint {source} has no record '{folder}/{name}'") from None
            except _ZIP_ERRORS as exc:
                raise ConversionError(f"checkpoint {source}: record '{name}' cannot be read "
                                      f"(truncated or damaged?): {exc}") from exc

        byteorder = record("byteorder").decode("ascii", "replace") if f"{folder}/byteorder" in infos \
            else "little"
        if byteorder not in ("little", "big"):
            raise ConversionError(f"checkpoint {source}: byteorder record says {byteorder!r}")
        declared: dict[str, tuple] = {}

        def persistent_load(pid):
            storage_type, key, numel, rest = storage_id(pid, source)
            if rest:
                raise UnsafeCheckpointError(f"checkpoint {source}: zip storage id has extra fields {rest!r}")
            info = infos.get(f"{folder}/data/{key}")
            if info is None:
                raise ConversionError(f"checkpoint {source}: storage record 'data/{key}' is missing")
            nbytes = numel * np.dtype(storage_type.dtype).itemsize
            if info.file_size != nbytes:
                raise ConversionError(
                    f"checkpoint {source}: storage 'data/{key}' declares {numel} {storage_type.name} "
                    f"elements ({nbytes} bytes) but the archive holds {info.file_size} bytes")
            if declared.setdefault(key, (storage_type.dtype, numel)) != (storage_type.dtype, numel):
                raise ConversionError(f"checkpoint {source}: storage 'data/{key}' is declared twice "
                                      f"with different types or sizes")
            return StorageRef(key, storage_type.dtype, numel)

        refs = state_dict_refs(restricted_load(record("data.pkl"), source, persistent_load), source)
        if check is not None:
            check(refs)

        def read_storage(ref: StorageRef) -> np.ndarray:
            raw = record(f"data/{ref.key}")
            dtype = _dtype(ref.dtype, byteorder == "little")
            if len(raw) != ref.numel * dtype.itemsize:
                raise ConversionError(f"checkpoint {source}: storage 'data/{ref.key}' is truncated")
            return np.frombuffer(raw, dtype)

        return materialize(refs, read_storage)


# -------------------------------------------------------------------------------------- legacy
class _BoundedReader:
    """``f`` whose ``read(n)`` never asks for more than the bytes left in the file:
    :func:`pickletools.genops` reads an opcode's declared length in one call, and a damaged
    length (2**60 from one changed byte, found by the fuzz test) would be a MemoryError."""

    def __init__(self, f, size: int):
        self.f, self.size = f, size

    def read(self, n: int = -1) -> bytes:
        left = max(self.size - self.f.tell(), 0)
        return self.f.read(left if n is None or n < 0 else min(n, left))

    def readline(self) -> bytes:
        return self.f.readline()

    def tell(self) -> int:
        return self.f.tell()


def _next_pickle(f, source: str) -> bytes:
    """The bytes of the next pickle in the stream (opcodes are parsed, nothing executes)."""
    start = f.tell()
    try:
        for opcode, _arg, _pos in pickletools.genops(_BoundedReader(f, os.fstat(f.fileno()).st_size)):
            if opcode.name == "STOP":
                break
        else:
            raise ValueError("no STOP opcode")
    except ValueError as exc:
        raise ConversionError(f"checkpoint {source} is truncated or damaged inside a pickle "
                              f"starting at byte {start}: {exc}") from exc
    end = f.tell()
    f.seek(start)
    return f.read(end - start)


def read_legacy(path, check=None) -> dict[str, np.ndarray]:
    """State dict from a legacy-stream ``.pth`` (see the module docstring); ``check`` as for
    :func:`read_zip`."""
    source = f"'{path}'"
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        if restricted_load(_next_pickle(f, source), source) != LEGACY_MAGIC:
            raise ConversionError(f"checkpoint {source} does not start with torch's legacy magic number")
        protocol = restricted_load(_next_pickle(f, source), source)
        if protocol != LEGACY_PROTOCOL:
            raise ConversionError(f"checkpoint {source}: legacy protocol {protocol!r} is not supported "
                                  f"(expected {LEGACY_PROTOCOL})")
        sys_info = restricted_load(_next_pickle(f, source), source)
        little = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
        roots: dict[str, tuple] = {}   # root key -> (storage dtype, numel)

        def persistent_load(pid):
            storage_type, key, numel, rest = storage_id(pid, source)
            if len(rest) != 1:
                raise UnsafeCheckpointError(f"checkpoint {source}: legacy storage id {pid!r} has "
                                            f"{5 + len(rest)} fields, expected 6")
            if roots.setdefault(key, (storage_type.dtype, numel)) != (storage_type.dtype, numel):
                raise ConversionError(f"checkpoint {source}: storage {key!r} is declared twice "
                                      f"with different types or sizes")
            view = rest[0]
            if view is None:
                return StorageRef(key, storage_type.dtype, numel)
            if (not isinstance(view, tuple) or len(view) != 3
                    or not all(type(v) is int and v >= 0 for v in view[1:])):
                raise ConversionError(f"checkpoint {source}: malformed storage view {view!r}")
            _view_key, offset, view_size = view
            if offset + view_size > numel:
                raise ConversionError(f"checkpoint {source}: storage view [{offset}, {offset + view_size}) "
                                      f"lies outside storage {key!r} of {numel} elements")
            return StorageRef(key, storage_type.dtype, view_size, offset)

        refs = state_dict_refs(restricted_load(_next_pickle(f, source), source, persistent_load), source)
        if check is not None:
            check(refs)
        keys = restricted_load(_next_pickle(f, source), source)
        if not isinstance(keys, list) or not all(isinstance(k, (str, bytes)) for k in keys):
            raise ConversionError(f"checkpoint {source}: the storage key list is malformed")
        offsets: dict[str, int] = {}
        pos = f.tell()
        for key in keys:
            key = key.decode("ascii") if isinstance(key, bytes) else key
            if key not in roots:
                raise ConversionError(f"checkpoint {source}: storage {key!r} is stored but never used")
            storage_dtype, numel = roots[key]
            f.seek(pos)
            header = f.read(8)
            if len(header) != 8:
                raise ConversionError(f"checkpoint {source} is truncated: storage {key!r} header at byte "
                                      f"{pos} is missing")
            (count,) = struct.unpack("<q", header)
            if count != numel:
                raise ConversionError(f"checkpoint {source}: storage {key!r} declares {numel} elements "
                                      f"in the pickle but {count} in its header")
            offsets[key] = pos + 8
            pos += 8 + numel * np.dtype(storage_dtype).itemsize
            if pos > file_size:
                raise ConversionError(f"checkpoint {source} is truncated: storage {key!r} needs bytes "
                                      f"up to {pos}, the file has {file_size}")
        missing = sorted(set(roots) - set(offsets))
        if missing:
            raise ConversionError(f"checkpoint {source}: storages {missing[:5]} are used but not stored")

        def read_storage(ref: StorageRef) -> np.ndarray:
            root_dtype, root_numel = roots[ref.key]
            dtype = _dtype(root_dtype, little)
            f.seek(offsets[ref.key])
            return np.frombuffer(f.read(root_numel * dtype.itemsize), dtype)

        return materialize(refs, read_storage)


def read_pth(path, fmt: str, check=None) -> dict[str, np.ndarray]:
    """State dict from ``path`` in format ``torch-zip``, ``torch-legacy`` (``torch-tar`` is
    refused); ``check(refs)`` runs before any storage is read (see :func:`read_zip`)."""
    if fmt == "torch-zip":
        return read_zip(path, check)
    if fmt == "torch-legacy":
        return read_legacy(path, check)
    raise ConversionError(f"'{path}' is a tar-based checkpoint from torch before 2017, which this "
                          f"reader does not support; load it with torch and save its state_dict() again")
