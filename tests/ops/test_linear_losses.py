"""linear, cross_entropy, mse: finite differences, torch comparisons, input errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import functional as F
from op_checks import DTYPES, FEW, FEWER, check_grad, compare_with_torch, host, randn, seeds, tensor

sides = st.integers(1, 4)
reductions = st.sampled_from(["mean", "sum", "none"])


@FEW
@given(n=sides, i=sides, o=sides, bias=st.booleans(), seed=seeds)
def test_linear_gradcheck(n, i, o, bias, seed):
    arrays = randn(seed, (n, i), (o, i), (o,))
    if bias:
        check_grad(F.linear, *arrays)
    else:
        check_grad(F.linear, *arrays[:2])


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(n=sides, i=sides, o=sides, seed=seeds)
def test_linear_matches_torch(torch, dtype, n, i, o, seed):
    arrays = randn(seed, (n, i), (o, i), (o,))
    compare_with_torch(torch, F.linear, torch.nn.functional.linear, arrays, dtype, seed, multilinear=True)
    compare_with_torch(torch, F.linear, torch.nn.functional.linear, arrays[:2], dtype, seed, multilinear=True)


def _logits_and_labels(seed, n, k):
    logits = 3 * randn(seed, (n, k))
    return logits, np.random.default_rng(seed).integers(0, k, size=n)


@FEW
@given(n=sides, k=st.integers(1, 5), reduction=reductions, seed=seeds)
def test_cross_entropy_gradcheck(n, k, reduction, seed):
    logits, labels = _logits_and_labels(seed, n, k)
    check_grad(lambda t: F.cross_entropy(t, labels, reduction=reduction), logits)


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(n=sides, k=st.integers(1, 5), reduction=reductions, seed=seeds)
def test_cross_entropy_matches_torch(torch, dtype, n, k, reduction, seed):
    logits, labels = _logits_and_labels(seed, n, k)
    compare_with_torch(torch, lambda t, y: F.cross_entropy(t, y, reduction=reduction),
                       lambda t, y: torch.nn.functional.cross_entropy(t, y, reduction=reduction),
                       [logits, labels], dtype, seed,
                       grad_scale=1 / n if reduction == "mean" else 1.0)  # softmax - onehot: terms up to 1


def test_cross_entropy_is_stable_and_accepts_tensor_labels():
    logits = tensor(np.array([[1000.0, 0.0], [0.0, 1000.0]], dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, tensor(np.array([1, 1])))
    assert loss.dtype == np.float32 and np.isclose(loss.item(), 500.0)
    loss.backward()
    np.testing.assert_allclose(host(logits.grad), [[0.5, -0.5], [0, 0]], atol=1e-7)


@FEW
@given(shape=st.lists(sides, min_size=0, max_size=3), reduction=reductions, seed=seeds)
def test_mse_gradcheck(shape, reduction, seed):
    a, b = randn(seed, tuple(shape), tuple(shape))
    check_grad(lambda x, y: F.mse(x, y, reduction=reduction), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(shape=st.lists(sides, min_size=1, max_size=3), reduction=reductions, seed=seeds)
def test_mse_matches_torch(torch, dtype, shape, reduction, seed):
    a, b = randn(seed, tuple(shape), tuple(shape))
    compare_with_torch(torch, lambda x, y: F.mse(x, y, reduction=reduction),
                       lambda x, y: torch.nn.functional.mse_loss(x, y, reduction=reduction), [a, b], dtype, seed)


def test_mse_against_a_constant_target_has_no_target_gradient():
    a = tensor(np.array([1.0, 3.0]), requires_grad=True)
    b = tensor(np.array([0.0, 0.0]))
    F.mse(a, b).backward()
    np.testing.assert_allclose(host(a.grad), [1.0, 3.0])
    assert b.grad is None


def test_loss_and_linear_errors():
    logits = tensor(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer class labels, got dtype float64"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: target has shape \(2,\) but logits \(3, 4\)"):
        F.cross_entropy(logits, [0, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: target labels must lie in \[0, 4\)"):
        F.cross_entropy(logits, [0, 4, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: logits must have shape \(N, K\)"):
        F.cross_entropy(tensor(np.zeros(4)), [0])
    with pytest.raises(ValueError, match="cross_entropy: reduction='avg' is not one of"):
        F.cross_entropy(logits, [0, 1, 2], reduction="avg")
    with pytest.raises(ValueError, match=r"mse: a has shape \(3, 4\) but b has shape \(4,\)"):
        F.mse(logits, tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"linear: input of shape \(3, 4\) does not fit weight of shape \(2, 5\)"):
        F.linear(logits, tensor(np.zeros((2, 5))))
    with pytest.raises(ValueError, match=r"linear: bias has shape \(3,\), expected \(2,\)"):
        F.linear(logits, tensor(np.zeros((2, 4))), tensor(np.zeros(3)))
