"""2-D convolution and transposed convolution, forward and backward.

The convolution of deep learning is a cross-correlation. With x (N, C, H, W), weight
(O, C/G, kh, kw), stride s, padding p, dilation d and G groups (output channel o sees only
the C/G input channels of its group g(o)):

    y[n, o, h, w] = b[o] + sum_{c in g(o), i, j} W[o, c, i, j] x_pad[n, c, h s + i d, w s + j d]

**Forward** as one matrix product. Gather every patch into a column (im2col, see
:mod:`minigrad.functional.im2col`): cols[n] is (C kh kw, Ho Wo). Then, per group g,

    Y[n, g] = W[g] @ cols[n, g]          W[g]: (O/G, C/G kh kw),  Y[n, g]: (O/G, Ho Wo)

done as a single batched ``matmul`` over (n, g).

**Backward.** Let G_y = dL/dy, reshaped like Y. Differentiating Y = W @ cols:

    dL/dW[g] = sum_n  G_y[n, g] @ cols[n, g]^T         (the same patches, now as rows)
    dL/dcols[n, g] = W[g]^T @ G_y[n, g]                (one row of kernel weights per patch entry)
    dL/dx = col2im(dL/dcols)                           (add each entry back where it was read)
    dL/db[o] = sum_{n, h, w} G_y[n, o, h, w]

dL/dx is thus the *adjoint* of the convolution applied to G_y. That adjoint is exactly the
transposed convolution (:func:`conv_transpose2d`, the "deconvolution" of Zeiler & Fergus),
so the two functions share their three kernels with the roles swapped:

    ===============  =====================  =====================
                     conv2d                  conv_transpose2d
    forward          correlate               correlate_adjoint
    grad of input    correlate_adjoint       correlate
    grad of weight   weight_grad(x, g_y)     weight_grad(g_y, x)
    ===============  =====================  =====================

Backward computes only the gradients in ``needs_input_grad``: with frozen weights (saliency,
class visualization, style transfer) no weight gradient and no second im2col is computed.

**Fast path** (``FAST_PATHS``): a stride-1, ungrouped convolution of large planes is computed
without the im2col copy, as kh*kw matrix products over shifted views of the flattened padded
input, each accumulated into the output by GEMM itself (:func:`_correlate_shifted`,
:mod:`minigrad.functional.gemm`). The im2col version above is the reference; tests compare
them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from backends import get_array_module
from minigrad.function import Function
from minigrad.functional.gemm import gemm
from minigrad.functional.im2col import col2im, im2col, pair
from minigrad.functional.parallel import parallel_over_channels

#: use the stride-1 shifted-view kernels where they apply (set False to run the reference)
FAST_PATHS = True
#: the shifted-view path pays off only when each of its kh*kw products is big enough
_SHIFTED_MIN_CHANNELS = 16
_SHIFTED_MIN_PIXELS = 48 * 48


@dataclass(frozen=True)
class Geometry:
    """Stride, padding and dilation as (height, width) pairs, and the group count."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int = 1

    @classmethod
    def parse(cls, function, stride, padding, dilation, groups=1):
        geometry = cls(pair(stride, "stride", function), pair(padding, "padding", function),
                       pair(dilation, "dilation", function), int(groups))
        for name, value, low in (("stride", geometry.stride, 1), ("padding", geometry.padding, 0),
                                 ("dilation", geometry.dilation, 1)):
            if min(value) < low:
                raise ValueError(f"{function}: {name} must be >= {low}, got {value}")
        if geometry.groups < 1:
            raise ValueError(f"{function}: groups must be >= 1, got {groups}")
        return geometry


# ---------------------------------------------------------------- the three kernels

def correlate(x, weight, geometry, taps=None, bias=None):
    """y = W * x + b (the convolution of the module docstring; no bias when ``bias`` is
    None). ``taps``: the weight as :func:`shifted_taps` arranges it, if the caller has it
    already."""
    if shifted_applies(x, geometry):
        taps = shifted_taps(weight) if taps is None else taps
        return _correlate_shifted(x, taps, geometry.padding, geometry.dilation, bias)
    y = _correlate_im2col(x, weight, geometry)
    if bias is not None:
        parallel_over_channels(_add_into, y, bias.reshape(1, -1, 1, 1))
    return y


def _add_into(y, b):
    get_array_module(y).add(y, b, out=y)


