"""Keep freed memory for the next array instead of handing it back to the system.

A network's forward and backward allocate a fresh array for almost every intermediate
result, many of them megabytes large, and free them soon after. With glibc's default
settings such arrays are mapped from the system when allocated and unmapped when freed,
so every new one starts as untouched pages that the kernel must fault in and zero, one
page at a time, the first time they are written: a pass over a fresh 16 MB array does
4,096 page faults before any arithmetic. Inside a network this made the same operation
markedly slower than when timed alone (benchmarks/results has the measurements).

:func:`keep_freed_memory` asks glibc (``mallopt``) to serve arrays of up to
:data:`MMAP_THRESHOLD` bytes from its heap and not to return freed heap memory to the
system until :data:`TRIM_THRESHOLD` bytes are free, so a freed intermediate is reused,
already mapped, by the next one of its size. The process keeps up to its peak memory
mapped after the work is done (the peak itself does not grow). It is called once, when
minigrad is imported with fast paths on (``MINIGRAD_FAST_PATHS`` unset or 1), and does
nothing where the C library is not glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: arrays up to this size come from the heap (glibc's largest allowed value on 64-bit systems)
MMAP_THRESHOLD = 32 * 2**20
#: freed heap memory is kept until this much is free (mallopt takes an int)
TRIM_THRESHOLD = 2**31 - 1


def keep_freed_memory() -> bool:
    """Set glibc's thresholds as the module docstring says; True if glibc accepted both."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
