"""Loss functions: cross_entropy (a fused, stable log-softmax with negative log-likelihood)
and mse (mean squared error)."""
from __future__ import annotations

from backends import get_array_module
from minigrad.function import Function
from minigrad.tensor import Tensor  # defined before minigrad.tensor imports the functions

REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_element, reduction):
    if reduction == "none":
        return per_element
    total = per_element.sum()
    return total / per_element.dtype.type(per_element.size) if reduction == "mean" else total


def _reduction_scale(gy, reduction, count):
    """dL/d(per-element loss) as an array that broadcasts against the per-element losses."""
    if reduction == "none":
        return gy
    return gy / gy.dtype.type(count) if reduction == "mean" else gy


class CrossEntropy(Function):
    """loss_n = -log softmax(x_n)[t_n] = logsumexp(x_n) - x_n[t_n], for logits x (N, K) and
    integer labels t (N,), reduced by mean, sum or none.

    dloss_n/dx_n = softmax(x_n) - onehot(t_n). The log-softmax is computed once, with the
    row maximum subtracted so that exp never overflows.
    """

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, logits, target):
        xp = get_array_module(logits)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        rows = xp.arange(logits.shape[0])
        self.log_p, self.rows, self.target = log_p, rows, target
        return _reduce(-log_p[rows, target], self.reduction)

    def backward(self, gy):
        xp = get_array_module(gy)
        scale = _reduction_scale(gy, self.reduction, self.log_p.shape[0])
        gx = xp.exp(self.log_p)
        gx[self.rows, self.target] -= 1
        gx *= scale[:, None] if self.reduction == "none" else scale
        return gx, None


class MSE(Function):
    """loss = (a - b)^2 elementwise, reduced by mean, sum or none;
    dloss/da = 2 (a - b), dloss/db = -2 (a - b) (divided by the count for the mean)."""

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, a, b):
        self.diff = a - b
        return _reduce(self.diff * self.diff, self.reduction)

    def backward(self, gy):
        g = 2 * _reduction_scale(gy, self.reduction, self.diff.size) * self.diff
        return (g if self.needs_input_grad[0] else None), (-g if self.needs_input_grad[1] else None)


def _check_reduction(name, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction={reduction!r} is not one of {', '.join(REDUCTIONS)}")


def cross_entropy(logits, target, reduction="mean"):
    """Softmax cross-entropy of logits (N, K) against integer class labels ``target`` (N,).

    ``target`` may be a Tensor, a NumPy/CuPy array or a list of ints.
    """
    _check_reduction("cross_entropy", reduction)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, K), got {tuple(logits.shape)}")
    labels = target.data if isinstance(target, Tensor) else logits.backend.asarray(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold integer class labels, got dtype {labels.dtype}; "
                        "convert it with .astype('int64') (one-hot or probability targets are not supported)")
    n, k = logits.shape
    if labels.shape != (n,):
        raise ValueError(f"cross_entropy: target has shape {tuple(labels.shape)} but logits {tuple(logits.shape)} "
                         f"need one label per row, shape ({n},)")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= k):
        raise ValueError(f"cross_entropy: target labels must lie in [0, {k}), "
                         f"got values in [{int(labels.min())}, {int(labels.max())}]")
    return CrossEntropy(reduction)(logits, Tensor(labels))


def mse(a, b, reduction="mean"):
    """Mean squared error between equally shaped ``a`` and ``b`` (or summed, or per element)."""
    _check_reduction("mse", reduction)
    shape_a, shape_b = getattr(a, "shape", ()), getattr(b, "shape", ())
    if tuple(shape_a) != tuple(shape_b):
        raise ValueError(f"mse: a has shape {tuple(shape_a)} but b has shape {tuple(shape_b)}; "
                         "they must match (reshape one, or broadcast explicitly first)")
    return MSE(reduction)(a, b)
