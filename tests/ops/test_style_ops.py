"""gram_matrix and total_variation: finite differences, the formulas written out, torch
comparisons, errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import functional as F
from op_checks import DTYPES, FEW, FEWER, check_grad, compare_with_torch, randn, seeds, tensor

sides = st.integers(1, 3)


@FEW
@given(n=sides, c=sides, h=sides, w=sides, seed=seeds)
def test_gram_matrix_gradcheck(n, c, h, w, seed):
    check_grad(F.gram_matrix, randn(seed, (n, c, h, w)))


@FEW
@given(shape=st.lists(sides, min_size=2, max_size=4), seed=seeds)
def test_total_variation_gradcheck(shape, seed):
    check_grad(F.total_variation, randn(seed, tuple(shape)))


def _torch_gram(t):
    n, c, h, w = t.shape
    f = t.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def _torch_tv(t):
    return ((t[..., 1:, :] - t[..., :-1, :]) ** 2).sum() + ((t[..., :, 1:] - t[..., :, :-1]) ** 2).sum()


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(n=sides, c=sides, h=sides, w=sides, seed=seeds)
def test_gram_and_total_variation_match_torch(torch, dtype, n, c, h, w, seed):
    x = randn(seed, (n, c, h, w))
    compare_with_torch(torch, F.gram_matrix, _torch_gram, [x], dtype, seed, multilinear=True)
    # each gradient element sums up to four terms 2 v (x_i - x_j), each at most 4 |v| max |x|
    compare_with_torch(torch, F.total_variation, _torch_tv, [x], dtype, seed, grad_scale=16 * np.abs(x).max())


def test_gram_matrix_is_feature_correlation_over_positions():
    x = randn(3, (2, 3, 4, 5))
    g = F.gram_matrix(tensor(x)).numpy()
    for i in range(3):
        for j in range(3):
            np.testing.assert_allclose(g[:, i, j], (x[:, i] * x[:, j]).mean(axis=(1, 2)), rtol=1e-12)
    assert F.gram_matrix(tensor(x.astype(np.float32))).dtype == np.float32


def test_total_variation_counts_each_neighbour_pair_once():
    x = np.array([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    # horizontal: 1 + 4 + 0 + 0, vertical: 4 + 1 + 1
    assert F.total_variation(tensor(x)).item() == 11.0
    assert F.total_variation(tensor(np.full((1, 3, 4, 4), 7.0))).item() == 0.0


def test_style_errors():
    with pytest.raises(ValueError, match=r"gram_matrix: features must have shape \(N, C, H, W\), got \(3, 4, 5\)"):
        F.gram_matrix(tensor(np.zeros((3, 4, 5))))
    with pytest.raises(ValueError, match=r"total_variation: x must have at least \(H, W\) axes, got shape \(5,\)"):
        F.total_variation(tensor(np.zeros(5)))
