"""A restricted unpickler for PyTorch state dicts (weights-formats.md §2.2, §2.5).

Pickle is a small stack machine: GLOBAL imports any ``module.name``, REDUCE calls it, and
BUILD/NEWOBJ run ``__setstate__``/``__new__``. ``pickle.load`` on a crafted ``.pth`` therefore
runs whatever the file asks for (``os.system``, ``builtins.eval``, ...). This module loads a
state dict without running anything from the file, in two layers:

1. **Opcode scan.** Before unpickling, every opcode is listed with :func:`pickletools.genops`
   (which parses but never executes). Opcodes that a state dict never uses -- INST, OBJ,
   NEWOBJ, NEWOBJ_EX, the EXT registry look-ups, text persistent ids, out-of-band buffers --
   are refused.
2. **Allowlisted globals.** :meth:`RestrictedUnpickler.find_class` never imports: it maps the
   few names a state dict needs to local stand-ins and refuses every other name, naming it:

   ===================================  ==================================================
   global                               stand-in
   ===================================  ==================================================
   ``collections.OrderedDict``          :func:`_ordered_dict` (no arguments allowed)
   ``torch._utils._rebuild_tensor_v2``  :class:`TensorRef` (6 args; 7th only if empty)
   ``torch._utils._rebuild_tensor``     :class:`TensorRef` (4 args, torch < 0.4 files)
   ``torch._utils._rebuild_parameter``  unwraps to its :class:`TensorRef`
   ``torch.<Type>Storage``              :class:`StorageType`, a dtype marker
   ===================================  ==================================================

The stand-ins hold references only: storages are resolved to NumPy arrays afterwards, by the
format reader, after checking every declared size against the bytes present
(:func:`materialize`). None of the stand-ins accepts BUILD except the OrderedDict, and that
only with torch's ``{'_metadata': ...}`` state.
"""
from __future__ import annotations

import collections
import io
import pickle
import pickletools
from typing import Callable

import numpy as np

from models.convert.errors import ConversionError, UnsafeCheckpointError

#: Storage class name -> NumPy dtype (without byte order; the reader adds it). BFloat16 has no
#: NumPy dtype: it is read as uint16 and widened to float32 by :func:`to_float32`.
STORAGE_DTYPES = {
    "FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2", "BFloat16Storage": "u2",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "b1",
}

FLOAT_STORAGES = ("f2", "f4", "f8", "u2")

#: Opcodes seen in state-dict pickles, plus harmless variants of the same operations.
ALLOWED_OPCODES = frozenset("""
    PROTO FRAME STOP GLOBAL STACK_GLOBAL PUT BINPUT LONG_BINPUT MEMOIZE GET BINGET LONG_BINGET
    MARK POP POP_MARK DUP EMPTY_DICT EMPTY_TUPLE EMPTY_LIST DICT LIST TUPLE TUPLE1 TUPLE2 TUPLE3
    BINUNICODE SHORT_BINUNICODE BINUNICODE8 SHORT_BINSTRING BINSTRING BINBYTES SHORT_BINBYTES
    BINBYTES8 BININT BININT1 BININT2 LONG1 LONG4 BINFLOAT NEWTRUE NEWFALSE NONE
    REDUCE BUILD SETITEM SETITEMS APPEND APPENDS BINPERSID
""".split())


class StorageType:
    """Marker for a ``torch.<Type>Storage`` global: only its dtype is used, it is never called."""
    __slots__ = ("name", "dtype")

    def __init__(self, name: str):
        self.name, self.dtype = name, STORAGE_DTYPES[name]

    def __setstate__(self, state):
        raise UnsafeCheckpointError(f"BUILD on storage type {self.name} is not part of a state dict")


class StorageRef:
    """A storage named by a persistent id: ``numel`` elements of ``dtype`` starting ``offset``
    elements into the record ``key``. No bytes are read until :func:`materialize`."""
    __slots__ = ("key", "dtype", "numel", "offset")

    def __init__(self, key: str, dtype: str, numel: int, offset: int = 0):
        self.key, self.dtype, self.numel, self.offset = key, dtype, numel, offset

    def __setstate__(self, state):
        raise UnsafeCheckpointError("BUILD on a storage is not part of a state dict")


