"""Writing files so that nothing a user owns is ever left half-written.

Every output goes to a temporary file in the target's folder (``.<name>.<pid>.<random>.part``, so
the final rename stays on one file system) and is renamed over the target with ``os.replace``
only once it is complete; on any error the temporary file is removed and the target is left as
it was. The temporary file is created exclusively by :func:`tempfile.mkstemp` (no race with
another writer) and then given the mode an ordinary ``open`` would give, ``0o666 & ~umask``,
instead of mkstemp's private ``0o600``.

* :func:`atomic_path` ``(path)``: a context manager yielding the temporary path to write to;
* :func:`write_files_atomically` ``({path: bytes})``: several files, renamed only after all of
  them are written.

* :func:`check_writable` ``(path)``: fail at once, before any work, when ``path`` could not be
  written (a read-only folder, a folder given as the file, a file in place of a folder).

Used by :func:`models.hdf5_weights.save_weights`, :func:`models.images.save_image` and
``visualize.result`` (visualize may import models, not the reverse).

**Stale temporaries.** A process killed between creating a temporary and renaming it (kill -9,
power loss) leaves ``.<name>.<pid>.<random>.part`` behind. Every new temporary first removes
those of its folder that are stale: matching exactly this pattern, written by a process that
is no longer running (or by an earlier process with this one's id), and last modified before
the current run started. Nothing else is ever removed.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "write_files_atomically", "default_file_mode", "check_writable", "DestinationError"]

_RUN_STARTED = time.time()
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]{8}\.part")


class DestinationError(OSError):
    """An output cannot be written where it was asked for; the message names the path and why."""


def check_writable(path) -> None:
    """Raise :class:`DestinationError` now if a file could not be written at ``path`` later:
    ``path`` is a folder, a parent is a file, or its folder (or the nearest existing ancestor,
    when folders are still to be created) does not let us create a file. Creates nothing that
    stays: the check writes and removes one temporary of this module's naming."""
    path = Path(path)
    if path.is_dir():
        raise DestinationError(f"'{path}' is a folder; give a file name (e.g. '{path / 'out.h5'}')")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise DestinationError(f"cannot write '{path}': '{existing}' is a file, not a folder")
    try:
        if existing != path.parent:           # folders to be created: prove one can be
            os.rmdir(tempfile.mkdtemp(dir=existing, prefix=f".{path.name}.{os.getpid()}.", suffix=".part"))
        else:
            fd, tmp = tempfile.mkstemp(dir=existing, prefix=f".{path.name}.{os.getpid()}.", suffix=".part")
            os.close(fd)
            os.remove(tmp)
    except OSError as exc:
        raise DestinationError(f"cannot write '{path}': {exc.strerror or exc} in '{existing}' "
                               f"(a read-only folder or file system?)") from None


def _remove_stale_temporaries(folder: Path) -> None:
    """Remove ``.<name>.<pid>.<random>.part`` files of ``folder`` that are stale (module docstring)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= _RUN_STARTED or _running(int(match["pid"])):
                continue
            os.remove(entry.path)
        except OSError:
            pass      # removed by someone else meanwhile, or not ours to remove


def _running(pid: int) -> bool:
    """Whether another process with id ``pid`` runs now (ours counts as not: a temporary with
    our id and an mtime before this run is from an earlier process that had the same id)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def default_file_mode() -> int:
    """``0o666 & ~umask``: the mode ``open(path, "w")`` gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _temporary_beside(path: Path) -> str:
    """A new empty file next to ``path``, with the default file mode; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".part")
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
