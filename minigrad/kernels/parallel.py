"""Run an elementwise or copy pass on several CPU cores, split over channels.

BLAS already uses every core for the matrix products, but a NumPy ufunc or copy runs on one
core. NumPy releases the GIL inside those loops, so Python threads can run them side by
side: :func:`parallel_over_channels` cuts every array along the channel axis (axis 1 of
(N, C, H, W)) into one chunk per thread and calls the same function on each chunk. The
function must only write into its own chunk of its output arguments (true of any
elementwise pass), so the chunks never overlap and the result is exactly the
single-threaded one, byte for byte.

Small arrays, CuPy arrays (the GPU is already parallel), ``THREADS = 1`` and fast paths
switched off (:func:`minigrad.fast_paths`) take the plain single call, which is also the
reference the tests compare with.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from minigrad import kernels

#: how many threads share a pass (the cores this process may use); 1 turns splitting off
THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
#: below this many elements a pass is not split (handing it to threads would cost more than it saves)
MIN_ELEMENTS = 1 << 16

_pool = None


def _executor():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="minigrad")
    return _pool


def parallel_over_channels(fn, *arrays, axis=1):
    """``fn(*arrays)``, computed as ``fn(*(a[:, chunk] for a in arrays))`` for one channel
    chunk per thread. All arrays have the same length along axis 1 (the channels of
    (N, C, H, W); arrays of fewer than 2 axes are not split); ``fn``'s writes must stay
    within the chunk it is given. ``axis=0`` cuts the batch instead (for few channels)."""
    channels = arrays[0].shape[axis] if arrays[0].ndim >= 2 else 1
    threads = min(THREADS, channels)
    if (threads < 2 or not kernels.enabled() or arrays[0].size < MIN_ELEMENTS
            or not all(isinstance(a, np.ndarray) for a in arrays)):
        fn(*arrays)
        return
    bounds = [channels * t // threads for t in range(threads + 1)]
    index = (slice(None),) * axis
    futures = [_executor().submit(fn, *(a[index + (slice(lo, hi),)] for a in arrays))
               for lo, hi in zip(bounds[:-1], bounds[1:])]
    for future in futures:
        future.result()
