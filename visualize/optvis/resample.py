"""Bilinear resampling of images through an affine map: the one differentiable op behind
resizing (octaves, the image pyramid) and the scale and rotate transforms.

Each output pixel (i, j) reads the input at the point

    (u, v) = A [i, j, 1]^T          (A a 2 x 3 matrix; pixel centres at integer coordinates)

by bilinear interpolation between its four neighbours:

    y[i, j] = sum over the corners (a, b) of x[a, b] (1 - |u - a|) (1 - |v - b|)

Points outside the image read the nearest border pixel (``padding="border"``) or zero
(``"zeros"``). For a fixed map this is linear in x, y = S x with a sparse S (four entries a
row), so dL/dx = S^T dL/dy: the backward pass multiplies by the transposed matrix.
"""
from __future__ import annotations

import numpy as np

from backends import get_array_module
from minigrad.function import Function

PADDINGS = ("border", "zeros")


def sampling_matrix(matrix, in_size, out_size, padding="border"):
    """The sparse (H_in W_in, H_out W_out) matrix S^T of the map, as (rows, cols, weights):
    output pixel ``col`` takes ``weight`` times input pixel ``row``."""
    (h_in, w_in), (h_out, w_out) = in_size, out_size
    a = np.asarray(matrix, dtype=np.float64)
    i, j = np.meshgrid(np.arange(h_out, dtype=np.float64), np.arange(w_out, dtype=np.float64), indexing="ij")
    u = a[0, 0] * i + a[0, 1] * j + a[0, 2]
    v = a[1, 0] * i + a[1, 1] * j + a[1, 2]
    if padding == "border":
        u, v = np.clip(u, 0, h_in - 1), np.clip(v, 0, w_in - 1)
    u0, v0 = np.floor(u), np.floor(v)
    fu, fv = u - u0, v - v0
    cols = np.arange(h_out * w_out)
    rows, out_cols, weights = [], [], []
    for du, wu in ((0, 1 - fu), (1, fu)):
        for dv, wv in ((0, 1 - fv), (1, fv)):
            a_, b_ = (u0 + du).ravel().astype(np.int64), (v0 + dv).ravel().astype(np.int64)
            w = (wu * wv).ravel()
            inside = (a_ >= 0) & (a_ < h_in) & (b_ >= 0) & (b_ < w_in) & (w > 0)
            rows.append(a_[inside] * w_in + b_[inside])
            out_cols.append(cols[inside])
            weights.append(w[inside])
    return np.concatenate(rows), np.concatenate(out_cols), np.concatenate(weights)


class AffineResample(Function):
    """y = S x over the last two axes (see the module docstring); dL/dx = S^T dL/dy."""

    name = "affine_resample"

    def __init__(self, matrix, out_size, padding):
        self.matrix, self.out_size, self.padding = matrix, tuple(int(s) for s in out_size), padding

    def forward(self, x):
        xp = get_array_module(x)
        self.in_shape = x.shape
        rows, cols, weights = sampling_matrix(self.matrix, x.shape[-2:], self.out_size, self.padding)
        self.s_t = _sparse(xp, weights.astype(x.dtype), rows, cols,
                           (x.shape[-2] * x.shape[-1], self.out_size[0] * self.out_size[1]))
        flat = x.reshape(-1, x.shape[-2] * x.shape[-1])
        y = (self.s_t.T @ flat.T).T
        return xp.ascontiguousarray(y).reshape(x.shape[:-2] + self.out_size)

    def backward(self, gy):
        xp = get_array_module(gy)
        flat = gy.reshape(-1, self.out_size[0] * self.out_size[1])
        gx = (self.s_t @ flat.T).T
        return xp.ascontiguousarray(gx).reshape(self.in_shape)


def _sparse(xp, data, rows, cols, shape):
    if xp.__name__ == "numpy":
        from scipy.sparse import csr_matrix
        return csr_matrix((data, (rows, cols)), shape=shape)
    from cupyx.scipy.sparse import coo_matrix
    return coo_matrix((xp.asarray(data), (xp.asarray(rows), xp.asarray(cols))), shape=shape).tocsr()


def affine_resample(x, matrix, out_size=None, padding="border"):
    """Sample ``x`` (..., H, W) at ``matrix`` (2 x 3, output pixel -> input point) into
    ``out_size`` (default: the input size), bilinearly; see the module docstring."""
    if padding not in PADDINGS:
        raise ValueError(f"affine_resample: padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (2, 3) or not np.all(np.isfinite(m)):
        raise ValueError(f"affine_resample: matrix must be a finite 2 x 3 array, got shape {m.shape}")
    if x.ndim < 2:
        raise ValueError(f"affine_resample: x must have (..., H, W) axes, got shape {tuple(x.shape)}")
    out_size = tuple(x.shape[-2:]) if out_size is None else tuple(int(s) for s in out_size)
    if len(out_size) != 2 or min(out_size) < 1:
        raise ValueError(f"affine_resample: out_size must be two positive ints, got {out_size}")
    return AffineResample(m, out_size, padding)(x)


def resize_matrix(in_size, out_size):
    """The map of a resize from ``in_size`` to ``out_size`` with pixel centres aligned
    (u = (i + 1/2) H_in / H_out - 1/2, torch's ``align_corners=False``)."""
    (h_in, w_in), (h_out, w_out) = in_size, out_size
    sy, sx = h_in / h_out, w_in / w_out
    return np.array([[sy, 0.0, 0.5 * sy - 0.5], [0.0, sx, 0.5 * sx - 0.5]])


def resize(x, size):
    """``x`` (..., H, W) resized bilinearly to ``size`` (h, w)."""
    return affine_resample(x, resize_matrix(x.shape[-2:], size), size)


def centred_matrix(size, scale=1.0, degrees=0.0):
    """The map that scales by ``scale`` and rotates by ``degrees`` about the centre of an
    image of ``size``, keeping its size: input point = c + R(-degrees) (output - c) / scale."""
    h, w = size
    c = np.array([(h - 1) / 2, (w - 1) / 2])
    t = np.deg2rad(degrees)
    inverse = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) / scale
    return np.concatenate([inverse, (c - inverse @ c)[:, None]], axis=1)
