"""Padding and nearest-neighbour upsampling of images (torch semantics)."""
from __future__ import annotations

import numpy as np

from backends import get_array_module
from minigrad.function import Function
from minigrad.functional.im2col import pair

PAD_MODES = ("constant", "reflect")


class Pad(Function):
    """Pad the last two axes by (left, right, top, bottom).

    * ``constant``: y = x surrounded by ``value``;  dL/dx = the centre of dL/dy.
    * ``reflect``: mirror at the border without repeating it (x = [a b c d], left 2 ->
      [c b a b c d]); each padded entry is a copy of an input entry, so dL/dx = the centre of
      dL/dy plus the padded strips of dL/dy folded back (reversed) onto the entries they copy.
    """

    name = "pad"

    def __init__(self, widths, mode, value):
        self.widths, self.mode, self.value = widths, mode, value

    def forward(self, x):
        xp = get_array_module(x)
        left, right, top, bottom = self.widths
        if x.ndim < 2:
            raise ValueError(f"pad: input x must have at least 2 dimensions (..., H, W), got shape {x.shape}")
        h, w = x.shape[-2:]
        if self.mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
            raise ValueError(f"pad: reflect padding {self.widths} must be smaller than the padded axes of "
                             f"input x {x.shape} (H={h}, W={w}); use less padding or mode='constant'")
        self.x_shape = x.shape
        if self.mode == "reflect":
            widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
            return xp.pad(x, widths, mode="reflect")
        y = xp.full(x.shape[:-2] + (h + top + bottom, w + left + right), self.value, dtype=x.dtype)
        y[..., top:top + h, left:left + w] = x
        return y

    def backward(self, gy):
        left, right, top, bottom = self.widths
        h, w = self.x_shape[-2:]
        if self.mode == "constant":
            return gy[..., top:top + h, left:left + w]
        g = _fold_reflected(gy, -1, left, right, w)
        return _fold_reflected(g, -2, top, bottom, h)


def _fold_reflected(g, axis, before, after, size):
    """The gradient of reflect-padding one axis: padded entry ``before - u`` (u = 1..before)
    copies input entry u, padded entry ``before + size - 1 + v`` copies input entry
    ``size - 1 - v``; add each strip back, reversed, onto the entries it copies."""
    g = g.swapaxes(axis, -1)
    out = g[..., before:before + size].copy()
    if before:
        out[..., 1:before + 1] += g[..., :before][..., ::-1]
    if after:
        out[..., size - 1 - after:size - 1] += g[..., before + size:][..., ::-1]
    return out.swapaxes(axis, -1)


class UpsampleNearest2d(Function):
    """y[n, c, h, w] = x[n, c, src_h(h), src_w(w)], nearest neighbour.

    With an integer scale factor s, src(h) = floor(h / s): each pixel becomes an s x s block,
    and dL/dx is the sum of dL/dy over each block. For an arbitrary ``size`` torch's rule is
    src(h) = min(floor(h * float32(In / Out)), In - 1) (in float32 arithmetic, which we repeat);
    then dL/dx = R_h^T g_y R_w with the one-hot matrices R[h, src(h)] = 1.
    """

    name = "upsample_nearest2d"

    def __init__(self, scale_factor, size):
        self.scale_factor, self.size = scale_factor, size

    def forward(self, x):
        xp = get_array_module(x)
        if x.ndim != 4:
            raise ValueError(f"upsample_nearest2d: input x must be 4-D (N, C, H, W), got shape {x.shape}")
        n, c, h, w = self.x_shape = x.shape
        if self.scale_factor is not None:
            self.factor = _integer_pair(self.scale_factor)
            (sh, sw) = self.factor
            return xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, sh, w, sw)).reshape(n, c, h * sh, w * sw)
        out_h, out_w = pair(self.size, "size", "upsample_nearest2d")
        if out_h < 1 or out_w < 1:
            raise ValueError(f"upsample_nearest2d: size {self.size} must be positive")
        self.factor = None
        self.src = (_nearest_sources(h, out_h), _nearest_sources(w, out_w))
        return x[:, :, xp.asarray(self.src[0])][:, :, :, xp.asarray(self.src[1])]

    def backward(self, gy):
        xp = get_array_module(gy)
        n, c, h, w = self.x_shape
        if self.factor is not None:
            (sh, sw) = self.factor
            return gy.reshape(n, c, h, sh, w, sw).sum(axis=(3, 5))
        r_h, r_w = (xp.asarray(np.eye(size, dtype=gy.dtype)[src]) for size, src in zip((h, w), self.src))
        return xp.matmul(xp.matmul(r_h.T, gy), r_w)


def _integer_pair(scale_factor):
    factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
    if len(factors) != 2 or any(float(f) != int(f) or int(f) < 1 for f in factors):
        raise ValueError(f"upsample_nearest2d: scale_factor must be a positive integer or a pair of them, "
                         f"got {scale_factor!r}; for other ratios pass size=(H, W)")
    return int(factors[0]), int(factors[1])


def _nearest_sources(n_in, n_out):
    """torch's nearest source index of each output position (see UpsampleNearest2d)."""
    if n_out == n_in:
        return np.arange(n_out)
    scale = np.float32(n_in) / np.float32(n_out)
    src = np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(src, n_in - 1)


def pad(x, pad=(0, 0, 0, 0), mode="constant", value=0.0):
    """Pad the last two axes: ``pad`` = (left, right, top, bottom) (or (left, right) for W only),
    ``mode`` "constant" (with ``value``) or "reflect" (mirror without repeating the border)."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad: unknown mode {mode!r}; choose one of {', '.join(PAD_MODES)}")
    widths = tuple(int(p) for p in pad)
    if len(widths) == 2:
        widths += (0, 0)
    if len(widths) != 4 or min(widths) < 0:
        raise ValueError(f"pad: pad must be (left, right, top, bottom) of non-negative ints, got {pad!r}")
    return Pad(widths, mode, value)(x)


def upsample_nearest2d(x, scale_factor=None, size=None):
    """Nearest-neighbour upsampling by an integer ``scale_factor`` or to ``size`` (H, W)."""
    if (scale_factor is None) == (size is None):
        raise ValueError("upsample_nearest2d: pass exactly one of scale_factor and size")
    return UpsampleNearest2d(scale_factor, size)(x)