def correlate_adjoint(gy, weight, geometry, x_shape, taps=None):
    """dL/dx = col2im(W^T G_y): the adjoint of :func:`correlate` applied to gy, shaped x_shape."""
    kh, kw = weight.shape[2:]
    (ph, pw), (dh, dw) = geometry.padding, geometry.dilation
    if (shifted_applies(gy, geometry, min_pixels=0) and x_shape[1] >= _SHIFTED_MIN_CHANNELS
            and ph <= dh * (kh - 1) and pw <= dw * (kw - 1)):
        # stride 1: the adjoint is a correlation of gy, padded by d (k - 1) - p, with the
        # kernel flipped in space and its in/out channels swapped (views of the same taps).
        # Its products have x's channels as rows: with few (VGG-16's RGB input) each of the
        # kh*kw products is a thin one that rereads all of gy, and im2col is faster
        # (3 <- 64 channels at 224: 2.6 against 8.9 ms; at 512: 17 against 51 ms). Small
        # planes do not matter here: im2col's col2im costs more than the thinner products
        # (VGG-16's 512 <- 512 at 14: 4.5 against 7.8 ms; AlexNet's 256 <- 384 at 13,
        # batch 8: 11 against 24 ms)
        taps = shifted_taps(weight) if taps is None else taps
        adjoint_taps = taps[::-1, ::-1].transpose(0, 1, 3, 2)
        return _correlate_shifted(gy, adjoint_taps, (dh * (kh - 1) - ph, dw * (kw - 1) - pw), geometry.dilation)
    return _correlate_adjoint_im2col(gy, weight, geometry, x_shape)


def weight_grad(x, gy, geometry, weight_shape):
    """dL/dW = sum_n G_y[n] @ cols[n]^T, per group, shaped weight_shape."""
    if shifted_applies(x, geometry):
        return _weight_grad_shifted(x, gy, geometry.padding, geometry.dilation, weight_shape)
    return _weight_grad_im2col(x, gy, geometry, weight_shape)


def shifted_applies(x, geometry, min_pixels=None):
    """Whether the shifted-view kernels take input x (N, C, H, W): stride 1, no groups, and
    products (each spans all N planes) and channel counts large enough that kh*kw separate
    products beat one big one (measured on VGG-16 layers at batch 1: faster at 224, 112 and
    56 pixels, even at 28, slower at 14; AlexNet's 5x5 conv2 at 27 pixels, batch 8: forward
    36 against 50 ms single-threaded). NumPy only: on CuPy the shifted views are not contiguous,
    so every product first copies its operand, and the path was measured 2x slower than im2col
    (H200, 64->64 at 224: 0.66 against 0.33 ms). ``min_pixels``: the smallest N H W
    (default ``_SHIFTED_MIN_PIXELS``)."""
    min_pixels = _SHIFTED_MIN_PIXELS if min_pixels is None else min_pixels
    return (FAST_PATHS and get_array_module(x).__name__ == "numpy"
            and geometry.stride == (1, 1) and geometry.groups == 1
            and x.shape[1] >= _SHIFTED_MIN_CHANNELS and x.shape[0] * x.shape[2] * x.shape[3] >= min_pixels)


def shifted_taps(weight):
    """The weight (O, C, kh, kw) as kh*kw contiguous (O, C) matrices: shape (kh, kw, O, C)."""
    return get_array_module(weight).ascontiguousarray(weight.transpose(2, 3, 0, 1))


# ---------------------------------------------------------------- reference: im2col + matmul

