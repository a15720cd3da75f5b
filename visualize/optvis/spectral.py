"""The decorrelated image space of Olah, Mordvintsev & Schubert (2017), "Feature
Visualization" (Distill): an image is described by its 2-D Fourier coefficients, scaled so
that every frequency has the same energy in natural images, and its colours by coordinates in
a decorrelated colour basis.

* :class:`InverseRFFT2`, the differentiable real inverse FFT. The spectrum X (..., H, W//2+1)
  is kept as a real array (..., H, W//2+1, 2) of real and imaginary parts, and
  ``y = irfft2(X, s=(H, W))``. The map is real-linear; its adjoint is

      dL/dX = c * rfft2(dL/dy) / (H W),   c = 1 in column 0 (and column W/2 when W is even),
                                           c = 2 elsewhere

  (those columns stand for two conjugate entries of the full spectrum; numpy's irfft reads
  only the real part of the self-conjugate ones).
* :func:`frequency_scale`: 1 / max(f, 1/max(H, W))^decay_power * sqrt(H W), with f the
  spatial frequency in cycles per pixel: natural images have power ~ 1/f^2, so scaling a
  white spectrum by 1/f gives an image with natural statistics.
* :data:`COLOR_CORRELATION`: the square root of the ImageNet colour covariance, from an SVD
  (Lucid's ``color_correlation_svd_sqrt``), normalized by its largest column norm.
"""
from __future__ import annotations

import numpy as np

from backends import get_array_module
from minigrad.function import Function

_SVD_SQRT = np.array([[0.26, 0.09, 0.02],
                      [0.27, 0.00, -0.05],
                      [0.27, -0.09, 0.03]])
COLOR_CORRELATION = _SVD_SQRT / np.max(np.linalg.norm(_SVD_SQRT, axis=0))


class InverseRFFT2(Function):
    """y = irfft2(X) over the last two axes, X given as real and imaginary parts (..., 2)."""

    name = "irfft2"

    def __init__(self, size):
        self.size = tuple(size)

    def forward(self, spectrum):
        xp = get_array_module(spectrum)
        h, w = self.size
        if spectrum.shape[-3:] != (h, w // 2 + 1, 2):
            raise ValueError(f"irfft2: a {h}x{w} image needs a spectrum (..., {h}, {w // 2 + 1}, 2), "
                             f"got {spectrum.shape}")
        self.dtype = spectrum.dtype
        y = xp.fft.irfft2(spectrum[..., 0] + 1j * spectrum[..., 1], s=self.size)
        return y.astype(spectrum.dtype, copy=False)

    def backward(self, gy):
        xp = get_array_module(gy)
        h, w = self.size
        g = xp.fft.rfft2(gy) / (h * w)
        c = xp.full(w // 2 + 1, 2.0)
        c[0] = 1.0
        if w % 2 == 0:
            c[-1] = 1.0
        g = g * c
        return xp.stack([g.real, g.imag], axis=-1).astype(self.dtype, copy=False)


def irfft2(spectrum, size):
    """The real (..., H, W) image of the spectrum (..., H, W//2+1, 2); see the module docstring."""
    return InverseRFFT2(size)(spectrum)


def rfft2(image) -> np.ndarray:
    """The spectrum (..., H, W//2+1, 2) of a real array (..., H, W): the inverse of
    :func:`irfft2` on real images (raw arrays, no graph)."""
    xp = get_array_module(image)
    s = xp.fft.rfft2(image)
    return xp.stack([s.real, s.imag], axis=-1)


def frequency_scale(size, decay_power: float = 1.0) -> np.ndarray:
    """Per-frequency scale (H, W//2+1) of the spectrum (see the module docstring)."""
    h, w = size
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fy ** 2 + fx ** 2)
    return np.sqrt(h * w) / np.maximum(f, 1.0 / max(h, w)) ** decay_power
