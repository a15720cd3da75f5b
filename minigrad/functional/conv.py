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

The three functions below (:func:`correlate`, :func:`correlate_adjoint`, :func:`weight_grad`)
are this reference, written out. With fast paths on (:func:`minigrad.fast_paths`) a
3x3 stride-1 convolution with many channels runs Winograd's F(2x2, 3x3)
(:mod:`minigrad.kernels.winograd`), other stride-1 convolutions of large planes the
shifted views of :mod:`minigrad.kernels.shifted_conv` (no im2col copy), and the rest im2col
and col2im on threads (:mod:`minigrad.kernels.im2col`); :func:`conv2d` hands 7x7 and larger
stride-1 kernels to the FFT (:mod:`minigrad.kernels.fft`). Tests compare each with this
reference.
"""
from __future__ import annotations

from dataclasses import dataclass

from minigrad import kernels
from minigrad.function import Function
from minigrad.tensor import Tensor  # defined before minigrad.tensor imports the functions
from minigrad.functional.fft_conv import conv2d_fft
from minigrad.functional.im2col import col2im, im2col, pair
from minigrad.kernels import fft as fast_fft
from minigrad.kernels import im2col as threaded
from minigrad.kernels import shifted_conv, winograd
from minigrad.kernels.parallel import parallel_over_channels


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


# ---------------------------------------------------------------- reference: im2col + matmul

def correlate(x, weight, geometry):
    """y = W * x, the convolution of the module docstring without its bias:
    Y[n, g] = W[g] @ cols[n, g]."""
    cols = im2col(x, weight.shape[2:], geometry.stride, geometry.padding, geometry.dilation)
    return correlate_cols(cols, weight, geometry.groups)


def correlate_adjoint(gy, weight, geometry, x_shape):
    """dL/dx = col2im(W^T G_y): the adjoint of :func:`correlate` applied to gy, shaped x_shape."""
    cols = adjoint_cols(gy, weight, geometry.groups)
    return col2im(cols, x_shape, geometry.stride, geometry.padding, geometry.dilation)


def weight_grad(x, gy, geometry, weight_shape):
    """dL/dW[g] = sum_n G_y[n, g] @ cols[n, g]^T, shaped weight_shape."""
    cols = im2col(x, weight_shape[2:], geometry.stride, geometry.padding, geometry.dilation)
    return weight_grad_cols(cols, gy, geometry.groups, weight_shape)


def correlate_cols(cols, weight, groups):
    """Y[n, g] = W[g] @ cols[n, g], as one batched matmul; cols (N, C, kh, kw, Ho, Wo) from im2col."""
    n, _, _, _, ho, wo = cols.shape
    o, cg, kh, kw = weight.shape
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    y = weight.reshape(groups, o // groups, cg * kh * kw) @ cols           # (N, G, O/G, Ho Wo)
    return y.reshape(n, o, ho, wo)


def adjoint_cols(gy, weight, groups):
    """dL/dcols[n, g] = W[g]^T @ G_y[n, g], shaped (N, C, kh, kw, Ho, Wo) for col2im."""
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = weight.shape
    weight_t = weight.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1)
    cols = weight_t @ gy.reshape(n, groups, o // groups, ho * wo)           # (N, G, C/G kh kw, Ho Wo)
    return cols.reshape(n, groups * cg, kh, kw, ho, wo)


def weight_grad_cols(cols, gy, groups, weight_shape):
    """dL/dW[g] = sum_n G_y[n, g] @ cols[n, g]^T."""
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = weight_shape
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    gw = gy.reshape(n, groups, o // groups, ho * wo) @ cols.transpose(0, 1, 3, 2)
    return gw.sum(axis=0).reshape(weight_shape)


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
        self.taps = fast_taps(x, weight, self.geometry)
        return run_correlate(x, weight, self.geometry, bias, self.taps)

    def backward(self, gy):
        """dL/dx = col2im(W^T G_y), dL/dW = sum_n G_y[n] cols[n]^T, dL/db = sum of G_y over
        (n, h, w); each only when its input needs it."""
        needs = self.needs_input_grad
        gx = run_correlate_adjoint(gy, self.weight, self.geometry, self.x.shape, self.taps) if needs[0] else None
        gw = run_weight_grad(self.x, gy, self.geometry, self.weight.shape) if needs[1] else None
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
        y = run_correlate_adjoint(x, weight, self.geometry, (x.shape[0], weight.shape[1], out_h, out_w))
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        needs = self.needs_input_grad
        gx = run_correlate(gy, self.weight, self.geometry) if needs[0] else None
        gw = run_weight_grad(gy, self.x, self.geometry, self.weight.shape) if needs[1] else None
        gb = gy.sum(axis=(0, 2, 3)) if self.has_bias and needs[2] else None
        return gx, gw, gb


# ---------------------------------------------------------------- which kernel runs each product

def run_correlate(x, weight, geometry, bias=None, taps=None):
    """y = W * x + b by the reference, or by the fast kernels when :func:`minigrad.fast_paths`
    is on. ``taps``: :func:`fast_taps` of the weight, if the caller kept them."""
    if not kernels.enabled():
        y = correlate(x, weight, geometry)
        return y if bias is None else y + bias.reshape(1, -1, 1, 1)
    if winograd.applies(x, weight.shape, geometry):
        return winograd.correlate(x, winograd.filter_transform(weight), geometry.padding, bias)
    if shifted_conv.shifted_applies(x, geometry):
        taps = shifted_conv.shifted_taps(weight) if taps is None else taps
        return shifted_conv.correlate_shifted(x, taps, geometry.padding, geometry.dilation, bias)
    cols = threaded.im2col(x, weight.shape[2:], geometry.stride, geometry.padding, geometry.dilation)
    y = correlate_cols(cols, weight, geometry.groups)
    if bias is not None:
        parallel_over_channels(_add_into, y, bias.reshape(1, -1, 1, 1))
    return y


def _add_into(y, b):
    y += b


def run_correlate_adjoint(gy, weight, geometry, x_shape, taps=None):
    """dL/dx of :func:`run_correlate`, by the reference or the fast kernels."""
    if not kernels.enabled():
        return correlate_adjoint(gy, weight, geometry, x_shape)
    if winograd.applies(gy, weight.shape, geometry):
        return winograd.correlate_adjoint(gy, weight, geometry.padding)
    if shifted_conv.adjoint_shifted_applies(gy, weight.shape, geometry, x_shape):
        taps = shifted_conv.shifted_taps(weight) if taps is None else taps
        return shifted_conv.correlate_adjoint_shifted(gy, taps, geometry.padding, geometry.dilation)
    cols = adjoint_cols(gy, weight, geometry.groups)
    return threaded.col2im(cols, x_shape, geometry.stride, geometry.padding, geometry.dilation)


def run_weight_grad(x, gy, geometry, weight_shape):
    """dL/dW of :func:`run_correlate`, by the reference or the fast kernels."""
    if not kernels.enabled():
        return weight_grad(x, gy, geometry, weight_shape)
    if shifted_conv.shifted_applies(x, geometry):
        return shifted_conv.weight_grad_shifted(x, gy, geometry.padding, geometry.dilation, weight_shape)
    cols = threaded.im2col(x, weight_shape[2:], geometry.stride, geometry.padding, geometry.dilation)
    return weight_grad_cols(cols, gy, geometry.groups, weight_shape)


def fast_taps(x, weight, geometry):
    """The weight as the shifted-view kernels read it, when they will take x (kept by a
    convolution between its forward and backward), else None."""
    if (kernels.enabled() and shifted_conv.shifted_applies(x, geometry)
            and not winograd.applies(x, weight.shape, geometry)):
        return shifted_conv.shifted_taps(weight)
    return None


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



def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), torch semantics.

    x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) or None. ``stride``, ``padding``
    (zeros), ``dilation``: an int or an (h, w) pair. Output (N, O, Ho, Wo) with
    Ho = floor((H + 2 p - d (kh - 1) - 1) / s) + 1.
    """
    geometry = Geometry.parse("conv2d", stride, padding, dilation, groups)
    if all(isinstance(a, Tensor) for a in (x, weight)) and fast_fft.replaces_conv(x.data, weight.data, geometry):
        return conv2d_fft(x, weight, bias, geometry.padding)
    return Conv2d(geometry)(x, weight, bias)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution (the gradient of conv2d with respect to its input), torch
    semantics: x (N, in, H, W), weight (in, out, kh, kw), bias (out,) or None."""
    geometry = Geometry.parse("conv_transpose2d", stride, padding, 1)
    return ConvTranspose2d(geometry, pair(output_padding, "output_padding", "conv_transpose2d"))(x, weight, bias)

