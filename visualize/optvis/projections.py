"""Projections: changes made to the pixels after each optimizer step, outside the gradient.

A projection is a callable ``projection(pixels, grad, step)`` that rewrites ``pixels`` (the
raw array (N, C, H, W) of a :class:`~visualize.optvis.param.Pixels` parameterization) in
place; ``grad`` is the step's gradient of the objective with respect to the pixels and
``step`` its index (0-based). All work with the backend's array module.

Yosinski, Clune, Nguyen, Fuchs & Lipson (2015), "Understanding Neural Networks Through Deep
Visualization", regularize class visualizations with four of them, each measured from the
image ``c`` the network sees as zeros (the dataset mean):

* :class:`Decay`: x <- c + (1 - theta) (x - c) (L2 decay);
* :class:`BlurEvery`: every k steps, x <- c + blur_sigma(x - c) (Gaussian blur);
* :class:`ClipSmallNorm`: pixels whose norm |x - c| over the channels is below the
  ``percentile``-th percentile are set to c;
* :class:`ClipSmallContribution`: pixels whose contribution |sum_ch (x - c) grad| (the
  first-order change of the objective if the pixel were reset to c) is below the percentile
  are set to c.

and the attacks and DeepDream need two more:

* :class:`ClipRange`: x <- clip(x, lo, hi), the valid range of a picture;
* :class:`ProjectLinf`: x <- clip(x, x_0 - eps, x_0 + eps), back into the L-infinity ball of
  the projected gradient descent attack (Madry et al. 2018).
"""
from __future__ import annotations

import numpy as np

from backends import get_array_module
from minigrad import no_grad
from minigrad.tensor import Tensor
from visualize.optvis.blur import gaussian_blur


def _center(pixels, center):
    return get_array_module(pixels).asarray(np.asarray(center, dtype=np.float64).reshape(-1, 1, 1), dtype=pixels.dtype)


def _check_percentile(name, percentile):
    if not 0 <= percentile <= 100:
        raise ValueError(f"{name}: percentile must be in [0, 100], got {percentile}")


class Decay:
    """x <- c + (1 - theta) (x - c)."""

    def __init__(self, theta: float, center=0.0):
        if not 0 <= theta <= 1:
            raise ValueError(f"Decay: theta must be in [0, 1], got {theta}")
        self.theta, self.center = float(theta), center

    def __call__(self, pixels, grad, step):
        c = _center(pixels, self.center)
        pixels -= self.theta * (pixels - c)


class BlurEvery:
    """Every ``every`` steps (at steps k, 2k, ...), x <- c + blur(x - c)."""

    def __init__(self, sigma: float, every: int, center=0.0):
        if sigma < 0 or every < 1:
            raise ValueError(f"BlurEvery: sigma must be >= 0 and every >= 1, got {sigma} and {every}")
        self.sigma, self.every, self.center = float(sigma), int(every), center

    def __call__(self, pixels, grad, step):
        if self.sigma == 0 or (step + 1) % self.every:
            return
        c = _center(pixels, self.center)
        with no_grad():
            blurred = gaussian_blur(Tensor(pixels - c), self.sigma).data
        pixels[...] = blurred + c


class ClipSmallNorm:
    """Pixels with |x - c| (over channels) under the ``percentile``-th percentile are set to c."""

    def __init__(self, percentile: float, center=0.0):
        _check_percentile("ClipSmallNorm", percentile)
        self.percentile, self.center = float(percentile), center

    def __call__(self, pixels, grad, step):
        if self.percentile == 0:
            return
        c = _center(pixels, self.center)
        norm = ((pixels - c) ** 2).sum(axis=1, keepdims=True) ** 0.5
        _reset_below(pixels, norm, self.percentile, c)


class ClipSmallContribution:
    """Pixels with |sum_ch (x - c) grad| under the ``percentile``-th percentile are set to c."""

    def __init__(self, percentile: float, center=0.0):
        _check_percentile("ClipSmallContribution", percentile)
        self.percentile, self.center = float(percentile), center

    def __call__(self, pixels, grad, step):
        if self.percentile == 0:
            return
        c = _center(pixels, self.center)
        contribution = abs(((pixels - c) * grad).sum(axis=1, keepdims=True))
        _reset_below(pixels, contribution, self.percentile, c)


def _reset_below(pixels, score, percentile, c):
    """Set pixels whose ``score`` (N, 1, H, W) is below its percentile (per image) to c."""
    xp = get_array_module(score)
    flat = score.reshape(score.shape[0], -1)
    threshold = xp.percentile(flat, percentile, axis=1).reshape(-1, 1, 1, 1)
    small = xp.broadcast_to(score < threshold, pixels.shape)
    pixels[...] = xp.where(small, xp.broadcast_to(c, pixels.shape), pixels)


class ClipRange:
    """x <- clip(x, lo, hi)."""

    def __init__(self, lo: float = 0.0, hi: float = 1.0):
        if not lo < hi:
            raise ValueError(f"ClipRange: lo ({lo}) must be below hi ({hi})")
        self.lo, self.hi = float(lo), float(hi)

    def __call__(self, pixels, grad, step):
        pixels.clip(self.lo, self.hi, out=pixels)


class ProjectLinf:
    """x <- clip(x, x0 - eps, x0 + eps): the nearest point of the L-infinity ball around x0."""

    def __init__(self, origin, eps: float):
        if not eps >= 0:
            raise ValueError(f"ProjectLinf: eps must be >= 0, got {eps}")
        self.origin, self.eps = origin, float(eps)

    def __call__(self, pixels, grad, step):
        x0 = get_array_module(pixels).asarray(self.origin, dtype=pixels.dtype)
        pixels[...] = pixels.clip(x0 - self.eps, x0 + self.eps)
