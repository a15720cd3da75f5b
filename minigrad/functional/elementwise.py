"""Elementwise mathematical functions: exp, log, sqrt, abs, tanh, sigmoid, clip."""
from __future__ import annotations

from backends import get_array_module
from minigrad.function import Function
from minigrad.functional.arithmetic import _python_number


class Exp(Function):
    """y = e^x;  dy/dx = e^x = y."""

    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x))."""

    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0, the subgradient of smallest norm)."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, gy):
        return gy * get_array_module(gy).sign(self.x)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y^2."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y). Computed as 0.5 tanh(x/2) + 0.5, which does
    not overflow for large |x|."""

    def forward(self, x):
        xp = get_array_module(x)
        self.y = xp.tanh(x * 0.5) * 0.5 + 0.5
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class Clip(Function):
    """y = min(max(x, low), high);  dy/dx = 1 inside [low, high], 0 outside."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        xp = get_array_module(x)
        self.inside = xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            self.inside &= x >= self.low
        if self.high is not None:
            self.inside &= x <= self.high
        return xp.clip(x, self.low, self.high)

    def backward(self, gy):
        return gy * self.inside


def exp(x):
    """e^x elementwise."""
    return Exp()(x)


def log(x):
    """Natural logarithm elementwise."""
    return Log()(x)


def sqrt(x):
    """Square root elementwise."""
    return Sqrt()(x)


def abs(x):
    """Absolute value elementwise."""
    return Abs()(x)


def tanh(x):
    """Hyperbolic tangent elementwise."""
    return Tanh()(x)


def sigmoid(x):
    """Logistic sigmoid elementwise."""
    return Sigmoid()(x)


def clip(x, low=None, high=None):
    """Clamp to [low, high] (either bound may be None)."""
    if low is None and high is None:
        raise ValueError("clip: give low, high or both")
    return Clip(_python_number(low), _python_number(high))(x)
