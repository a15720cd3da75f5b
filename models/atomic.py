"""Writing files so that nothing a user owns is ever left half-written.

Every output goes to a temporary file in the target's folder (``.<name>.<random>.part``, so
the final rename stays on one file system) and is renamed over the target with ``os.replace``
only once it is complete; on any error the temporary file is removed and the target is left as
it was. The temporary file is created exclusively by :func:`tempfile.mkstemp` (no race with
another writer) and then given the mode an ordinary ``open`` would give, ``0o666 & ~umask``,
instead of mkstemp's private ``0o600``.

* :func:`atomic_path` ``(path)``: a context manager yielding the temporary path to write to;
* :func:`write_files_atomically` ``({path: bytes})``: several files, renamed only after all of
  them are written.

Used by :func:`models.hdf5_weights.save_weights`, :func:`models.images.save_image` and
``visualize.result`` (visualize may import models, not the reverse).
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "write_files_atomically", "default_file_mode"]


def default_file_mode() -> int:
    """``0o666 & ~umask``: the mode ``open(path, "w")`` gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _temporary_beside(path: Path) -> str:
    """A new empty file next to ``path``, with the default file mode; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    os.chmod(tmp, default_file_mode())
    return tmp


@contextmanager
def atomic_path(path):
    """``with atomic_path("out.h5") as tmp:`` write the whole file at ``tmp``; when the block
    ends without an error, ``tmp`` replaces ``out.h5``; otherwise ``tmp`` is removed and
    ``out.h5`` is untouched. Missing parent folders are created."""
    tmp = _temporary_beside(Path(path))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_files_atomically(files: dict) -> None:
    """Write each ``path: content`` (bytes) to a temporary file beside it, then rename them all;
    on any error before the renames, remove the temporaries and leave the targets untouched."""
    temps = {}
    try:
        for path, content in files.items():
            temps[path] = _temporary_beside(Path(path))
            with open(temps[path], "wb") as f:
                f.write(content)
    except BaseException:
        for tmp in temps.values():
            os.remove(tmp)
        raise
    for path, tmp in temps.items():
        os.replace(tmp, path)
