"""Shared checks for the tests of every function in minigrad.functional (imported by the test modules
in this folder; pytest puts the folder on sys.path because it has no __init__.py).

* :func:`check_grad`: float64 central finite differences (:func:`minigrad.gradcheck`).
* :func:`compare_with_torch`: the same inputs through minigrad and torch, forward and
  backward (with one random cotangent), in float64 (1e-10) or float32 (1e-5). "Relative"
  means max |ours - torch| <= rtol * max |torch| over the whole array, which is robust to
  elements that happen to be near zero.
* :func:`tensor`, :func:`backend_array`, :func:`host`: tensors and arrays on the backend the
  suite runs on (``MINIGRAD_BACKEND``, so a CuPy run checks the CuPy code paths), and arrays
  back on the host for NumPy's assertions.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import backends
import minigrad as mg
from minigrad.gradcheck import gradcheck

#: hypothesis settings of every test here: few, tiny examples (the suite runs on 2 busy cores)
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RTOL = {"float64": 1e-10, "float32": 1e-5}
DTYPES = ("float64", "float32")
seeds = st.integers(0, 2**32 - 1)


def randn(seed, *shapes, away_from_zero=False):
    """Standard normal float64 arrays of ``shapes``; with ``away_from_zero`` |values| >= 0.5."""
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        a = rng.standard_normal(shape)
        if away_from_zero:
            a = np.sign(a + (a == 0)) * (0.5 + np.abs(a))
        out.append(a)
    return out if len(out) > 1 else out[0]


def tensor(data, requires_grad=False):
    """``data`` as a tensor on the backend the suite runs on (``backends.current()``)."""
    return mg.Tensor(data, requires_grad=requires_grad, backend=backends.current())


def backend_array(array):
    """A copy of ``array`` on the backend the suite runs on, as a raw array (batch_norm's
    running statistics)."""
    return backends.current().xp.array(array)


def host(array):
    """A tensor or a NumPy/CuPy array as a NumPy array."""
    if isinstance(array, mg.Tensor):
        return array.numpy()
    return backends.backend_of(array).to_numpy(array)


def check_grad(fn, *arrays, **tolerances):
    """Finite-difference check of ``fn`` at float64 copies of ``arrays`` (all differentiated)."""
    inputs = [tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert gradcheck(fn, inputs, **tolerances)


def assert_close(got, want, rtol, what, floor=0.0):
    """max |got - want| <= rtol * max(max |want|, floor)."""
    got, want = host(got).astype(np.float64), host(want).astype(np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    scale = np.abs(want).max(initial=floor)
    error = np.abs(got - want).max(initial=0.0)
    assert error <= rtol * max(scale, 1e-30), (
        f"{what}: max |diff| {error:.3g} exceeds {rtol:g} * max |torch| {scale:.3g}")


def compare_with_torch(torch, fn, torch_fn, arrays, dtype, seed=0, grad=None, grad_scale=0.0, multilinear=False):
    """Run ``fn`` on minigrad tensors and ``torch_fn`` on torch tensors made from the same
    ``arrays`` cast to ``dtype`` (integer arrays are passed unchanged and not differentiated),
    then compare the outputs and the input gradients for one random cotangent.

    ``grad``: which inputs to differentiate (default: every float array).
    ``grad_scale``: the size of the terms a gradient is computed from, in units of the
    largest cotangent element; gradients are compared relative to at least that (for
    ill-conditioned gradients, which are small differences of large terms).
    ``multilinear``: for sums and products (sum, mean, matmul, linear) the rounding error of
    a result is bounded by eps times the same function of the absolute values, which can
    be much larger than the result; compare relative to that.
    """
    rtol = RTOL[dtype]
    arrays = [np.asarray(a) for a in arrays]
    grad = [a.dtype.kind == "f" for a in arrays] if grad is None else grad
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    ours = [tensor(a.copy(), requires_grad=g) for a, g in zip(arrays, grad)]
    theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    y, yt = fn(*ours), torch_fn(*theirs)
    assert y.dtype == np.dtype(dtype), f"output dtype {y.dtype}, expected {dtype}"
    v = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
    out_floor, grad_floors = _absolute_scales(torch, torch_fn, arrays, grad, v) if multilinear else (0.0, None)
    assert_close(y.numpy(), yt.detach().numpy(), rtol, "forward", floor=out_floor)
    if not any(grad):
        return
    y.backward(v)
    yt.backward(torch.tensor(v))
    for i, (t, tt, g) in enumerate(zip(ours, theirs, grad)):
        if g:
            assert t.grad is not None, f"input {i} got no gradient"
            assert t.grad.dtype == np.dtype(dtype), f"input {i} gradient is {t.grad.dtype}"
            floor = grad_scale * np.abs(v).max(initial=0.0) if grad_floors is None else grad_floors[i]
            assert_close(t.grad, tt.grad.numpy(), rtol, f"gradient of input {i}", floor=floor)


def _absolute_scales(torch, torch_fn, arrays, grad, v):
    """max |f(|inputs|)| and the max |gradients| of f at |inputs| for the cotangent |v|."""
    absolute = [torch.tensor(np.abs(a).astype(np.float64), requires_grad=g) for a, g in zip(arrays, grad)]
    y = torch_fn(*absolute)
    if any(grad):
        y.backward(torch.tensor(np.abs(v).astype(np.float64)))
    return (float(y.detach().abs().max()),
            [float(t.grad.abs().max()) if g and t.grad is not None else 0.0 for t, g in zip(absolute, grad)])
