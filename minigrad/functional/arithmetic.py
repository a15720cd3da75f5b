"""Elementwise arithmetic with NumPy broadcasting, and the matrix product.

For broadcast operands the backward sums the gradient back to each operand's shape
(:func:`~minigrad.function.sum_to`).
"""
from __future__ import annotations

from minigrad.function import Function, sum_to
from minigrad.tensor import Tensor  # defined before minigrad.tensor imports the functions


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):
        return sum_to(gy, self.shapes[0]), sum_to(gy, self.shapes[1])


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):
        return sum_to(gy, self.shapes[0]), sum_to(-gy, self.shapes[1])


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        ga = sum_to(gy * self.b, self.a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(gy * self.a, self.b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b^2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = sum_to(gy / self.b, self.a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-gy * self.a / (self.b * self.b), self.b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = -x;  dy/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = x^p for a constant exponent p;  dy/dx = p x^(p-1)."""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        self.x = x
        return x ** self.exponent

    def backward(self, gy):
        p = self.exponent
        return gy * p * self.x ** (p - 1)


class MatMul(Function):
    """Y = A @ B with NumPy's matmul broadcasting over leading (batch) axes.

    dL/dA = dL/dY @ B^T and dL/dB = A^T @ dL/dY, each then summed over the batch axes that
    broadcasting added. 1-D operands are treated as a row (A) or a column (B) vector.
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: operands must have at least one dimension; use * for scalars")
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            raise ValueError(f"matmul: the inner dimensions of a {a.shape} and b {b.shape} differ ({ka} != {kb})")
        batch_a, batch_b = a.shape[:-2], b.shape[:-2]
        if any(x != y and 1 not in (x, y) for x, y in zip(reversed(batch_a), reversed(batch_b))):
            raise ValueError(f"matmul: the batch dimensions {batch_a} of a {a.shape} and {batch_b} of b {b.shape} "
                             "cannot be broadcast together")
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        xp_a, xp_b = self.a, self.b
        a = xp_a[None, :] if xp_a.ndim == 1 else xp_a
        b = xp_b[:, None] if xp_b.ndim == 1 else xp_b
        if xp_a.ndim == 1:
            gy = gy[..., None, :] if xp_b.ndim > 1 else gy[..., None]
        if xp_b.ndim == 1:
            gy = gy[..., None]
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to(gy @ b.swapaxes(-1, -2), a.shape).reshape(xp_a.shape)
        if self.needs_input_grad[1]:
            gb = sum_to(a.swapaxes(-1, -2) @ gy, b.shape).reshape(xp_b.shape)
        return ga, gb


def _check_broadcast(name, a, b):
    sa = a.shape if isinstance(a, Tensor) else None
    sb = b.shape if isinstance(b, Tensor) else None
    if sa is None or sb is None:
        return
    for x, y in zip(reversed(sa), reversed(sb)):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"{name}: shapes {tuple(sa)} and {tuple(sb)} cannot be broadcast together")


def add(a, b):
    """a + b (broadcasting)."""
    _check_broadcast("add", a, b)
    return Add()(a, b)


def sub(a, b):
    """a - b (broadcasting)."""
    _check_broadcast("sub", a, b)
    return Sub()(a, b)


def mul(a, b):
    """a * b elementwise (broadcasting)."""
    _check_broadcast("mul", a, b)
    return Mul()(a, b)


def div(a, b):
    """a / b elementwise (broadcasting)."""
    _check_broadcast("div", a, b)
    return Div()(a, b)


def neg(x):
    """-x."""
    return Neg()(x)


def pow(x, exponent):
    """x ** exponent, for a constant (non-tensor) exponent."""
    if isinstance(exponent, Tensor):
        raise TypeError("pow: the exponent must be a Python number, not a Tensor")
    return Pow(_python_number(exponent))(x)


def _python_number(value):
    """A NumPy scalar as a Python number, so that it does not promote float32 data to float64."""
    return value.item() if hasattr(value, "item") else value


def matmul(a, b):
    """Matrix product a @ b (NumPy semantics, batch axes broadcast)."""
    return MatMul()(a, b)