def _check_int_tuple(value, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(type(v) is int and v >= 0 for v in value):
        raise ConversionError(f"tensor {what} must be a tuple of non-negative ints, got {value!r}")
    return value


class TensorRef:
    """``torch._utils._rebuild_tensor(storage, offset, size, stride)``, as a reference.

    The view is checked against the storage before any byte is read: for a non-empty tensor
    the last element ``offset + sum((size_i - 1) * stride_i)`` must lie inside the storage, and
    the tensor may not have more elements than its storage. A plain state dict never does; an
    expanded (stride-0) or overlapping view does, and copying it out would allocate
    ``prod(size)`` elements from a storage of a few bytes (a 1.7 KB file declaring a 37 GiB
    tensor).
    """
    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, storage_offset, size, stride):
        if not isinstance(storage, StorageRef):
            raise UnsafeCheckpointError(
                f"tensor storage must come from a 'storage' persistent id, got {type(storage).__name__}")
        if type(storage_offset) is not int or storage_offset < 0:
            raise ConversionError(f"tensor storage offset must be a non-negative int, got {storage_offset!r}")
        size, stride = _check_int_tuple(size, "size"), _check_int_tuple(stride, "stride")
        if len(size) != len(stride):
            raise ConversionError(f"tensor size {size} and stride {stride} differ in length")
        if all(size):
            last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= storage.numel:
                raise ConversionError(
                    f"tensor of size {size}, stride {stride}, offset {storage_offset} reaches element "
                    f"{last} of a storage that declares only {storage.numel} elements")
            elements = 1
            for n in size:
                elements *= n
            if elements > storage.numel:
                raise ConversionError(
                    f"tensor of size {size}, stride {stride} has {elements} elements but its storage "
                    f"declares only {storage.numel} element(s): an expanded (stride-0) or overlapping "
                    f"view, which a state dict never holds; save tensor.contiguous() instead")
        self.storage, self.offset, self.size, self.stride = storage, storage_offset, size, stride

    @property
    def shape(self) -> tuple:
        """The declared size (so that shape checks run on references, before any read)."""
        return self.size

    def __setstate__(self, state):
        raise UnsafeCheckpointError("BUILD on a tensor (legacy tensor class encoding) is not supported")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    if backward_hooks or metadata:
        raise UnsafeCheckpointError("tensors with backward hooks or tensor metadata are not plain weights")
    return TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, TensorRef) or backward_hooks:
        raise UnsafeCheckpointError("torch._utils._rebuild_parameter needs a plain tensor and no hooks")
    return data


class StateDict(collections.OrderedDict):
    """``collections.OrderedDict`` as torch pickles it; BUILD may only set ``_metadata``."""

    def __setstate__(self, state):
        if not (isinstance(state, dict) and set(state) <= {"_metadata"}):
            raise UnsafeCheckpointError(
                "BUILD on an OrderedDict may only set torch's '_metadata' attribute, got "
                f"{sorted(state) if isinstance(state, dict) else type(state).__name__}")
        # the per-module version numbers are not needed for inference: dropped


def _ordered_dict(*args, **kwargs):
    if args or kwargs:
        raise UnsafeCheckpointError("collections.OrderedDict may only be created empty (as torch does)")
    return StateDict()


ALLOWED_GLOBALS: dict[tuple[str, str], Callable] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): TensorRef,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): StorageType(name) for name in STORAGE_DTYPES},
}


