"""Operations that move elements without changing them: reshape, transpose, flatten,
concat, stack, indexing, roll. Each backward puts the gradient back where the element
came from."""
from __future__ import annotations

import numpy as np

from backends import get_array_module
from minigrad.function import Function
from minigrad.tensor import Tensor  # defined before minigrad.tensor imports the functions
from minigrad.functional.reductions import normalize_axes


class Reshape(Function):
    """y = x viewed with another shape;  the gradient is reshaped back."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot view a tensor of shape {x.shape} ({x.size} elements) "
                             f"as {self.shape}") from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Transpose(Function):
    """y = x with its axes permuted;  the gradient is permuted by the inverse permutation."""

    def __init__(self, axes):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        axes = self.axes if self.axes is not None else tuple(reversed(range(x.ndim)))
        valid = (len(axes) == x.ndim and all(-x.ndim <= a < x.ndim for a in axes)
                 and len({a % x.ndim for a in axes}) == x.ndim)
        if not valid:
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes "
                             f"of a tensor of shape {x.shape}")
        self.axes = axes
        return x.transpose(axes)

    def backward(self, gy):
        return gy.transpose(tuple(np.argsort([a % gy.ndim for a in self.axes]).tolist()))


class Concat(Function):
    """y = concatenation of the inputs along ``axis``;  each input gets its slice of dL/dy."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(*xs)
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        bounds = np.cumsum(self.sizes)[:-1].tolist()
        return tuple(xp.split(gy, bounds, axis=self.axis))


class Stack(Function):
    """y = the inputs stacked along a new ``axis``;  each input gets its slice of dL/dy."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        return tuple(xp.take(gy, i, axis=self.axis) for i in range(gy.shape[self.axis]))


class GetItem(Function):
    """y = x[index] (basic or advanced indexing).

    The gradient is scattered back: zeros shaped like x with dL/dy added at ``index``.
    Repeated indices accumulate (``add.at``), as the chain rule requires. A basic index
    (integers, slices, ``...``, ``None``) selects every element at most once, so dL/dy is
    simply written into its place (``add.at`` would give the same, one element at a time).
    """

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.in_shape, dtype=self.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        elif xp.__name__ == "numpy":
            np.add.at(gx, self.index, gy)
        else:
            import cupyx
            cupyx.scatter_add(gx, self.index, gy)
        return gx


def _is_basic(index) -> bool:
    """Whether ``index`` is basic indexing: integers, slices, Ellipsis and None only."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) and not isinstance(p, bool)
               for p in parts)


class Roll(Function):
    """y = x shifted circularly by ``shift`` along ``axis``;  the gradient is rolled back."""

    def __init__(self, shift, axis):
        self.shift, self.axis = shift, axis

    def forward(self, x):
        return get_array_module(x).roll(x, self.shift, axis=self.axis)

    def backward(self, gy):
        shift = tuple(-s for s in self.shift) if isinstance(self.shift, (tuple, list)) else -self.shift
        return get_array_module(gy).roll(gy, shift, axis=self.axis)


def reshape(x, shape):
    """x with a new shape of the same size (one entry may be -1)."""
    return Reshape(shape)(x)


def transpose(x, axes=None):
    """x with axes permuted (reversed when ``axes`` is None)."""
    return Transpose(axes)(x)


def permute(x, *axes):
    """x with axes permuted, ``permute(x, 0, 2, 3, 1)``."""
    return Transpose(axes)(x)


def flatten(x, start_dim=1):
    """Merge the axes from ``start_dim`` on into one: (N, C, H, W) -> (N, C*H*W)."""
    return Reshape(tuple(x.shape[:start_dim]) + (-1,))(x)


def concat(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    _check_same_except(tensors, axis, "concat")
    return Concat(axis)(*tensors)


def stack(tensors, axis=0):
    """Join equally shaped tensors along a new axis."""
    tensors = list(tensors)
    shapes = {tuple(t.shape) for t in tensors}
    if tensors:
        normalize_axes(axis, tensors[0].ndim + 1, "stack")
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return Stack(axis)(*tensors)


def getitem(x, index):
    """x[index]; the gradient flows to the selected elements."""
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(x)


def roll(x, shift, axis):
    """Circular shift (``np.roll``); DeepDream's jitter."""
    if axis is not None:
        normalize_axes(axis, x.ndim, "roll")
    return Roll(shift, axis)(x)


def _check_same_except(tensors, axis, name):
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    ref = tensors[0].shape
    normalize_axes(axis, len(ref), name)
    for i, t in enumerate(tensors[1:], 1):
        if len(t.shape) != len(ref) or any(a != b for d, (a, b) in enumerate(zip(t.shape, ref))
                                             if d != axis % len(ref)):
            raise ValueError(f"{name}: tensor {i} has shape {tuple(t.shape)}, which does not match "
                             f"tensor 0's {tuple(ref)} outside axis {axis}")
