"""Convolution with large kernels through the FFT.

``conv2d_fft(x, w, b, padding)`` computes exactly what ``conv2d(x, w, b, padding=padding)``
computes (stride 1, no dilation, one group: torch's cross-correlation), but its cost does not grow
with the kernel size: im2col needs C*kh*kw*Ho*Wo numbers, which for a 55 x 55 kernel on a
256 x 256 image is 2.4 GB, while the FFT needs a few spectra of the padded image's size.

With x_p the zero-padded input of size (Hp, Wp), and Ho = Hp - kh + 1, Wo = Wp - kw + 1::

    y[n, o, h, w] = sum_{c, i, j} x_p[n, c, h + i, w + j] w[o, c, i, j]

is a *circular* cross-correlation of period (Hp, Wp) restricted to h < Ho, w < Wo, because no
index h + i then wraps around. By the correlation theorem (hat = 2-D real FFT of size (Hp, Wp),
the kernel zero-padded to that size, * = complex conjugate)::

    y_hat[n, o]  = sum_c  x_hat[n, c] * conj(w_hat[o, c])
    gx_hat[n, c] = sum_o  g_hat[n, o] * w_hat[o, c]          (g zero-padded from (Ho, Wo))
    gw_hat[o, c] = sum_n  x_hat[n, c] * conj(g_hat[n, o])    then cropped to (kh, kw)

The backward formulas are exact for the same reason: every product they keep stays inside one
period. Works for NumPy and CuPy arrays; float32 stays float32 (complex64 spectra).

This module is the reference: transforms of exactly (Hp, Wp) with ``numpy.fft``. With fast
paths on, :mod:`minigrad.kernels.fft` transforms at the next 5-smooth period on every core.
"""
from __future__ import annotations

from backends import get_array_module
from minigrad.function import Function
from minigrad.functional.im2col import pad_zeros, pair
from minigrad.kernels import fft as fast_fft


class _Transforms:
    """rfft2 / irfft2 at one period: the reference's (numpy.fft at the padded size itself) or,
    with fast paths on, :mod:`minigrad.kernels.fft`'s (a 5-smooth period, all cores)."""

    def __init__(self, x, padded_size):
        self.fast = fast_fft.applies(x)
        self.size = fast_fft.fft_size(padded_size) if self.fast else tuple(padded_size)
        self.xp = get_array_module(x)

    def rfft2(self, a):
        return fast_fft.rfft2(a, self.size) if self.fast else self.xp.fft.rfft2(a, s=self.size)

    def irfft2(self, a):
        return fast_fft.irfft2(a, self.size) if self.fast else self.xp.fft.irfft2(a, s=self.size)

    def conj_rfft2_kernel(self, w):
        """conj(rfft2) of a kernel, zero-padded to the period."""
        return fast_fft.conj_rfft2_kernel(w, self.size) if self.fast else self.rfft2(w).conj()

    def irfft2_kernel(self, a, kernel):
        """irfft2, cropped to the kernel's (kh, kw)."""
        return fast_fft.irfft2_kernel(a, self.size, kernel) if self.fast else self.irfft2(a)[..., :kernel[0], :kernel[1]]


class Conv2dFFT(Function):
    """Stride-1 convolution (cross-correlation) with zero padding, computed with real FFTs."""

    def __init__(self, padding):
        self.padding = padding

    def forward(self, x, weight, bias):
        if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
            raise ValueError(f"conv2d_fft: input of shape {x.shape} does not fit weight of shape "
                             f"{weight.shape}; expected input (N, C, H, W) and weight (O, C, kh, kw) "
                             f"with the same C")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"conv2d_fft: bias has shape {bias.shape}, expected ({weight.shape[0]},)")
        xp = get_array_module(x)
        x_pad = pad_zeros(x, self.padding)
        hp, wp = x_pad.shape[2:]
        kh, kw = weight.shape[2:]
        if kh > hp or kw > wp:
            raise ValueError(f"conv2d_fft: kernel {(kh, kw)} is larger than the padded input {(hp, wp)}; "
                             f"use a larger image or more padding")
        self.fft = _Transforms(x, (hp, wp))
        self.kernel, self.x_shape, self.has_bias = (kh, kw), x.shape, bias is not None
        self.x_hat = self.fft.rfft2(x_pad)
        self.w_hat_conj = self.fft.conj_rfft2_kernel(weight)
        y_hat = xp.einsum("nchw,ochw->nohw", self.x_hat, self.w_hat_conj)
        y = self.fft.irfft2(y_hat)[:, :, :hp - kh + 1, :wp - kw + 1].astype(x.dtype, copy=False)
        y = xp.ascontiguousarray(y)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        kh, kw = self.kernel
        g_hat = self.fft.rfft2(gy)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx_pad = self.fft.irfft2(xp.einsum("nohw,ochw->nchw", g_hat, self.w_hat_conj.conj()))
            (ph, pw), (h, w) = self.padding, self.x_shape[2:]
            gx = xp.ascontiguousarray(gx_pad[:, :, ph:ph + h, pw:pw + w]).astype(gy.dtype, copy=False)
        if self.needs_input_grad[1]:
            gw = self.fft.irfft2_kernel(xp.einsum("nchw,nohw->ochw", self.x_hat, g_hat.conj()), (kh, kw))
            gw = xp.ascontiguousarray(gw).astype(gy.dtype, copy=False)
        if self.has_bias and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gw, gb


def conv2d_fft(x, weight, bias=None, padding=0):
    """``conv2d(x, weight, bias, padding=padding)`` (stride 1) computed with FFTs; fast for large kernels."""
    padding = pair(padding, "padding", "conv2d_fft")
    if min(padding) < 0:
        raise ValueError(f"conv2d_fft: padding must be >= 0, got {padding}")
    return Conv2dFFT(padding)(x, weight, bias)
