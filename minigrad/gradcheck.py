"""Finite-difference gradient checking.

For a function f of tensors that returns a tensor y, pick a random cotangent v (fixed by
``seed``) and compare, for every input element x_i,

    analytic:  d(v . y)/dx_i    from backward()
    numeric:   (v . f(x + eps e_i) - v . f(x - eps e_i)) / (2 eps)     (central difference)

in float64, where the central difference has error O(eps^2). An element passes when
|analytic - numeric| <= atol + rtol * |numeric|.

NaN and Inf never pass: a comparison with NaN is False, so an elementwise test such as
``excess > 0`` would let a NaN gradient through. The output of ``fn`` must be finite, and a
non-finite analytic or numeric element is a failure (the first one is named), whatever the
other elements are.
"""
from __future__ import annotations

import numpy as np

from minigrad.autograd_mode import no_grad
from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree; the message names the worst element."""


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4,
              seed: int = 0, raise_on_failure: bool = True) -> bool:
    """Check ``fn(*inputs)``'s backward against central finite differences.

    Parameters
    ----------
    fn : callable taking tensors, returning one tensor
    inputs : sequence of Tensor (float64; those with ``requires_grad=True`` are checked) or
        other values, passed through unchanged
    eps, atol, rtol : step and tolerances
    seed : seed of the random cotangent v

    Returns True when all elements pass; otherwise raises :class:`GradcheckError` naming the
    input, the worst element's index, and the analytic and numeric values (or returns False
    with ``raise_on_failure=False``).
    """
    inputs = list(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 "
                            "(create it with dtype='float64')")

    out = fn(*inputs)
    backend = out.backend
    if not _require_finite("output of fn", backend.to_numpy(out.data), raise_on_failure):
        return False
    v = backend.asarray(np.random.default_rng(seed).standard_normal(out.shape), dtype=out.dtype)
    for i in checked:
        inputs[i].grad = None
    out.backward(v)
    analytic = {i: (inputs[i].grad if inputs[i].grad is not None else backend.xp.zeros_like(inputs[i].data))
                for i in checked}

    def objective():
        with no_grad():
            return float((fn(*inputs).data * v).sum())

    worst = None
    for i in checked:
        data = inputs[i].data
        flat = data.reshape(-1)
        numeric = np.empty(flat.size)
        for k in range(flat.size):
            original = flat[k].item()
            flat[k] = original + eps
            plus = objective()
            flat[k] = original - eps
            minus = objective()
            flat[k] = original
            numeric[k] = (plus - minus) / (2 * eps)
        got = backend.to_numpy(analytic[i]).reshape(-1).astype(np.float64)
        bad = ~(np.isfinite(got) & np.isfinite(numeric))
        if bad.any():
            k = int(np.argmax(bad))
            return _fail(f"gradcheck failed for input {i} at index {_index(k, data.shape)}: analytic {got[k]:.10g}, "
                         f"numeric {numeric[k]:.10g} (non-finite gradient)", raise_on_failure)
        excess = np.abs(got - numeric) - (atol + rtol * np.abs(numeric))
        k = int(np.argmax(excess)) if excess.size else 0
        if excess.size and excess[k] > 0 and (worst is None or excess[k] > worst[0]):
            worst = (excess[k], i, k, got[k], numeric[k])

    if worst is None:
        return True
    _, i, k, a, n = worst
    return _fail(f"gradcheck failed for input {i} at index {_index(k, inputs[i].shape)}: "
                 f"analytic {a:.10g}, numeric {n:.10g} (|diff| {abs(a - n):.3g}, atol {atol}, rtol {rtol})",
                 raise_on_failure)


def _index(flat_index, shape) -> tuple:
    return tuple(int(j) for j in np.unravel_index(flat_index, shape))


def _fail(message, raise_on_failure) -> bool:
    if raise_on_failure:
        raise GradcheckError(message)
    return False


def _require_finite(what, array, raise_on_failure) -> bool:
    """Fail when ``array`` holds NaN or Inf, naming the first such element."""
    bad = ~np.isfinite(np.asarray(array))
    if not bad.any():
        return True
    k = int(np.argmax(bad.reshape(-1)))
    return _fail(f"gradcheck failed: the {what} is not finite at index {_index(k, bad.shape)} "
                 f"(value {np.asarray(array).reshape(-1)[k]}); gradients are only checked at points "
                 f"where the function is finite", raise_on_failure)
