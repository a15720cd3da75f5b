"""Activation functions: relu (with the guided and deconvnet backward modes), leaky_relu,
softmax and log_softmax."""
from __future__ import annotations

import contextlib

from backends import get_array_module
from minigrad.function import Function
from minigrad.functional.reductions import normalize_axes
from minigrad.kernels.parallel import parallel_over_channels

RELU_MODES = ("normal", "guided", "deconvnet")
_relu_mode = "normal"


def relu_mode(mode: str):
    """Choose how every ReLU passes gradients backward inside the block.

    With ``x`` the ReLU's input and ``g`` the gradient arriving from above:

    * ``normal``     g * [x > 0]                  (the true derivative)
    * ``guided``     g * [x > 0] * [g > 0]        (Springenberg et al. 2015, guided backprop)
    * ``deconvnet``  g * [g > 0]                  (Zeiler & Fergus 2014, the deconvnet)

    The mode is read when backward runs, so the same network serves all three: no copy of
    the model is needed. ``with relu_mode("guided"): score.backward()``. An unknown mode
    fails here, when called, not later at ``with``.
    """
    if mode not in RELU_MODES:
        raise ValueError(f"relu_mode: unknown mode {mode!r}; choose one of {', '.join(RELU_MODES)}")
    return _relu_mode_block(mode)


@contextlib.contextmanager
def _relu_mode_block(mode: str):
    global _relu_mode
    previous, _relu_mode = _relu_mode, mode
    try:
        yield
    finally:
        _relu_mode = previous


def current_relu_mode() -> str:
    """The ReLU backward mode in force ("normal" outside any :func:`relu_mode` block)."""
    return _relu_mode


class ReLU(Function):
    """y = max(x, 0);  dy/dx = [x > 0] = [y > 0] (with the backward modes of :func:`relu_mode`).

    Backward reads the mask off the saved *output* y rather than a mask saved in forward:
    the next layer (a convolution, a pooling) keeps y for its own backward anyway, so this
    costs no extra memory. Both passes are elementwise; with fast paths on
    (:func:`minigrad.fast_paths`) they run split over channels on every core
    (:func:`~minigrad.kernels.parallel.parallel_over_channels`), else as one call.
    """

    def __init__(self, inplace=False):
        self.inplace = inplace

    def forward(self, x):
        self.y = x if self.inplace else get_array_module(x).empty_like(x)
        parallel_over_channels(relu_into, x, self.y)
        return self.y

    def backward(self, gy):
        gx = get_array_module(gy).empty_like(gy)
        parallel_over_channels(relu_gradient_into, gy, self.y, gx)
        return gx


def relu_into(x, y):
    """y = maximum(x, 0), written into y (NaN stays NaN)."""
    get_array_module(x).maximum(x, x.dtype.type(0), out=y)


def relu_gradient_into(gy, y, gx):
    """gx = the ReLU gradient of :func:`relu_mode`'s current mode, written into gx."""
    xp = get_array_module(gy)
    if _relu_mode == "normal":
        xp.multiply(gy, y > 0, out=gx)
    elif _relu_mode == "guided":
        xp.multiply(gy, (y > 0) & (gy > 0), out=gx)
    else:
        xp.multiply(gy, gy > 0, out=gx)


class LeakyReLU(Function):
    """y = x for x > 0, slope * x otherwise;  dy/dx = 1 or slope."""

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        xp = get_array_module(x)
        self.factor = xp.where(x > 0, 1, self.slope).astype(x.dtype)
        return x * self.factor

    def backward(self, gy):
        return gy * self.factor


class Softmax(Function):
    """y_i = e^{x_i} / sum_j e^{x_j} along ``axis``;  dL/dx = y * (g - sum(g * y)).

    The maximum is subtracted first so that exp never overflows.
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``axis``;  dL/dx = g - softmax(x) * sum(g)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        self.y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.y

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


def relu(x, inplace=False):
    """max(x, 0); its backward follows :func:`relu_mode`.

    ``inplace=True`` writes the result over x's array (saving its memory), as torch's
    ``inplace``: only for an x that nothing else reads afterwards, e.g. the output of a
    convolution or linear layer (whose backward does not need it) inside a chain; a leaf
    tensor that requires a gradient is refused."""
    if inplace and x.requires_grad and x.creator is None:
        raise ValueError("relu: inplace=True would overwrite a leaf tensor that requires a gradient; "
                         "use relu(x) (inplace=False)")
    return ReLU(inplace)(x)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise."""
    return LeakyReLU(negative_slope)(x)


def softmax(x, axis=-1):
    """Normalized exponentials along ``axis``."""
    return Softmax(_one_axis(x, axis, "softmax"))(x)


def log_softmax(x, axis=-1):
    """log(softmax(x)), computed stably."""
    return LogSoftmax(_one_axis(x, axis, "log_softmax"))(x)


def _one_axis(x, axis, name):
    if not isinstance(axis, int) or x.ndim == 0:
        raise ValueError(f"{name}: needs one int axis of a tensor with at least one dimension, "
                         f"got axis={axis!r} for shape {tuple(x.shape)}")
    return normalize_axes(axis, x.ndim, name)[0]
