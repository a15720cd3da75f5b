"""Fast pooling kernels: max-pool's running maximum and gradient routing on threads, and
adaptive average pooling by a reshape when the bins are disjoint blocks.

The references are in :mod:`minigrad.functional.pooling`; tests compare these with them on
drawn shapes, ties and NaN included (tests/ops/test_kernels.py). ``win`` below is that
module's window description (kernel, stride, output size, ``offsets()`` and ``view()``).
"""
from __future__ import annotations

import functools

import numpy as np

from backends import get_array_module
from minigrad.kernels.parallel import parallel_over_channels


def max_pool(win, x_pad):
    """(max, argmax) of every window of x_pad, as the reference computes them, by a running
    maximum over the kernel offsets (no copy of the windows), split over channels."""
    xp = get_array_module(x_pad)
    best = xp.empty(x_pad.shape[:2] + win.out, dtype=x_pad.dtype)
    argmax = xp.empty(best.shape, dtype=np.min_scalar_type(win.kernel[0] * win.kernel[1] - 1))
    parallel_over_channels(functools.partial(_running_max, win), x_pad, best, argmax)
    return best, argmax


def _running_max(win, x_pad, best, argmax):
    """best, argmax = the maximum of each window of x_pad and its offset k, written in place.

    A later offset wins only when strictly larger, so ties keep the first. The offsets k come
    in increasing order, so "set argmax to k where v > best" is argmax = max(argmax, k [v > best]):
    two arithmetic passes instead of a masked copy."""
    xp = get_array_module(x_pad)
    offsets = win.offsets()
    best[...] = win.view(x_pad, 0, 0)
    argmax[...] = 0
    take, update = xp.empty(best.shape, dtype=bool), xp.empty_like(argmax)
    for k, i, j in offsets[1:]:
        v = win.view(x_pad, i, j)
        xp.greater(v, best, out=take)
        xp.maximum(best, v, out=best)          # propagates NaN, as torch does
        xp.multiply(take, argmax.dtype.type(k), out=update)
        xp.maximum(argmax, update, out=argmax)
    if xp.isnan(best).any():                   # torch's argmax of a window with NaN: its last NaN
        for k, i, j in offsets:
            xp.copyto(argmax, k, where=xp.isnan(win.view(x_pad, i, j)), casting="unsafe")


def max_pool_backward(win, argmax, gy, x_shape):
    """The padded canvas of dL/dx: g_y routed to each window's argmax. Windows that do not
    overlap (stride >= kernel, as in VGG and most nets) *assign* each offset's slice, on
    threads; overlapping ones add g_y at the argmax positions in one scatter (``add.at``
    sums repeated positions)."""
    xp = get_array_module(gy)
    gx_pad = win.canvas(x_shape, gy.dtype, xp)
    if all(s >= k for s, k in zip(win.stride, win.kernel)):
        parallel_over_channels(functools.partial(_route_disjoint, win), gx_pad, argmax, gy)
    else:
        xp.add.at(gx_pad.reshape(-1), _canvas_positions(win, argmax, gx_pad.shape, xp).reshape(-1),
                  gy.reshape(-1))
    return gx_pad


def _route_disjoint(win, gx_pad, argmax, gy):
    """Every canvas pixel belongs to at most one window: offset k's slice is g_y where argmax == k."""
    xp = get_array_module(gy)
    for k, i, j in win.offsets():
        xp.multiply(gy, argmax == k, out=win.view(gx_pad, i, j))


def _canvas_positions(win, argmax, canvas_shape, xp):
    """Where each window's maximum lies in the flattened canvas (N, C, Hc, Wc):
    plane (n C + c) Hc Wc, plus row h s_h + i and column w s_w + j, for argmax k = i kw + j."""
    n, c, hc, wc = canvas_shape
    (sh, sw), (ho, wo) = win.stride, win.out
    offset = xp.asarray([i * wc + j for _, i, j in win.offsets()], dtype=np.int64)
    corner = (xp.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (hc * wc)
              + (xp.arange(ho, dtype=np.int64) * (sh * wc)).reshape(ho, 1) + xp.arange(wo, dtype=np.int64) * sw)
    corner += offset[argmax]
    return corner


def block_mean(x, blocks):
    """Adaptive average pooling when each bin is a disjoint block of (kh, kw) pixels: a
    reshape and a mean."""
    (kh, kw), (n, c, h, w) = blocks, x.shape
    return x.reshape(n, c, h // kh, kh, w // kw, kw).mean(axis=(3, 5))


def block_mean_backward(gy, blocks):
    """dL/dx of :func:`block_mean`: g_y / (kh kw) repeated over each block."""
    (kh, kw), (n, c, oh, ow) = blocks, gy.shape
    share = (gy * gy.dtype.type(1.0 / (kh * kw))).reshape(n, c, oh, 1, ow, 1)
    return get_array_module(gy).broadcast_to(share, (n, c, oh, kh, ow, kw)).reshape(n, c, oh * kh, ow * kw)
