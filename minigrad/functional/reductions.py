"""Reductions: sum, mean, max over axes."""
from __future__ import annotations

from backends import get_array_module
from minigrad.function import Function


def normalize_axes(axis, ndim, name):
    """``axis`` (None for all, an int or a sequence) as sorted non-negative axes; a clear
    ValueError naming ``name`` when one is out of range. A 0-d tensor accepts axis 0 and -1
    (as torch does) and has nothing to reduce."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -(ndim or 1) <= a < (ndim or 1):
            raise ValueError(f"{name}: axis {a} is out of range for a tensor with {ndim} dimensions "
                             f"(valid: {-ndim} to {ndim - 1})")
        if ndim:
            out.append(a % ndim)
    return tuple(sorted(set(out)))


def _expand(gy, axes, keepdims):
    """Give ``gy`` back the reduced axes (as size 1) so it broadcasts against the input."""
    if not keepdims:
        for a in axes:
            gy = gy.reshape(gy.shape[:a] + (1,) + gy.shape[a:])
    return gy


class Sum(Function):
    """y = sum over axes of x;  dy/dx = 1 (the gradient is broadcast back)."""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        self.axes = normalize_axes(self.axis, x.ndim, "sum")
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return _broadcast(_expand(gy, self.axes, self.keepdims), self.shape)


class Mean(Function):
    """y = mean over axes of x;  dy/dx = 1/N where N is the number of averaged elements."""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        self.axes = normalize_axes(self.axis, x.ndim, "mean")
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        g = _expand(gy, self.axes, self.keepdims) / gy.dtype.type(self.count)
        return _broadcast(g, self.shape)


class Max(Function):
    """y = max over axes of x.

    dy/dx is 1 at the maximum and 0 elsewhere. Ties share the gradient evenly: each of k
    equal maxima receives 1/k, the subgradient that keeps the total equal to dL/dy.
    """

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        self.axes = normalize_axes(self.axis, x.ndim, "max")
        self.y = x.max(axis=self.axes, keepdims=True)
        return self.y if self.keepdims else self.y.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in self.axes))

    def backward(self, gy):
        mask = (self.x == self.y)
        count = mask.sum(axis=self.axes, keepdims=True)
        g = _expand(gy, self.axes, self.keepdims)
        return mask * (g / count.astype(g.dtype))


def _broadcast(g, shape):
    """``g`` stretched to ``shape`` as a writable array."""
    return get_array_module(g).broadcast_to(g, shape).copy()


def sum(x, axis=None, keepdims=False):
    """Sum of the elements over ``axis`` (all axes by default)."""
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean of the elements over ``axis`` (all axes by default)."""
    return Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis`` (all axes by default); ties split the gradient evenly."""
    return Max(axis, keepdims)(x)
