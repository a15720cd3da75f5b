"""Fast kernels: faster ways to compute what :mod:`minigrad.functional` computes plainly.

Every op in :mod:`minigrad.functional` is written first as its reference, the textbook
forward and backward (im2col and a matrix product for a convolution, ``maximum(x, 0)`` for
ReLU, gathered windows or a loop over the window offsets for pooling). The modules here compute the same
results another way, where that is measurably faster on the CPU:

* :mod:`~minigrad.kernels.parallel`  elementwise and copy passes split over channels on threads
* :mod:`~minigrad.kernels.gemm`      ``out += a @ b`` straight into a view, through BLAS's GEMM
* :mod:`~minigrad.kernels.im2col`    im2col and col2im with their copies on threads
* :mod:`~minigrad.kernels.shifted_conv`  stride-1 convolution as kh*kw products over shifted views
* :mod:`~minigrad.kernels.winograd`  Winograd's F(2x2, 3x3) for 3x3 stride-1 convolutions
* :mod:`~minigrad.kernels.fft`       FFTs at 5-smooth lengths on all cores for ``conv2d_fft``,
  which also takes over 7x7 and larger stride-1 convolutions
* :mod:`~minigrad.kernels.pooling`   max-pool's running maximum on threads and its routing backward,
  adaptive average pooling by a reshape
* :mod:`~minigrad.kernels.allocator` freed arrays kept mapped for the next one (glibc's ``mallopt``)

(ReLU's two elementwise passes and conv2d's bias are split over threads by
:mod:`~minigrad.kernels.parallel` directly.)

Each is tested against its reference on drawn shapes (tests/ops/test_kernels.py,
test_parallel.py, test_pooling.py).

**The switch.** :func:`fast_paths` (``with minigrad.fast_paths(False): ...``) or the
environment variable ``MINIGRAD_FAST_PATHS=0`` turns every kernel here and every thread that
minigrad starts off, so that the references alone run (BLAS keeps its own threads). The test
suite runs once in each mode. The allocator setting is made once, at import, and only when
the environment variable leaves fast paths on.
"""
from __future__ import annotations

import contextlib
import os

_ENVIRONMENT = "MINIGRAD_FAST_PATHS"
_VALUES = {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}


def _from_environment() -> bool:
    value = os.environ.get(_ENVIRONMENT, "1").strip().lower()
    if value not in _VALUES:
        raise ValueError(f"{_ENVIRONMENT}={os.environ[_ENVIRONMENT]!r} is not understood; "
                         f"set it to 0 (references only) or 1 (fast kernels, the default)")
    return _VALUES[value]


_enabled = _from_environment()
if _enabled:
    from minigrad.kernels.allocator import keep_freed_memory
    keep_freed_memory()


def enabled() -> bool:
    """Whether the fast kernels (and minigrad's threads) may run."""
    return _enabled


@contextlib.contextmanager
def fast_paths(on: bool):
    """Turn the fast kernels and minigrad's threads on or off inside the block:
    ``with minigrad.fast_paths(False): y = net(x)`` runs every op's reference."""
    global _enabled
    if not isinstance(on, bool):
        raise TypeError(f"fast_paths: pass True or False, got {on!r}")
    previous, _enabled = _enabled, on
    try:
        yield
    finally:
        _enabled = previous
