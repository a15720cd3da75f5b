"""Stride-1 convolution without im2col: kh*kw matrix products over shifted views.

:mod:`minigrad.functional.conv` computes a convolution's three products (y, dL/dx, dL/dW)
from the im2col matrix. For a stride-1, ungrouped convolution of large planes this module
skips that copy: each kernel offset is one matrix product over a *shifted view* of the
flattened padded input, accumulated into the output by GEMM itself
(:func:`correlate_shifted`, :mod:`minigrad.kernels.gemm`). Tests compare all three products
with the reference on drawn shapes (tests/ops/test_kernels.py).
"""
from __future__ import annotations

import functools

from backends import get_array_module
from minigrad.kernels.gemm import gemm
from minigrad.kernels.parallel import parallel_over_channels

#: the shifted-view path pays off only when each of its kh*kw products is big enough: at least
#: this many input channels and this many pixels over the batch (N H W)
MIN_CHANNELS = 16
MIN_PIXELS = 48 * 48


def shifted_applies(x, geometry, min_pixels=None):
    """Whether the shifted-view kernels take input x (N, C, H, W): stride 1, no groups, and
    products (each spans all N planes) and channel counts large enough that kh*kw separate
    products beat one big one. NumPy only: on CuPy the shifted views are not contiguous, so
    every product would first copy its operand. ``min_pixels``: the smallest N H W (default
    ``MIN_PIXELS``)."""
    min_pixels = MIN_PIXELS if min_pixels is None else min_pixels
    return (get_array_module(x).__name__ == "numpy"
            and geometry.stride == (1, 1) and geometry.groups == 1
            and x.shape[1] >= MIN_CHANNELS and x.shape[0] * x.shape[2] * x.shape[3] >= min_pixels)


def adjoint_shifted_applies(gy, weight_shape, geometry, x_shape):
    """Whether the adjoint takes the shifted view: as :func:`shifted_applies` for gy, at any
    plane size (col2im costs more than the thinner products) but not for few input channels
    (each of the kh*kw products, with x's channels as rows, would reread all of gy), and only
    when the padding is at most the kernel's reach (the adjoint's own padding is d (k - 1) - p)."""
    kh, kw = weight_shape[2:]
    (ph, pw), (dh, dw) = geometry.padding, geometry.dilation
    return (shifted_applies(gy, geometry, min_pixels=0) and x_shape[1] >= MIN_CHANNELS
            and ph <= dh * (kh - 1) and pw <= dw * (kw - 1))


def shifted_taps(weight):
    """The weight (O, C, kh, kw) as kh*kw contiguous (O, C) matrices: shape (kh, kw, O, C)."""
    return get_array_module(weight).ascontiguousarray(weight.transpose(2, 3, 0, 1))


def correlate_adjoint_shifted(gy, taps, padding, dilation):
    """The stride-1 adjoint: a correlation of gy, padded by d (k - 1) - p, with the kernel
    flipped in space and its in/out channels swapped (views of the same taps)."""
    kh, kw = taps.shape[:2]
    (ph, pw), (dh, dw) = padding, dilation
    adjoint_taps = taps[::-1, ::-1].transpose(0, 1, 3, 2)
    return correlate_shifted(gy, adjoint_taps, (dh * (kh - 1) - ph, dw * (kw - 1) - pw), dilation)


