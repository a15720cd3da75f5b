"""Regularizers as penalty objectives on the image (``IMAGE``): priors that make the
ascended image look like an image. Each returns the (positive) penalty as an
:class:`~visualize.optvis.objectives.Objective`; subtract it with a weight::

    obj = objectives.class_logit(3) - 0.05 * regularizers.l2(center) - 0.5 * regularizers.total_variation()

Every penalty is a mean over the pixels of an image (its weight does not depend on the image
size), summed over the images of a batch (each image is regularized on its own).

* :func:`l2`: mean w (I - c)^2, Simonyan et al.'s (2014) L2 penalty (c: the dataset mean, the
  image the network sees as zeros; w: an optional (H, W) weight map, e.g. heavier at the
  border where a dataset's objects never are).
* :func:`alpha_norm`: mean |I - c|^alpha, Mahendran & Vedaldi's (2015) alpha-norm (alpha = 6
  keeps the range bounded without flattening the image).
* :func:`total_variation`: mean ((I_{i,j+1} - I_ij)^2 + (I_{i+1,j} - I_ij)^2 + eps)^(beta/2),
  Mahendran & Vedaldi's TV^beta; beta = 2 is the squared-difference TV, beta = 1 the
  isotropic TV of denoising (edges survive, noise does not).

Yosinski et al.'s (2015) four regularizers are steps on the pixels rather than terms of the
objective: see :mod:`visualize.optvis.projections`.
"""
from __future__ import annotations

import numpy as np

from minigrad import functional as F
from visualize.optvis.objectives import IMAGE, Objective

_TV_EPS = 1e-8


def _centred(image, center):
    if center is None:
        return image
    c = np.asarray(center, dtype=np.float64).reshape(-1, 1, 1)
    return image - image.backend.xp.asarray(c, dtype=image.dtype)


def l2(center=None, weights=None) -> Objective:
    """mean w (I - center)^2 (``center``: a number or one value per channel, None: 0;
    ``weights``: None (1 everywhere) or an (H, W) array)."""
    def fn(acts):
        d = _centred(acts[IMAGE], center)
        if weights is None:
            return (d * d).mean() * d.shape[0]
        w = d.backend.xp.asarray(np.asarray(weights, dtype=np.float64), dtype=d.dtype)
        if w.shape != tuple(d.shape[-2:]):
            raise ValueError(f"l2: weights of shape {w.shape} for images of {tuple(d.shape[-2:])}")
        return (d * d * w).mean() * d.shape[0]
    return Objective(fn, (IMAGE,), "l2")


def alpha_norm(alpha: float = 6.0, center=None) -> Objective:
    """mean |I - center|^alpha (Mahendran & Vedaldi 2015)."""
    if not alpha >= 1:
        raise ValueError(f"alpha_norm: alpha must be >= 1 (a norm), got {alpha}")

    def fn(acts):
        d = _centred(acts[IMAGE], center)
        return (F.abs(d) ** float(alpha)).mean() * d.shape[0]
    return Objective(fn, (IMAGE,), f"alpha_norm({alpha:g})")


def total_variation(beta: float = 2.0) -> Objective:
    """Mahendran & Vedaldi's TV^beta (see the module docstring)."""
    if not beta > 0:
        raise ValueError(f"total_variation: beta must be > 0, got {beta}")

    def fn(acts):
        x = acts[IMAGE]
        corner = x[:, :, :-1, :-1]
        dv = x[:, :, 1:, :-1] - corner
        dh = x[:, :, :-1, 1:] - corner
        squared = dv * dv + dh * dh
        if beta != 2:
            squared = (squared + _TV_EPS) ** (beta / 2)
        return squared.mean() * x.shape[0]
    return Objective(fn, (IMAGE,), f"tv(beta={beta:g})")