def _correlate_im2col(x, weight, geometry):
    xp = get_array_module(x)
    n = x.shape[0]
    o, cg, kh, kw = weight.shape
    groups = geometry.groups
    cols = im2col(x, (kh, kw), geometry.stride, geometry.padding, geometry.dilation)
    ho, wo = cols.shape[-2:]
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    y = xp.matmul(weight.reshape(groups, o // groups, cg * kh * kw), cols)   # (N, G, O/G, Ho Wo)
    return y.reshape(n, o, ho, wo)


def _correlate_adjoint_im2col(gy, weight, geometry, x_shape):
    xp = get_array_module(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = weight.shape
    groups = geometry.groups
    weight_t = weight.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1)
    cols = xp.matmul(weight_t, gy.reshape(n, groups, o // groups, ho * wo))  # (N, G, C/G kh kw, Ho Wo)
    return col2im(cols.reshape(n, groups * cg, kh, kw, ho, wo), x_shape,
                  geometry.stride, geometry.padding, geometry.dilation)


def _weight_grad_im2col(x, gy, geometry, weight_shape):
    xp = get_array_module(x)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = weight_shape
    groups = geometry.groups
    cols = im2col(x, (kh, kw), geometry.stride, geometry.padding, geometry.dilation)
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    gw = xp.matmul(gy.reshape(n, groups, o // groups, ho * wo), cols.transpose(0, 1, 3, 2))
    return gw.sum(axis=0).reshape(weight_shape)


# ---------------------------------------------------------------- fast path: shifted views

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


def _correlate_shifted(x, taps, padding, dilation, bias=None):
    """Stride-1 correlation without im2col.

    Flatten each padded plane into a row of length Hp Wp. Output pixel (h, w) at flat position
    q = h Wp + w reads input position q + i d_h Wp + j d_w for kernel offset (i, j). So, over
    the flat positions q in [0, Ho Wp),

        Y = sum_{i, j} W[:, :, i, j] @ X_flat[:, i d_h Wp + j d_w : ... + Ho Wp]

    kh kw matrix products over *views* of X_flat (BLAS reads them in place), each added
    into Y by the product itself (:func:`~minigrad.functional.gemm.gemm`). ``taps[i, j]`` is
    W[:, :, i, j], an (O, C) matrix (any strides BLAS accepts, e.g. a transposed view).
    Columns w >= Wo of the result wrap around into the next row; they are computed and
    dropped (a (Wp - Wo) / Wp overhead, about 1% for VGG). The N images lie one after the
    other in each row of X_flat, so one product per offset covers the whole batch (the
    columns between two images are dropped too). A ``bias`` is not a pass of its own: Y
    starts as the broadcast bias and every product accumulates into it.
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    kh, kw, o, _ = taps.shape
    (ph, pw), (dh, dw) = padding, dilation
    hp, wp = h + 2 * ph, w + 2 * pw
    ho, wo = hp - dh * (kh - 1), wp - dw * (kw - 1)
    length = ho * wp
    flat = _flat_padded(x, padding, slack=dw * (kw - 1))
    plane = flat.shape[2]
    span = (n - 1) * plane + length
    rows = flat.reshape(c, n * plane)
    out = xp.empty((o, n, plane), dtype=x.dtype)
    if bias is not None:
        parallel_over_channels(xp.copyto, out.transpose(1, 0, 2), bias.reshape(1, -1, 1))
    out_rows = out.reshape(o, n * plane)[:, :span]
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            gemm(taps[i, j], rows[:, start:start + span], out_rows, accumulate=bias is not None or (i, j) != (0, 0))
    return out[:, :, :length].reshape(o, n, ho, wp)[:, :, :, :wo].transpose(1, 0, 2, 3)


def _weight_grad_shifted(x, gy, padding, dilation, weight_shape):
    """dL/dW[:, :, i, j] = G_y_flat @ X_flat[:, shift(i, j)]^T, with G_y laid out on the same
    rows as :func:`_correlate_shifted` (zeros in the dropped columns)."""
    xp = get_array_module(x)
    n, o, ho, wo = gy.shape
    _, c, kh, kw = weight_shape
    (dh, dw) = dilation
    wp = x.shape[3] + 2 * padding[1]
    length = ho * wp
    flat = _flat_padded(x, padding, slack=dw * (kw - 1))
    plane = flat.shape[2]
    span = (n - 1) * plane + length
    rows = flat.reshape(c, n * plane)
    g = xp.zeros((o, n, plane), dtype=gy.dtype)
    g[:, :, :length].reshape(o, n, ho, wp)[:, :, :, :wo] = gy.transpose(1, 0, 2, 3)
    g_rows = g.reshape(o, n * plane)[:, :span]
    gw = xp.empty((kh, kw, o, c), dtype=gy.dtype)
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            gemm(g_rows, rows[:, start:start + span].T, gw[i, j], accumulate=False)
    return xp.ascontiguousarray(gw.transpose(2, 3, 0, 1))


# ---------------------------------------------------------------- argument checks

def _check_common(function, x, weight, bias, bias_channels):
    if x.ndim != 4:
        raise ValueError(f"{function}: input x must be 4-D (N, C, H, W), got shape {x.shape}; "
                         "for a single image add a batch axis (x[None])")
    if weight.ndim != 4:
        raise ValueError(f"{function}: weight must be 4-D, got shape {weight.shape}")
    if x.dtype != weight.dtype:
        raise TypeError(f"{function}: input x is {x.dtype} but weight is {weight.dtype}; "
                        f"convert one with .astype('{weight.dtype}')")
    if bias is not None and bias.shape != (bias_channels,):
        raise ValueError(f"{function}: bias has shape {bias.shape}, expected ({bias_channels},) to "
                         f"match weight of shape {weight.shape}")


def _check_kernel_fits(function, x, weight, geometry):
    kh, kw = weight.shape[2:]
    (ph, pw), (dh, dw) = geometry.padding, geometry.dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    room = (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)
    if span[0] > room[0] or span[1] > room[1]:
        raise ValueError(
            f"{function}: the kernel spans {span[0]}x{span[1]} pixels (weight {weight.shape}, dilation "
            f"{geometry.dilation}) but the padded input is only {room[0]}x{room[1]} (input x {x.shape}, "
            f"padding {geometry.padding}); use a larger input, more padding or a smaller kernel")


# ---------------------------------------------------------------- the functions

class Conv2d(Function):
    """y = W * x + b (cross-correlation); see the module docstring for forward and backward."""

    name = "conv2d"

    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x, weight, bias):
        _check_common("conv2d", x, weight, bias, weight.shape[0] if weight.ndim == 4 else -1)
        groups = self.geometry.groups
        if x.shape[1] % groups or weight.shape[0] % groups:
            raise ValueError(f"conv2d: groups={groups} must divide the input channels of x {x.shape} "
                             f"and the output channels of weight {weight.shape}; choose groups that "
                             "divides both")
        if weight.shape[1] * groups != x.shape[1]:
            raise ValueError(
                f"conv2d: weight of shape {weight.shape} expects {weight.shape[1] * groups} input channels "
                f"({weight.shape[1]} per group x groups={groups}) but input x of shape {x.shape} has "
                f"{x.shape[1]}; pass a weight of shape ({weight.shape[0]}, {x.shape[1] // groups}, kh, kw) "
                "or an input with matching channels")
        _check_kernel_fits("conv2d", x, weight, self.geometry)
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        self.taps = shifted_taps(weight) if shifted_applies(x, self.geometry) else None
        return correlate(x, weight, self.geometry, self.taps, bias)

    def backward(self, gy):
        needs = self.needs_input_grad
        gx = correlate_adjoint(gy, self.weight, self.geometry, self.x.shape, self.taps) if needs[0] else None
        gw = weight_grad(self.x, gy, self.geometry, self.weight.shape) if needs[1] else None
        gb = gy.sum(axis=(0, 2, 3)) if self.has_bias and needs[2] else None
        return gx, gw, gb


class ConvTranspose2d(Function):
    """y = W^T * x + b, the adjoint of conv2d with the same weight (in, out, kh, kw).

    Output size: H_out = (H - 1) s - 2 p + (kh - 1) + output_padding + 1. ``output_padding``
    (< stride) picks among the several H_out that a stride-s conv2d maps to the same H.

        forward:         correlate_adjoint(x, W)      (= W^T @ x, then col2im)
        dL/dx:           correlate(G_y, W)            (im2col of G_y, then W @ cols)
        dL/dW:           weight_grad(G_y, x)          (the conv2d weight gradient with the roles of
                                                       input and output swapped)
        dL/db[o]:        sum_{n, h, w} G_y[n, o, h, w]
    """

    name = "conv_transpose2d"

    def __init__(self, geometry, output_padding):
        self.geometry, self.output_padding = geometry, output_padding

    def forward(self, x, weight, bias):
        function = "conv_transpose2d"
        _check_common(function, x, weight, bias, weight.shape[1] if weight.ndim == 4 else -1)
        if weight.shape[0] != x.shape[1]:
            raise ValueError(f"{function}: weight of shape {weight.shape} (in, out, kh, kw) expects "
                             f"{weight.shape[0]} input channels but input x of shape {x.shape} has "
                             f"{x.shape[1]}; pass a weight of shape ({x.shape[1]}, out, kh, kw)")
        (sh, sw), (oph, opw) = self.geometry.stride, self.output_padding
        if not (0 <= oph < sh and 0 <= opw < sw):
            raise ValueError(f"{function}: output_padding {self.output_padding} must be >= 0 and smaller "
                             f"than stride {self.geometry.stride}")
        (ph, pw), (kh, kw) = self.geometry.padding, weight.shape[2:]
        out_h = (x.shape[2] - 1) * sh - 2 * ph + kh + oph
        out_w = (x.shape[3] - 1) * sw - 2 * pw + kw + opw
        if out_h < 1 or out_w < 1:
            raise ValueError(f"{function}: input x {x.shape} with weight {weight.shape}, stride "
                             f"{self.geometry.stride} and padding {self.geometry.padding} gives an empty "
                             f"output ({out_h}x{out_w}); use less padding")
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        y = correlate_adjoint(x, weight, self.geometry, (x.shape[0], weight.shape[1], out_h, out_w))
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        needs = self.needs_input_grad
        gx = correlate(gy, self.weight, self.geometry) if needs[0] else None
        gw = weight_grad(gy, self.x, self.geometry, self.weight.shape) if needs[1] else None
        gb = gy.sum(axis=(0, 2, 3)) if self.has_bias and needs[2] else None
        return gx, gw, gb


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), torch semantics.

    x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) or None. ``stride``, ``padding``
    (zeros), ``dilation``: an int or an (h, w) pair. Output (N, O, Ho, Wo) with
    Ho = floor((H + 2 p - d (kh - 1) - 1) / s) + 1.
    """
    return Conv2d(Geometry.parse("conv2d", stride, padding, dilation, groups))(x, weight, bias)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution (the gradient of conv2d with respect to its input), torch
    semantics: x (N, in, H, W), weight (in, out, kh, kw), bias (out,) or None."""
    geometry = Geometry.parse("conv_transpose2d", stride, padding, 1)
    return ConvTranspose2d(geometry, pair(output_padding, "output_padding", "conv_transpose2d"))(x, weight, bias)

