"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d (torch semantics).

Window pooling reads, for output pixel (h, w) and kernel offset (i, j), the padded input
x_pad[n, c, h s_h + i, w s_w + j]. Both forward and backward loop over the kh*kw kernel
offsets, never over pixels: for a fixed offset, the pixels read by all windows form one
strided slice of x_pad, so each step is a single vectorised operation.

Output size (torch): Ho = floor((H + 2 p - kh) / s) + 1, or with ``ceil_mode`` the ceiling,
except that the last window must start inside the input or its left padding
((Ho - 1) s < H + p); a window that runs past the padded input is clipped.
"""
from __future__ import annotations

import numpy as np

from backends import get_array_module
from minigrad import kernels
from minigrad.function import Function
from minigrad.functional.im2col import pad_zeros, pair, windows
from minigrad.kernels import pooling as fast


class _Windows:
    """Kernel, stride, padding, output size of a window pooling, and the ``extra`` rows and
    columns past the padded input that clipped ceil_mode windows reach."""

    def __init__(self, function, x, kernel_size, stride, padding, ceil_mode):
        if x.ndim != 4:
            raise ValueError(f"{function}: input x must be 4-D (N, C, H, W), got shape {x.shape}; "
                             "for a single image add a batch axis (x[None])")
        self.kernel = pair(kernel_size, "kernel_size", function)
        self.stride = pair(kernel_size if stride is None else stride, "stride", function)
        self.padding = pair(padding, "padding", function)
        if min(self.kernel) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{function}: kernel_size {self.kernel} and stride {self.stride} must be >= 1 "
                             f"and padding {self.padding} >= 0")
        if any(2 * p > k for p, k in zip(self.padding, self.kernel)):
            raise ValueError(f"{function}: padding {self.padding} must be at most half of kernel_size "
                             f"{self.kernel}; use less padding")
        out, extra = [], []
        for size, k, s, p in zip(x.shape[2:], self.kernel, self.stride, self.padding):
            if size + 2 * p < k:
                raise ValueError(f"{function}: kernel_size {self.kernel} is larger than the padded input "
                                 f"(input x {x.shape}, padding {self.padding}); use a smaller kernel")
            n = -(-(size + 2 * p - k) // s) + 1 if ceil_mode else (size + 2 * p - k) // s + 1
            if ceil_mode and (n - 1) * s >= size + p:
                n -= 1
            out.append(n)
            extra.append(max(0, (n - 1) * s + k - (size + 2 * p)))
        self.out, self.extra = tuple(out), tuple(extra)

    def offsets(self):
        """(k, i, j) for every kernel offset, in row-major order."""
        kh, kw = self.kernel
        return [(i * kw + j, i, j) for i in range(kh) for j in range(kw)]

    def view(self, x_pad, i, j):
        """x_pad[:, :, h s_h + i, w s_w + j] for all output pixels (h, w): a strided slice."""
        (sh, sw), (ho, wo) = self.stride, self.out
        return x_pad[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]

    def canvas(self, x_shape, dtype, xp):
        """Zeros the size of the padded input plus ``extra``, to accumulate gradients in."""
        (ph, pw), (eh, ew) = self.padding, self.extra
        n, c, h, w = x_shape
        return xp.zeros((n, c, h + 2 * ph + eh, w + 2 * pw + ew), dtype=dtype)

    def patches(self, x_pad):
        """All windows of x_pad as one array (N, C, kh kw, Ho, Wo): patches[:, :, k] = view(i, j)."""
        n, c = x_pad.shape[:2]
        (kh, kw), (ho, wo) = self.kernel, self.out
        return windows(x_pad, self.kernel, self.stride, (1, 1), self.out).reshape(n, c, kh * kw, ho, wo)

    def crop(self, x_pad, x_shape):
        (ph, pw) = self.padding
        return x_pad[:, :, ph:ph + x_shape[2], pw:pw + x_shape[3]]


class MaxPool2d(Function):
    """y[n, c, h, w] = max over the window of x_pad (padding is -inf, so never chosen).

    Forward gathers the kh kw values of every window (:meth:`_Windows.patches`) and takes
    their maximum and its offset k = i kw + j (the argmax). Among tied values the *first* in
    row-major window order is the argmax; a window holding NaN gives NaN with its last NaN as
    argmax (torch's rule).

    dL/dx is dL/dy routed to the argmax of each window (0 elsewhere); a pixel that is the
    argmax of several overlapping windows receives the sum. Backward adds, per offset k,
    ``where(argmax == k, g_y, 0)`` into the strided slice of offset k.

    With fast paths on (:func:`minigrad.fast_paths`), :mod:`minigrad.kernels.pooling` keeps a
    running maximum instead of gathering the windows and routes the gradient in one scatter
    (or by assignment when windows do not overlap), on several threads.
    """

    name = "max_pool2d"

    def __init__(self, kernel_size, stride, padding, ceil_mode, return_indices):
        self.args = (kernel_size, stride, padding, ceil_mode)
        self.return_indices = return_indices

    def forward(self, x):
        xp = get_array_module(x)
        if x.dtype.kind != "f":
            raise TypeError(f"max_pool2d: input x must be a float array, got {x.dtype}")
        win = self.windows = _Windows("max_pool2d", x, *self.args)
        x_pad = pad_zeros(x, win.padding, win.extra, value=-np.inf)
        if kernels.enabled():
            best, argmax = fast.max_pool(win, x_pad)
        else:
            best, argmax = self._max_of_windows(x_pad)
        self.argmax, self.x_shape = argmax.astype(_offset_dtype(win), copy=False), x.shape
        if not self.return_indices:
            return best
        return best, self._flat_indices(xp)

    def _max_of_windows(self, x_pad):
        """(max, argmax) over the kh kw values of each window; a window's NaN wins, its last one."""
        xp = get_array_module(x_pad)
        patches = self.windows.patches(x_pad)
        argmax = patches.argmax(axis=2)                            # the first maximum (or first NaN)
        nan = xp.isnan(patches)
        last_nan = nan.shape[2] - 1 - nan[:, :, ::-1].argmax(axis=2)
        argmax = xp.where(nan.any(axis=2), last_nan, argmax)
        best = xp.take_along_axis(patches, argmax[:, :, None], axis=2)[:, :, 0]
        return best, argmax

    def _flat_indices(self, xp):
        """torch's indices: the argmax as a flat position h * W + w in the input plane."""
        win = self.windows
        (sh, sw), (ph, pw), (ho, wo), kw = win.stride, win.padding, win.out, win.kernel[1]
        width = self.x_shape[3]
        i, j = self.argmax // kw, self.argmax % kw
        rows = xp.arange(ho).reshape(ho, 1) * sh - ph
        cols = xp.arange(wo) * sw - pw
        return (rows + i.astype(np.int64)) * width + (cols + j.astype(np.int64))

    def backward(self, gy, *_):
        xp = get_array_module(gy)
        win = self.windows
        if kernels.enabled():
            gx_pad = fast.max_pool_backward(win, self.argmax, gy, self.x_shape)
        else:
            gx_pad = win.canvas(self.x_shape, gy.dtype, xp)
            zero = gy.dtype.type(0)
            for k, i, j in win.offsets():
                win.view(gx_pad, i, j)[...] += xp.where(self.argmax == k, gy, zero)
        return win.crop(gx_pad, self.x_shape)


def _offset_dtype(win):
    """The smallest integer type that holds every kernel offset k < kh kw."""
    return np.min_scalar_type(win.kernel[0] * win.kernel[1] - 1)


class AvgPool2d(Function):
    """y[n, c, h, w] = (sum over the window of x_pad) / count[h, w], zero padding included in the
    count (torch's count_include_pad=True); a ceil_mode window that runs past the padded input
    is clipped and counts only its part inside the padded input.

    dL/dx: each window spreads g_y / count evenly over its pixels, so backward adds
    g_y / count into the strided slice of every kernel offset.
    """

    name = "avg_pool2d"

    def __init__(self, kernel_size, stride, padding, ceil_mode):
        self.args = (kernel_size, stride, padding, ceil_mode)

    def forward(self, x):
        xp = get_array_module(x)
        win = self.windows = _Windows("avg_pool2d", x, *self.args)
        self.x_shape = x.shape
        self.scale = self._inverse_counts(x.shape, x.dtype, xp)
        x_pad = pad_zeros(x, win.padding, win.extra)
        total = win.view(x_pad, 0, 0).copy()
        for _, i, j in win.offsets()[1:]:
            total += win.view(x_pad, i, j)
        total *= self.scale
        return total

    def _inverse_counts(self, x_shape, dtype, xp):
        win = self.windows
        counts = []
        for size, k, s, p, n in zip(x_shape[2:], win.kernel, win.stride, win.padding, win.out):
            start = np.arange(n) * s - p
            counts.append(np.minimum(start + k, size + p) - start)
        return xp.asarray(1.0 / np.outer(counts[0], counts[1]), dtype=dtype)

    def backward(self, gy):
        xp = get_array_module(gy)
        win = self.windows
        share = gy * self.scale
        gx_pad = win.canvas(self.x_shape, gy.dtype, xp)
        for _, i, j in win.offsets():
            win.view(gx_pad, i, j)[...] += share
        return win.crop(gx_pad, self.x_shape)


def _bin_matrix(n_in, n_out, dtype, xp):
    """A (n_out, n_in) with A[i, m] = 1 / len(bin i) for m in bin i = [floor(i In / Out),
    ceil((i + 1) In / Out)), torch's adaptive bins; ``A @ v`` averages each bin."""
    a = np.zeros((n_out, n_in))
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        a[i, start:end] = 1.0 / (end - start)
    return xp.asarray(a, dtype=dtype)


class AdaptiveAvgPool2d(Function):
    """y = A_h x A_w^T per plane, where A_h, A_w average torch's adaptive bins (bins may overlap
    when In is not a multiple of Out). Linear, so dL/dx = A_h^T g_y A_w.

    With fast paths on (:func:`minigrad.fast_paths`) and In a multiple of Out, the bins are
    disjoint blocks and :mod:`minigrad.kernels.pooling` averages them by a reshape.
    """

    name = "adaptive_avg_pool2d"

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, x):
        xp = get_array_module(x)
        if x.ndim != 4:
            raise ValueError(f"adaptive_avg_pool2d: input x must be 4-D (N, C, H, W), got shape {x.shape}")
        size = self.output_size if isinstance(self.output_size, (tuple, list)) else (self.output_size,) * 2
        if len(size) != 2:
            raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {self.output_size!r}")
        out = tuple(x.shape[2 + a] if s is None else int(s) for a, s in enumerate(size))
        if min(out) < 1:
            raise ValueError(f"adaptive_avg_pool2d: output_size {self.output_size} must be >= 1")
        n, c, h, w = self.x_shape = x.shape
        (oh, ow) = out
        self.blocks = (h // oh, w // ow) if kernels.enabled() and h % oh == 0 and w % ow == 0 else None
        if self.blocks is not None:
            return fast.block_mean(x, self.blocks)
        self.a_h, self.a_w = _bin_matrix(h, oh, x.dtype, xp), _bin_matrix(w, ow, x.dtype, xp)
        return xp.matmul(xp.matmul(self.a_h, x), self.a_w.T)

    def backward(self, gy):
        xp = get_array_module(gy)
        if self.blocks is not None:
            return fast.block_mean_backward(gy, self.blocks)
        return xp.matmul(xp.matmul(self.a_h.T, gy), self.a_w)


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, return_indices=False):
    """Max pooling, torch semantics (``stride`` defaults to ``kernel_size``; padding is -inf).

    With ``return_indices=True`` returns (y, indices): indices (int64, same shape as y) is the
    flat position h * W + w of each window's maximum in its input plane, as torch returns it
    (for unpooling, or to route gradients). Ties go to the first maximum in row-major window
    order; so does the gradient.
    """
    function = MaxPool2d(kernel_size, stride, padding, ceil_mode, return_indices)
    if not return_indices:
        return function(x)
    y, indices = function(x)
    return y, indices.detach()


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Average pooling, torch semantics with count_include_pad=True."""
    return AvgPool2d(kernel_size, stride, padding, ceil_mode)(x)


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed ``output_size`` (int or (h, w); None keeps that axis) for any
    input size, with torch's bins [floor(i In / Out), ceil((i + 1) In / Out))."""
    return AdaptiveAvgPool2d(output_size)(x)
