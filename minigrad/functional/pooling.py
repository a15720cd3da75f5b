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
from minigrad.function import Function
from minigrad.functional.im2col import pad_zeros, pair
from minigrad.functional.parallel import parallel_over_channels

#: use the fast paths (max_pool2d's scatter backward; adaptive_avg_pool2d's reshape when the
#: sizes divide); False runs the reference versions
FAST_PATHS = True


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

    def crop(self, x_pad, x_shape):
        (ph, pw) = self.padding
        return x_pad[:, :, ph:ph + x_shape[2], pw:pw + x_shape[3]]


class MaxPool2d(Function):
    """y[n, c, h, w] = max over the window of x_pad (padding is -inf, so never chosen).

    Forward keeps a running maximum over the kernel offsets and the offset k = i kw + j where
    it was found. A later offset wins only when strictly larger, so among tied values the
    *first* in row-major window order is the argmax; a window holding NaN gives NaN with its
    last NaN as argmax (torch's rule).

    dL/dx is dL/dy routed to the argmax of each window (0 elsewhere); a pixel that is the
    argmax of several overlapping windows receives the sum. The reference backward adds, per
    offset k, ``where(argmax == k, g_y, 0)`` into the strided slice of offset k (kh*kw passes
    over g_y); the fast path turns the argmax into positions in the padded canvas and adds
    g_y there in one scatter (``add.at``, which sums repeated positions), up to 12x faster,
    or, when the windows do not overlap, assigns each offset's slice (:meth:`_route_disjoint`).
    Forward and the non-overlapping backward run split over channels on every core.
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
        best = xp.empty(x.shape[:2] + win.out, dtype=x.dtype)
        argmax = xp.empty(best.shape, dtype=np.min_scalar_type(win.kernel[0] * win.kernel[1] - 1))
        parallel_over_channels(self._running_max, x_pad, best, argmax)
        self.argmax, self.x_shape = argmax, x.shape
        if not self.return_indices:
            return best
        return best, self._flat_indices(xp)

    def _running_max(self, x_pad, best, argmax):
        """best, argmax = the maximum of each window of x_pad and its offset k, written in place.

        The offsets k come in increasing order, so "set argmax to k where v > best" is
        argmax = max(argmax, k [v > best]): two arithmetic passes instead of a masked copy
        (``copyto(..., where=)``, 6x slower on VGG-16's first pooling)."""
        xp = get_array_module(x_pad)
        win = self.windows
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
        gx_pad = win.canvas(self.x_shape, gy.dtype, xp)
        if FAST_PATHS and all(s >= k for s, k in zip(win.stride, win.kernel)):
            parallel_over_channels(self._route_disjoint, gx_pad, self.argmax, gy)
        elif FAST_PATHS:
            xp.add.at(gx_pad.reshape(-1), self._canvas_positions(gx_pad.shape, xp).reshape(-1), gy.reshape(-1))
        else:
            zero = gy.dtype.type(0)
            for k, i, j in win.offsets():
                win.view(gx_pad, i, j)[...] += xp.where(self.argmax == k, gy, zero)
        return win.crop(gx_pad, self.x_shape)

    def _route_disjoint(self, gx_pad, argmax, gy):
        """The backward when no two windows overlap (stride >= kernel, as in VGG and most
        nets): every canvas pixel belongs to at most one window, so offset k's slice is
        *assigned* g_y where argmax == k, with no scatter and no sum."""
        xp = get_array_module(gy)
        for k, i, j in self.windows.offsets():
            xp.multiply(gy, argmax == k, out=self.windows.view(gx_pad, i, j))

    def _canvas_positions(self, canvas_shape, xp):
        """Where each window's maximum lies in the flattened canvas (N, C, Hc, Wc):
        plane (n C + c) Hc Wc, plus row h s_h + i and column w s_w + j, for argmax k = i kw + j."""
        win = self.windows
        n, c, hc, wc = canvas_shape
        (sh, sw), (ho, wo) = win.stride, win.out
        offset = xp.asarray([i * wc + j for _, i, j in win.offsets()], dtype=np.int64)
        corner = (xp.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (hc * wc)
                  + (xp.arange(ho, dtype=np.int64) * (sh * wc)).reshape(ho, 1) + xp.arange(wo, dtype=np.int64) * sw)
        corner += offset[self.argmax]
        return corner


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

    When In is a multiple of Out the bins are disjoint blocks of k = In / Out pixels and
    y is a reshape-and-mean; dL/dx = g_y / (k_h k_w) repeated over each block.
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
        self.blocks = (h // oh, w // ow) if FAST_PATHS and h % oh == 0 and w % ow == 0 else None
        if self.blocks is not None:
            kh, kw = self.blocks
            return x.reshape(n, c, oh, kh, ow, kw).mean(axis=(3, 5))
        self.a_h, self.a_w = _bin_matrix(h, oh, x.dtype, xp), _bin_matrix(w, ow, x.dtype, xp)
        return xp.matmul(xp.matmul(self.a_h, x), self.a_w.T)

    def backward(self, gy):
        xp = get_array_module(gy)
        if self.blocks is not None:
            (kh, kw), (n, c, oh, ow) = self.blocks, gy.shape
            share = (gy * gy.dtype.type(1.0 / (kh * kw))).reshape(n, c, oh, 1, ow, 1)
            return xp.broadcast_to(share, (n, c, oh, kh, ow, kw)).reshape(self.x_shape)
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