def scan_opcodes(data: bytes, source: str) -> None:
    """Refuse a pickle that uses an opcode outside :data:`ALLOWED_OPCODES` (nothing executes)."""
    try:
        for opcode, _arg, pos in pickletools.genops(data):
            if opcode.name not in ALLOWED_OPCODES:
                raise UnsafeCheckpointError(
                    f"refusing checkpoint {source}: pickle opcode {opcode.name} at byte {pos} is "
                    f"never used by a state dict")
    except UnsafeCheckpointError:
        raise
    except Exception as exc:  # genops raises ValueError on damaged or truncated streams
        raise ConversionError(f"checkpoint {source} holds a damaged or truncated pickle: {exc}") from exc


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :data:`ALLOWED_GLOBALS` and delegates
    persistent ids to ``persistent_load`` (a callable given by the format reader)."""

    def __init__(self, file, source: str, persistent_load: Callable | None = None):
        super().__init__(file, encoding="ascii")
        self.source = source
        self._persistent_load = persistent_load

    def find_class(self, module, name):
        stub = ALLOWED_GLOBALS.get((module, name))
        if stub is None:
            allowed = ", ".join(sorted(f"{m}.{n}" for m, n in ALLOWED_GLOBALS if not n.endswith("Storage")))
            raise UnsafeCheckpointError(
                f"refusing to load '{module}.{name}' from checkpoint {self.source}: only state-dict "
                f"globals are allowed ({allowed}, torch.<Type>Storage)")
        return stub

    def persistent_load(self, pid):
        if self._persistent_load is None:
            raise UnsafeCheckpointError(f"checkpoint {self.source}: unexpected persistent id {pid!r}")
        return self._persistent_load(pid)


def restricted_load(data: bytes, source: str, persistent_load: Callable | None = None):
    """Scan then unpickle ``data`` (one pickle) with the allowlist; see the module docstring."""
    scan_opcodes(data, source)
    try:
        return RestrictedUnpickler(io.BytesIO(data), source, persistent_load).load()
    except ConversionError as exc:   # the stand-ins' own refusals: name the file
        if source in str(exc):
            raise
        raise type(exc)(f"checkpoint {source}: {exc}") from exc
    except Exception as exc:  # stack errors, wrong argument counts to the stand-ins, ...
        raise ConversionError(f"checkpoint {source} is not a valid state-dict pickle: "
                              f"{type(exc).__name__}: {exc}") from exc


def storage_id(pid, source: str) -> tuple:
    """Validate the common part of a ``('storage', type, key, location, numel, ...)`` id and
    return ``(storage_type, key, numel, rest)``."""
    if not isinstance(pid, tuple) or len(pid) < 5:
        raise UnsafeCheckpointError(f"checkpoint {source}: persistent id {pid!r} is not a storage id")
    kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
    if kind != "storage":
        raise UnsafeCheckpointError(
            f"checkpoint {source}: persistent id of kind {kind!r} refused (only 'storage'; "
            f"'module' ids mean whole nn.Modules were pickled, not a state dict)")
    storage_type, key, _location, numel = pid[1:5]
    if not isinstance(storage_type, StorageType):
        raise UnsafeCheckpointError(f"checkpoint {source}: storage type {storage_type!r} is not a torch storage class")
    if isinstance(key, bytes):
        key = key.decode("ascii")
    if not isinstance(key, str) or type(numel) is not int or numel < 0:
        raise ConversionError(f"checkpoint {source}: malformed storage id {pid!r}")
    return storage_type, key, numel, pid[5:]


def state_dict_refs(obj, source: str) -> dict[str, TensorRef]:
    """Check that the unpickled object is a mapping of str keys to tensors."""
    if not isinstance(obj, dict):
        raise ConversionError(f"checkpoint {source} holds a {type(obj).__name__}, not a state dict "
                              f"(a mapping of parameter names to tensors)")
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, TensorRef):
            raise ConversionError(f"checkpoint {source}: entry {key!r} is a {type(value).__name__}, "
                                  f"not a tensor; only plain state dicts are supported")
    return dict(obj)


def to_float32(array: np.ndarray, storage_dtype: str) -> np.ndarray:
    """Cast a storage-typed array to native float32 (bf16 arrives as uint16 bit patterns)."""
    if storage_dtype == "u2":
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(np.float32, copy=False)


def materialize(refs: dict[str, TensorRef], read_storage: Callable[[StorageRef], np.ndarray],
                ) -> dict[str, np.ndarray]:
    """Turn tensor references into arrays. ``read_storage(ref)`` returns the 1-D array of the
    storage record (size already checked); each record is read once even if shared."""
    cache: dict[str, np.ndarray] = {}
    out = {}
    for name, t in refs.items():
        st = t.storage
        if st.key not in cache:
            cache[st.key] = read_storage(st)
        flat = cache[st.key][st.offset:st.offset + st.numel]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[t.offset:], shape=t.size, strides=tuple(s * itemsize for s in t.stride), writeable=False) \
            if all(t.size) else np.empty(t.size, flat.dtype)
        array = view if view.flags.c_contiguous else view.copy()   # (ascontiguousarray would make 0-d 1-d)
        out[name] = to_float32(array, st.dtype) if st.dtype in FLOAT_STORAGES else array
    return out
