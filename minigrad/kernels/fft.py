"""Real 2-D FFTs for :func:`minigrad.functional.conv2d_fft`, faster than ``numpy.fft``.

The reference (:mod:`minigrad.functional.fft_conv`) transforms at exactly the padded input's
size with ``numpy.fft``, which runs on one core and is slow at lengths with a large prime
factor (a 64-pixel crop padded for a 55x55 kernel is 118 = 2 x 59 long). The correlation
theorem holds at any period of at least that size (no product kept by the convolution
wraps around), so this kernel

* rounds every FFT length up to the next 5-smooth one (:func:`scipy.fft.next_fast_len`),
* computes the transforms with :mod:`scipy.fft` on every core this process may use, and
* transforms a kernel (kh x kw inside a period of Hp x Wp) by two small matrix products
  (:func:`conj_rfft2_kernel`) and the kernel's gradient one axis at a time, skipping the rows
  that are thrown away (:func:`irfft2_kernel`).

It also takes over :func:`minigrad.functional.conv2d` for large kernels
(:func:`replaces_conv`): a direct convolution costs kh kw products per output, so a 9x9
kernel over a 512 x 512 image is 81 passes over the image (or an im2col matrix 81 times its
size), while the FFT's cost does not depend on the kernel's size.

The results differ from the reference by FFT rounding only (tests/ops/test_kernels.py).
CuPy arrays and fast paths switched off (:func:`minigrad.fast_paths`) keep the reference.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from minigrad import kernels
from minigrad.kernels.parallel import THREADS


def applies(x) -> bool:
    """Whether the fast transforms take x: a NumPy array, fast paths on."""
    return kernels.enabled() and isinstance(x, np.ndarray)


#: conv2d runs through the FFT from this many kernel taps (kh kw) on: 7x7 and larger
MIN_TAPS = 49


def replaces_conv(x, weight, geometry) -> bool:
    """Whether ``conv2d(x, weight)`` (arrays; ``geometry`` its stride, padding, dilation and
    groups) runs as ``conv2d_fft``: fast paths on, NumPy, stride 1, no dilation, one group,
    a kernel of at least :data:`MIN_TAPS` taps, and arguments conv2d accepts (anything else
    stays with conv2d, whose checks explain what is wrong)."""
    return (applies(x) and x.ndim == 4 and weight.ndim == 4 and x.dtype == weight.dtype
            and x.shape[1] == weight.shape[1] and weight.shape[2] * weight.shape[3] >= MIN_TAPS
            and geometry.stride == (1, 1) and geometry.dilation == (1, 1) and geometry.groups == 1
            and all(k <= n + 2 * p for k, n, p in zip(weight.shape[2:], x.shape[2:], geometry.padding)))


def fft_size(size):
    """The FFT period for a padded input of ``size`` (Hp, Wp): each side rounded up to a
    5-smooth length."""
    return tuple(scipy.fft.next_fast_len(int(s), real=True) for s in size)


def rfft2(x, size):
    """The real 2-D FFT over the last two axes at period ``size``, on all cores."""
    return scipy.fft.rfft2(x, s=size, workers=THREADS)


def irfft2(y, size):
    """The inverse of :func:`rfft2` (real output of shape ``size`` in the last two axes)."""
    return scipy.fft.irfft2(y, s=size, workers=THREADS)


def conj_rfft2_kernel(w, size):
    """conj(:func:`rfft2` (w)) of a small real array w (..., kh, kw) (a kernel) zero-padded to
    ``size`` = (P, Q), as two matrix products with the DFT matrices of the kernel's extent:

        conj(w_hat) = conj(E_P) w conj(E_Q)^T,   E_P[k, i] = exp(-2 pi i k i / P), i < kh
                                                 E_Q[k, j] = exp(-2 pi i k j / Q), k <= Q/2, j < kw

    (kh P (Q/2 + 1) multiply-adds per (o, c) pair instead of FFTs over all P rows of zeros)."""
    (kh, kw), (p, q) = w.shape[-2:], size
    complex_type = np.result_type(w.dtype, np.complex64)
    rows = np.exp(2j * np.pi * np.outer(np.arange(p), np.arange(kh)) / p).astype(complex_type)
    cols = np.exp(2j * np.pi * np.outer(np.arange(q // 2 + 1), np.arange(kw)) / q).astype(complex_type)
    return rows @ (w.astype(complex_type) @ cols.T)


def irfft2_kernel(a, size, kernel):
    """:func:`irfft2` of ``a`` cropped to its first ``kernel`` = (kh, kw) rows and columns:
    the inverse along the columns, then along the kh rows that are kept only."""
    rows = scipy.fft.ifft(a, n=size[0], axis=-2, workers=THREADS)[..., :kernel[0], :]
    return scipy.fft.irfft(rows, n=size[1], axis=-1, workers=THREADS)[..., :kernel[1]]
