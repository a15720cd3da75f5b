"""exp, log, sqrt, abs, tanh, sigmoid, clip: finite differences, torch comparisons, and
the behaviour at the kinks (abs at 0, clip at its bounds)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from minigrad import functional as F
from op_checks import DTYPES, FEW, FEWER, check_grad, compare_with_torch, host, randn, seeds, tensor

# name: (minigrad function, torch function name, whether the input must be positive)
UNARY = {"exp": (F.exp, "exp", False), "log": (F.log, "log", True), "sqrt": (F.sqrt, "sqrt", True),
         "abs": (F.abs, "abs", False), "tanh": (F.tanh, "tanh", False), "sigmoid": (F.sigmoid, "sigmoid", False)}
shapes = array_shapes(min_dims=0, max_dims=3, max_side=3)


def _input(seed, shape, positive):
    x = randn(seed, shape, away_from_zero=True)  # away from abs's kink
    return np.abs(x) if positive else x


@pytest.mark.parametrize("name", sorted(UNARY))
@FEW
@given(shape=shapes, seed=seeds)
def test_unary_gradcheck(name, shape, seed):
    fn, _, positive = UNARY[name]
    check_grad(fn, _input(seed, shape, positive))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
@FEWER
@given(shape=shapes, seed=seeds)
def test_unary_matches_torch(torch, dtype, name, shape, seed):
    fn, torch_name, positive = UNARY[name]
    compare_with_torch(torch, fn, getattr(torch, torch_name), [_input(seed, shape, positive)], dtype, seed)


@st.composite
def clip_bounds(draw):
    low = draw(st.one_of(st.none(), st.floats(-1.5, 0.5)))
    high = draw(st.one_of(st.none(), st.floats(-0.5, 1.5))) if low is not None else draw(st.floats(-0.5, 1.5))
    if low is not None and high is not None and high < low:
        low, high = high, low
    return low, high


def _away_from_bounds(x, bounds, gap=1e-3):
    for bound in bounds:
        if bound is not None:
            x = np.where(np.abs(x - bound) < gap, bound + 2 * gap, x)
    return x


@FEW
@given(shape=shapes, seed=seeds, bounds=clip_bounds())
def test_clip_gradcheck(shape, seed, bounds):
    x = _away_from_bounds(randn(seed, shape), bounds)
    check_grad(lambda t: F.clip(t, *bounds), x)


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(shape=shapes, seed=seeds, bounds=clip_bounds())
def test_clip_matches_torch(torch, dtype, shape, seed, bounds):
    x = _away_from_bounds(randn(seed, shape), bounds)
    compare_with_torch(torch, lambda t: F.clip(t, *bounds), lambda t: torch.clamp(t, *bounds), [x], dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kinks_match_torch(torch, dtype):
    """abs at 0 has gradient 0; clip passes the gradient at exactly low and high (torch.clamp)."""
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    compare_with_torch(torch, F.abs, torch.abs, [x], dtype)
    compare_with_torch(torch, lambda t: F.clip(t, -0.5, 1.0), lambda t: torch.clamp(t, -0.5, 1.0), [x], dtype)


def test_sigmoid_is_stable_for_large_inputs():
    x = tensor(np.array([-1000.0, 0.0, 1000.0], dtype=np.float32), requires_grad=True)
    y = F.sigmoid(x)
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.5, 1.0])
    y.sum().backward()
    assert np.isfinite(host(x.grad)).all() and y.dtype == np.float32


def test_sigmoid_of_integers_is_float():
    np.testing.assert_allclose(F.sigmoid(tensor(np.array([0, 2]))).numpy(), [0.5, 1 / (1 + np.exp(-2))])


def test_clip_keeps_float32_with_numpy_bounds():
    assert F.clip(tensor(np.ones(2, dtype=np.float32)), np.float64(0.0), np.float64(0.5)).dtype == np.float32


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="clip: give low, high or both"):
        F.clip(tensor(np.ones(2)))
