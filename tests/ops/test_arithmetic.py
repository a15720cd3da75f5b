"""add, sub, mul, div, neg, pow, matmul: finite differences over broadcasting shapes, torch
comparisons, and the errors for shapes that do not fit."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from minigrad import functional as F
from op_checks import DTYPES, FEW, FEWER, check_grad, compare_with_torch, randn, seeds, tensor

BINARY = {"add": (F.add, lambda a, b: a + b), "sub": (F.sub, lambda a, b: a - b),
          "mul": (F.mul, lambda a, b: a * b), "div": (F.div, lambda a, b: a / b)}
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
# matmul with 1-D operands (m? and p? may vanish) and broadcast batch axes
matmul_pairs = mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)", max_dims=2, max_side=3)


@pytest.mark.parametrize("name", sorted(BINARY))
@FEW
@given(shapes=pairs, seed=seeds)
def test_binary_gradcheck_broadcasting(name, shapes, seed):
    a, b = randn(seed, *shapes.input_shapes, away_from_zero=True)
    check_grad(BINARY[name][0], a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_python_numbers(name):
    fn = BINARY[name][0]
    x = randn(1, (2, 3), away_from_zero=True)
    check_grad(lambda t: fn(t, 2.5), x)
    check_grad(lambda t: fn(-1.5, t), x)
    assert fn(tensor(x.astype(np.float32)), 2.5).dtype == np.float32


def test_operators_build_the_same_graph():
    a, b = randn(2, (3,), (2, 3), away_from_zero=True)
    check_grad(lambda x, y: (2.0 - x) * y / (x + 1.0) - (-y) ** 2, a, b)


@FEW
@given(shape=st.lists(st.integers(1, 3), max_size=3), seed=seeds,
       exponent=st.sampled_from([2, 3, -1, 0.5, -1.5, 2.7]))
def test_pow_and_neg_gradcheck(shape, seed, exponent):
    x = randn(seed, tuple(shape), away_from_zero=True)
    if not float(exponent).is_integer():
        x = np.abs(x)
    check_grad(lambda t: F.pow(t, exponent), x)
    check_grad(F.neg, x)


@FEW
@given(shapes=matmul_pairs, seed=seeds)
def test_matmul_gradcheck(shapes, seed):
    a, b = randn(seed, *shapes.input_shapes)
    check_grad(F.matmul, a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
@FEWER
@given(shapes=pairs, seed=seeds)
def test_binary_matches_torch(torch, dtype, name, shapes, seed):
    a, b = randn(seed, *shapes.input_shapes, away_from_zero=True)
    ours, theirs = BINARY[name]
    compare_with_torch(torch, ours, theirs, [a, b], dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(shapes=matmul_pairs, seed=seeds)
def test_matmul_matches_torch(torch, dtype, shapes, seed):
    a, b = randn(seed, *shapes.input_shapes)
    compare_with_torch(torch, F.matmul, torch.matmul, [a, b], dtype, seed, multilinear=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exponent", [2, -1, 0.5, 2.7])
def test_pow_and_neg_match_torch(torch, dtype, exponent):
    x = np.abs(randn(3, (3, 4), away_from_zero=True))
    compare_with_torch(torch, lambda t: F.pow(t, exponent), lambda t: t ** exponent, [x], dtype)
    compare_with_torch(torch, F.neg, torch.neg, [x], dtype)


def test_numpy_scalar_exponent_keeps_float32():
    x = tensor(np.ones(3, dtype=np.float32))
    assert F.pow(x, np.float64(2.0)).dtype == np.float32


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_shape_mismatch_raises(name):
    a, b = tensor(np.ones((2, 3))), tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        BINARY[name][0](a, b)


def test_matmul_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: the inner dimensions of a \(2, 3\) and b \(4, 5\) differ"):
        F.matmul(tensor(np.ones((2, 3))), tensor(np.ones((4, 5))))
    with pytest.raises(ValueError, match=r"matmul: the batch dimensions \(2,\) .* and \(3,\) .*cannot be broadcast"):
        F.matmul(tensor(np.ones((2, 3, 4))), tensor(np.ones((3, 4, 5))))
    with pytest.raises(ValueError, match="matmul: operands must have at least one dimension"):
        F.matmul(tensor(np.ones(3)), tensor(np.float64(2.0)))


def test_pow_refuses_a_tensor_exponent():
    x = tensor(np.ones(2))
    with pytest.raises(TypeError, match="pow: the exponent must be a Python number"):
        F.pow(x, x)
