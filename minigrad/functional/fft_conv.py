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
"""
from __future__ import annotations

from backends import get_array_module
from minigrad.function import Function
from minigrad.functional.im2col import pad_zeros, pair


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
        self.size, self.kernel, self.x_shape, self.has_bias = (hp, wp), (kh, kw), x.shape, bias is not None
        self.x_hat = xp.fft.rfft2(x_pad, s=(hp, wp))
        self.w_hat = xp.fft.rfft2(weight, s=(hp, wp))
        y_hat = xp.einsum("nchw,ochw->nohw", self.x_hat, self.w_hat.conj())
        y = xp.fft.irfft2(y_hat, s=(hp, wp))[:, :, :hp - kh + 1, :wp - kw + 1].astype(x.dtype, copy=False)
        y = xp.ascontiguousarray(y)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        (hp, wp), (kh, kw) = self.size, self.kernel
        g_hat = xp.fft.rfft2(gy, s=(hp, wp))
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx_pad = xp.fft.irfft2(xp.einsum("nohw,ochw->nchw", g_hat, self.w_hat), s=(hp, wp))
            (ph, pw), (h, w) = self.padding, self.x_shape[2:]
            gx = xp.ascontiguousarray(gx_pad[:, :, ph:ph + h, pw:pw + w]).astype(gy.dtype, copy=False)
        if self.needs_input_grad[1]:
            gw_full = xp.fft.irfft2(xp.einsum("nchw,nohw->ochw", self.x_hat, g_hat.conj()), s=(hp, wp))
            gw = xp.ascontiguousarray(gw_full[:, :, :kh, :kw]).astype(gy.dtype, copy=False)
        if self.has_bias and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gw, gb


def conv2d_fft(x, weight, bias=None, padding=0):
    """``conv2d(x, weight, bias, padding=padding)`` (stride 1) computed with FFTs; fast for large kernels."""
    padding = pair(padding, "padding", "conv2d_fft")
    if min(padding) < 0:
        raise ValueError(f"conv2d_fft: padding must be >= 0, got {padding}")
    return Conv2dFFT(padding)(x, weight, bias)
