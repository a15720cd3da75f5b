"""A child process for the fuzz tests: reads a file with one of the project's readers, under a
memory limit, and reports in one line what happened. The parent (:class:`FuzzWorker`) kills it
when one file takes longer than its time limit, so a hang is a test failure, not a stuck suite.

Protocol: the parent writes ``READER PATH`` per line; the child answers ``OK``, ``REFUSED
<message>`` (the reader's own error type) or ``OTHER <type>: <message>`` (anything else,
including MemoryError when the reader asked for more than the limit).

Readers: ``weights`` (models.load and models.describe of a weights file), ``checkpoint``
(``checkpoint:torch-zip``: ``models.convert.convert.convert`` of the file, in that format, to
``PATH.h5`` for the mnist_cnn architecture), ``image`` (models.images.load_image).
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _weights(path):
    import models
    models.load(path)
    models.describe(path)


def _checkpoint(path, fmt):
    from models.convert.convert import convert
    convert(path, f"{path}.h5", "mnist_cnn", fmt, overwrite=True)


def _image(path):
    from models.images import load_image
    load_image(path, max_pixels=4_000_000)


def _own_errors():
    from models.convert.errors import ConversionError
    from models.hdf5_weights import WeightsValidationError
    from models.images import ImageFileError
    return {"weights": WeightsValidationError, "checkpoint": (ConversionError, WeightsValidationError),
            "image": ImageFileError}


def _one_line(text: str) -> str:
    """``text`` on one printable ASCII line (names from damaged files may hold any character,
    "\r" included, which would split the answer)."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return printable.encode("ascii", "backslashreplace").decode("ascii")[:400]


def main() -> None:
    readers = {"weights": _weights, "checkpoint": _checkpoint, "image": _image}
    own_errors = _own_errors()
    extra = int(sys.argv[1])
    if hasattr(resource, "RLIMIT_AS") and _vm_size():
        limit = _vm_size() + extra
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    print("READY", flush=True)
    for line in sys.stdin:
        reader, path = line.rstrip("\n").split(" ", 1)
        name, _, fmt = reader.partition(":")
        try:
            readers[name](path, fmt) if fmt else readers[name](path)
            print("OK", flush=True)
        except own_errors[name] as exc:
            print("REFUSED", _one_line(str(exc)), flush=True)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the test
            print("OTHER", _one_line(f"{type(exc).__name__}: {exc}"), flush=True)


class FuzzWorker:
    """The parent's handle: ``worker.read("weights", path)`` -> the child's answer line."""

    def __init__(self, memory_bytes: int = 1 << 30, timeout_s: float = 30.0):
        self.memory_bytes, self.timeout_s = memory_bytes, timeout_s
        self.proc = None

    def _start(self):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(self.memory_bytes)],
                                     cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, errors="backslashreplace", bufsize=1)
        assert self._answer(120) == "READY"

    def _answer(self, timeout):
        import selectors
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                self.close()
                return None
        return self.proc.stdout.readline().strip()

    def read(self, reader: str, path) -> str:
        """The answer for ``path``, or ``HANG`` when it took longer than the time limit
        (the child is then killed and the next call starts a new one)."""
        if self.proc is None:
            self._start()
        self.proc.stdin.write(f"{reader} {path}\n")
        self.proc.stdin.flush()
        answer = self._answer(self.timeout_s)
        if answer is None:
            return f"HANG (no answer within {self.timeout_s:.0f} s)"
        if not answer:
            code = self.proc.wait()
            self.proc = None
            return f"OTHER the reader process died (exit status {code})"
        return answer

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


if __name__ == "__main__":
    main()