def _flat_padded(x, padding, slack):
    """x zero-padded and laid out channel-major across the batch: row c holds the N padded
    planes of channel c one after the other, each flattened (Hp Wp values) and followed by
    ``slack`` zeros. Shape (C, N, Hp Wp + slack)."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (ph, pw) = padding
    hp, wp = h + 2 * ph, w + 2 * pw
    flat = xp.empty((c, n, hp * wp + slack), dtype=x.dtype)
    parallel_over_channels(functools.partial(_pad_into, padding=padding), x, flat.transpose(1, 0, 2))
    return flat


def _pad_into(x, flat, padding):
    """flat (N, C, Hp Wp + slack) = x (N, C, H, W) zero-padded, each plane flattened and
    followed by the slack. Only the border and the slack are zeroed; the interior is
    written once, by the copy."""
    n, c, h, w = x.shape
    (ph, pw) = padding
    hp, wp = h + 2 * ph, w + 2 * pw
    planes = flat[:, :, :hp * wp].reshape(n, c, hp, wp)
    for border in (planes[:, :, :ph], planes[:, :, ph + h:], planes[:, :, ph:ph + h, :pw],
                   planes[:, :, ph:ph + h, pw + w:], flat[:, :, hp * wp:]):
        border[...] = 0
    planes[:, :, ph:ph + h, pw:pw + w] = x


def correlate_shifted(x, taps, padding, dilation, bias=None):
    """Stride-1 correlation without im2col.

    Flatten each padded plane into a row of length Hp Wp. Output pixel (h, w) at flat position
    q = h Wp + w reads input position q + i d_h Wp + j d_w for kernel offset (i, j). So, over
    the flat positions q in [0, Ho Wp),

        Y = sum_{i, j} W[:, :, i, j] @ X_flat[:, i d_h Wp + j d_w : ... + Ho Wp]

    kh kw matrix products over *views* of X_flat (BLAS reads them in place), each added
    into Y by the product itself (:func:`~minigrad.kernels.gemm.gemm`). ``taps[i, j]`` is
    W[:, :, i, j], an (O, C) matrix (any strides BLAS accepts, e.g. a transposed view).
    Columns w >= Wo of the result wrap around into the next row; they are computed and
    dropped (a (Wp - Wo) / Wp overhead, about 1% for VGG). The N images lie one after the
    other in each row of X_flat, so one product per offset covers the whole batch (the
    columns between two images are dropped too). A ``bias`` is not a pass of its own: Y
    starts as the broadcast bias and every product accumulates into it.
    """
    xp = get_array_module(x)
    n = x.shape[0]
    kh, kw, o, _ = taps.shape
    views, plane, (ho, wo, wp) = _shifted_views(x, (kh, kw), padding, dilation)
    out = xp.empty((o, n, plane), dtype=x.dtype)
    if bias is not None:
        parallel_over_channels(xp.copyto, out.transpose(1, 0, 2), bias.reshape(1, -1, 1))
    out_rows = out.reshape(o, n * plane)[:, :views[0][2].shape[1]]
    for i, j, view in views:
        gemm(taps[i, j], view, out_rows, accumulate=bias is not None or (i, j) != (0, 0))
    return out[:, :, :ho * wp].reshape(o, n, ho, wp)[:, :, :, :wo].transpose(1, 0, 2, 3)


def _shifted_views(x, kernel, padding, dilation):
    """([(i, j, X_flat[:, shift(i, j) : shift(i, j) + span]) for every kernel offset], the
    length of one image's row segment, (Ho, Wo, Wp)); span covers the N images' Ho Wp
    positions (and the slack between images)."""
    n, c, h, w = x.shape
    (kh, kw), (ph, pw), (dh, dw) = kernel, padding, dilation
    hp, wp = h + 2 * ph, w + 2 * pw
    ho, wo = hp - dh * (kh - 1), wp - dw * (kw - 1)
    flat = _flat_padded(x, padding, slack=dw * (kw - 1))
    plane = flat.shape[2]
    span = (n - 1) * plane + ho * wp
    rows = flat.reshape(c, n * plane)
    starts = [(i, j, i * dh * wp + j * dw) for i in range(kh) for j in range(kw)]
    return [(i, j, rows[:, start:start + span]) for i, j, start in starts], plane, (ho, wo, wp)


def weight_grad_shifted(x, gy, padding, dilation, weight_shape):
    """dL/dW[:, :, i, j] = G_y_flat @ X_flat[:, shift(i, j)]^T, with G_y laid out on the same
    rows as :func:`correlate_shifted` (zeros in the dropped columns)."""
    xp = get_array_module(x)
    n, o = gy.shape[:2]
    _, c, kh, kw = weight_shape
    views, plane, (ho, wo, wp) = _shifted_views(x, (kh, kw), padding, dilation)
    g = xp.zeros((o, n, plane), dtype=gy.dtype)
    g[:, :, :ho * wp].reshape(o, n, ho, wp)[:, :, :, :wo] = gy.transpose(1, 0, 2, 3)
    g_rows = g.reshape(o, n * plane)[:, :views[0][2].shape[1]]
    gw = xp.empty((kh, kw, o, c), dtype=gy.dtype)
    for i, j, view in views:
        gemm(g_rows, view.T, gw[i, j], accumulate=False)
    return xp.ascontiguousarray(gw.transpose(2, 3, 0, 1))
