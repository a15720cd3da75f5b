"""The two statistics of neural style transfer and feature inversion: the Gram matrix of
feature maps (Gatys, Ecker & Bethge 2015) and the total variation regularizer (Mahendran &
Vedaldi 2015)."""
from __future__ import annotations

from backends import get_array_module
from minigrad.function import Function


class GramMatrix(Function):
    """G = F F^T / (H W) per sample, with F the features (N, C, H, W) viewed as (N, C, H W).

    dL/dF = (dL/dG + dL/dG^T) F / (H W).
    """

    def forward(self, x):
        n, c, h, w = x.shape
        self.in_shape, self.count = x.shape, x.dtype.type(h * w)
        self.f = x.reshape(n, c, h * w)
        return (self.f @ self.f.swapaxes(1, 2)) / self.count

    def backward(self, gy):
        gf = ((gy + gy.swapaxes(1, 2)) @ self.f) / self.count
        return gf.reshape(self.in_shape)


class TotalVariation(Function):
    """TV(x) = sum (x[i+1, j] - x[i, j])^2 + sum (x[i, j+1] - x[i, j])^2 over the last two
    (H, W) axes and all leading axes.

    With the vertical differences dv and the horizontal dh, each difference contributes
    2 d to its later pixel and -2 d to its earlier one.
    """

    def forward(self, x):
        self.dv = x[..., 1:, :] - x[..., :-1, :]
        self.dh = x[..., :, 1:] - x[..., :, :-1]
        self.shape = x.shape
        return (self.dv * self.dv).sum() + (self.dh * self.dh).sum()

    def backward(self, gy):
        xp = get_array_module(gy)
        gv, gh = 2 * gy * self.dv, 2 * gy * self.dh
        gx = xp.zeros(self.shape, dtype=gv.dtype)
        gx[..., 1:, :] += gv
        gx[..., :-1, :] -= gv
        gx[..., :, 1:] += gh
        gx[..., :, :-1] -= gh
        return gx


def gram_matrix(features):
    """Gram matrices (N, C, C) of feature maps (N, C, H, W), normalized by H W."""
    if features.ndim != 4:
        raise ValueError(f"gram_matrix: features must have shape (N, C, H, W), got {tuple(features.shape)}; "
                         "add a batch axis with x.reshape(1, *x.shape) for a single image")
    return GramMatrix()(features)


def total_variation(x):
    """Sum of squared differences between vertically and horizontally neighbouring pixels of
    x (..., H, W); a scalar."""
    if x.ndim < 2:
        raise ValueError(f"total_variation: x must have at least (H, W) axes, got shape {tuple(x.shape)}")
    return TotalVariation()(x)
