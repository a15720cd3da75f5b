"""im2col and col2im: the index bookkeeping behind convolution and pooling.

A 2-D convolution reads, for every output pixel (h, w), the input patch

    x_pad[n, c, h*sh + i*dh, w*sw + j*dw]      for kernel offsets 0 <= i < kh, 0 <= j < kw

where x_pad is the input with ``padding`` zeros on each side, (sh, sw) the stride and
(dh, dw) the dilation. :func:`windows` exposes all these patches as one strided *view*
of shape (N, C, kh, kw, Ho, Wo) -- no element is copied. :func:`im2col` copies that view into
a contiguous matrix of shape (N, C*kh*kw, Ho*Wo) so that the convolution becomes one matrix
product (Chellapilla et al. 2006, "High performance convolutional neural networks for
document processing").

:func:`col2im` is the adjoint (transpose) of im2col: every column entry is *added* back to
the input pixel it was read from. Pixels that belong to several patches (kernel larger than
stride) receive the sum. Instead of a scatter-add over every element (``np.add.at``, slow),
it loops over the kh*kw kernel offsets: for a fixed offset (i, j) the pixels read form a
regular strided grid of the input that no two output pixels share, so one vectorised
``+=`` per offset adds them all.

The functions work for NumPy and CuPy arrays alike. (:mod:`minigrad.kernels.im2col` runs
the same two copies split over the CPU cores.)
"""
from __future__ import annotations

from backends import get_array_module


def pair(value, name: str, function: str) -> tuple[int, int]:
    """``value`` as a pair of ints: ``3 -> (3, 3)``, ``(2, 3) -> (2, 3)``."""
    pair_ = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair_) != 2 or not all(isinstance(v, int) or hasattr(v, "__index__") for v in pair_):
        raise TypeError(f"{function}: {name} must be an int or a pair of ints, got {value!r}")
    return int(pair_[0]), int(pair_[1])


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Number of window positions: floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pad_zeros(x, padding: tuple[int, int], extra: tuple[int, int] = (0, 0), value=0):
    """x (N, C, H, W) with ``padding`` rows/columns of ``value`` on each side of H and W, and
    ``extra`` more at the bottom/right (room for windows that run past the end). Returns ``x``
    itself when nothing is added."""
    (ph, pw), (eh, ew) = padding, extra
    if ph == pw == eh == ew == 0:
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + 2 * ph + eh, w + 2 * pw + ew), value, dtype=x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def windows(x_pad, kernel, stride, dilation, out_hw):
    """All sliding windows of x_pad (N, C, Hp, Wp) as a view of shape (N, C, kh, kw, Ho, Wo):

        view[n, c, i, j, h, w] = x_pad[n, c, h*sh + i*dh, w*sw + j*dw]

    No data is copied; writing to the view would write to x_pad (don't).
    """
    xp = get_array_module(x_pad)
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    n, c = x_pad.shape[:2]
    s0, s1, s2, s3 = x_pad.strides
    return xp.lib.stride_tricks.as_strided(
        x_pad, shape=(n, c, kh, kw, ho, wo), strides=(s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw))


def im2col(x, kernel, stride, padding, dilation):
    """The patches of x (N, C, H, W) as a contiguous array (N, C, kh, kw, Ho, Wo).

    Reshaped to (N, C*kh*kw, Ho*Wo) it is the matrix whose column p holds the patch that
    output pixel p sees, so ``weight.reshape(O, -1) @ cols`` is the convolution.
    """
    return get_array_module(x).ascontiguousarray(patches(x, kernel, stride, padding, dilation))


def patches(x, kernel, stride, padding, dilation):
    """The patches of x as the strided view :func:`windows` of the zero-padded input."""
    ho = output_size(x.shape[2], kernel[0], stride[0], padding[0], dilation[0])
    wo = output_size(x.shape[3], kernel[1], stride[1], padding[1], dilation[1])
    return windows(pad_zeros(x, padding), kernel, stride, dilation, (ho, wo))


def col2im(cols, x_shape, stride, padding, dilation):
    """The adjoint of :func:`im2col`: cols (N, C, kh, kw, Ho, Wo) summed back into an array of
    ``x_shape`` (N, C, H, W).

        x_pad[n, c, h*sh + i*dh, w*sw + j*dw] += cols[n, c, i, j, h, w]   for all i, j, h, w

    then the padding is cut off. One vectorised ``+=`` per kernel offset (i, j). Rows or
    columns of the input that no window reaches get 0.
    """
    x_pad = col2im_canvas(cols, x_shape, stride, padding, dilation)
    add_windows(x_pad, cols, stride, dilation)
    return x_pad[:, :, padding[0]:padding[0] + x_shape[2], padding[1]:padding[1] + x_shape[3]]


def col2im_canvas(cols, x_shape, stride, padding, dilation):
    """Zeros (N, C, Hp, Wp) large enough for the padded input and every window, even ones
    that run past its end."""
    n, c, kh, kw, ho, wo = cols.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    hp = max(x_shape[2] + 2 * ph, (ho - 1) * sh + (kh - 1) * dh + 1)
    wp = max(x_shape[3] + 2 * pw, (wo - 1) * sw + (kw - 1) * dw + 1)
    return get_array_module(cols).zeros((n, c, hp, wp), dtype=cols.dtype)


def add_windows(x_pad, cols, stride, dilation):
    """x_pad[:, :, h*sh + i*dh, w*sw + j*dw] += cols[:, :, i, j, h, w], one slice per (i, j)."""
    _, _, kh, kw, ho, wo = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            x_pad[:, :, top:top + sh * (ho - 1) + 1:sh, left:left + sw * (wo - 1) + 1:sw] += cols[:, :, i, j]
