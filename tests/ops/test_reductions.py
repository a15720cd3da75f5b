"""sum, mean, max: finite differences over axes and keepdims, ties in max split evenly,
torch comparisons, and bad axes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from minigrad import functional as F
from op_checks import DTYPES, FEW, FEWER, check_grad, compare_with_torch, host, randn, seeds, tensor

REDUCTIONS = {"sum": F.sum, "mean": F.mean, "max": F.max}


@st.composite
def shape_and_axes(draw):
    """A shape and an axis argument: None, one int (maybe negative) or a tuple of axes."""
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=3))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return shape, None
    axes = draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                         unique_by=lambda a: a % ndim))
    return shape, axes[0] if kind == "int" else tuple(axes)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@FEW
@given(case=shape_and_axes(), keepdims=st.booleans(), seed=seeds)
def test_reduction_gradcheck(name, case, keepdims, seed):
    shape, axis = case
    x = randn(seed, shape)  # continuous values: no ties
    check_grad(lambda t: REDUCTIONS[name](t, axis=axis, keepdims=keepdims), x)


def _torch_reduction(torch, name, axis, keepdims):
    def fn(t):
        dims = tuple(range(t.ndim)) if axis is None else axis
        if name == "max":
            return torch.amax(t, dim=dims, keepdim=keepdims)
        return getattr(torch, name)(t, dim=dims, keepdim=keepdims)
    return fn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@FEWER
@given(case=shape_and_axes(), keepdims=st.booleans(), seed=seeds)
def test_reduction_matches_torch(torch, dtype, name, case, keepdims, seed):
    shape, axis = case
    x = randn(seed, shape)
    compare_with_torch(torch, lambda t: REDUCTIONS[name](t, axis=axis, keepdims=keepdims),
                       _torch_reduction(torch, name, axis, keepdims), [x], dtype, seed,
                       multilinear=name != "max")


def test_max_ties_split_the_gradient_evenly():
    x = tensor(np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]]), requires_grad=True)
    F.max(x, axis=1).backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(host(x.grad), [[0, 0.5, 0.5, 0], [0.5, 0.5, 0.5, 0.5]])
    x.grad = None
    F.max(x).backward()  # the global maximum 3 appears twice
    np.testing.assert_array_equal(host(x.grad), [[0, 0.5, 0.5, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_ties_match_torch_amax(torch, dtype):
    """torch.amax also splits the gradient evenly among equal maxima."""
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, -1.0, 5.0, 5.0]])
    compare_with_torch(torch, lambda t: F.max(t, axis=1), lambda t: torch.amax(t, dim=1), [x], dtype)
    compare_with_torch(torch, lambda t: F.max(t, axis=(0, 1)), lambda t: torch.amax(t, dim=(0, 1)), [x], dtype)


def test_tensor_methods_reduce_the_same_way():
    x = randn(4, (2, 3, 2))
    check_grad(lambda t: t.sum(axis=(0, 2)) + t.mean(axis=-1).sum(axis=0) * t.max(axis=1, keepdims=True)
               .sum(axis=(1, 2)).mean(), x)


def test_mean_keeps_float32():
    assert F.mean(tensor(np.ones((2, 3), dtype=np.float32)), axis=1).dtype == np.float32


def test_zero_dim_tensor_reduces_over_axis_zero():
    x = tensor(np.array(2.0), requires_grad=True)
    F.sum(x, axis=0).backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_bad_axis_raises(name):
    x = tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{name}: axis 2 is out of range for a tensor with 2 dimensions"):
        REDUCTIONS[name](x, axis=2)
    with pytest.raises(ValueError, match=rf"{name}: axis -3 is out of range"):
        REDUCTIONS[name](x, axis=(0, -3))
