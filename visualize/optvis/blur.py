"""Gaussian blur of images, differentiable: a separable depthwise convolution.

    y = x * g_sigma,     g_sigma(t) = exp(-t^2 / (2 sigma^2)) / Z,  t = -r..r,  r = ceil(3 sigma)

applied along H, then along W, to each channel on its own (``groups = C``), with reflected
borders so that the image keeps its size and its mean. Yosinski et al. (2015) blur the image
every few steps to suppress the high frequencies that gradient ascent produces.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad import functional as F


def gaussian_kernel(sigma: float) -> np.ndarray:
    """The normalized 1-D Gaussian of standard deviation ``sigma`` on -r..r, r = ceil(3 sigma)."""
    if not sigma > 0:
        raise ValueError(f"gaussian_kernel: sigma must be > 0, got {sigma}")
    r = max(1, math.ceil(3 * sigma))
    t = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-t ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def gaussian_blur(x, sigma: float):
    """``x`` (N, C, H, W) blurred by a Gaussian of ``sigma`` pixels (0: unchanged)."""
    if sigma < 0:
        raise ValueError(f"gaussian_blur: sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return x
    if x.ndim != 4:
        raise ValueError(f"gaussian_blur: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    g = gaussian_kernel(sigma)
    r = len(g) // 2
    c, h, w = x.shape[1:]
    if r >= min(h, w):   # reflect padding needs r < H, W: shrink the support on tiny images
        g = g[r - (min(h, w) - 1):r + min(h, w)]
        g, r = g / g.sum(), min(h, w) - 1
    xp = x.backend.xp
    kernel = xp.asarray(g, dtype=x.dtype)
    vertical = xp.ascontiguousarray(xp.broadcast_to(kernel[None, None, :, None], (c, 1, len(g), 1)))
    horizontal = xp.ascontiguousarray(xp.broadcast_to(kernel[None, None, None, :], (c, 1, 1, len(g))))
    y = F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), vertical, groups=c)
    return F.conv2d(F.pad(y, (r, r, 0, 0), mode="reflect"), horizontal, groups=c)
