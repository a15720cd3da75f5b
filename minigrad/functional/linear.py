"""The fully connected layer."""
from __future__ import annotations

from backends import get_array_module
from minigrad import kernels
from minigrad.function import Function


class Linear(Function):
    """y = x W^T + b for x of shape (N, in), W of shape (out, in), b of shape (out,).

    dL/dx = g W,   dL/dW = g^T x,   dL/db = sum over the batch of g.

    With fast paths on (:func:`minigrad.fast_paths`) the forward product is computed as
    (W x^T)^T: the same numbers, but OpenBLAS's SGEMM is faster with the long weight axis as
    the product's rows than as its columns when the batch is small.
    """

    def forward(self, x, weight, bias):
        if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape} "
                             f"(expected input (N, {weight.shape[1] if weight.ndim == 2 else '?'}))")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},)")
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        if kernels.enabled():
            y = get_array_module(x).ascontiguousarray((weight @ x.T).T)
        else:
            y = x @ weight.T
        if bias is not None:
            y += bias
        return y

    def backward(self, gy):
        gx = gy @ self.weight if self.needs_input_grad[0] else None
        gw = gy.T @ self.x if self.needs_input_grad[1] else None
        gb = gy.sum(axis=0) if self.has_bias and self.needs_input_grad[2] else None
        return gx, gw, gb


def linear(x, weight, bias=None):
    """Affine map of a batch of vectors: x @ weight.T + bias."""
    return Linear()(x, weight, bias)
