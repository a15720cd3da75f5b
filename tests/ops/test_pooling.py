"""max_pool2d, avg_pool2d, adaptive_avg_pool2d: finite differences and torch comparisons over
drawn kernels, strides, paddings and ceil_mode; ties in max pooling; indices; errors."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import functional as F
from op_checks import (DTYPES, FEW, FEWER, assert_close, check_grad, compare_with_torch, host, randn, seeds,
                               tensor)

FIXTURE_OK = settings(FEW, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def pool_cases(draw):
    """(x shape, kernel, stride, padding, ceil_mode) that torch accepts: padding <= kernel / 2
    and a padded input at least one kernel large."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(max(1, k - 2 * p + draw(st.integers(0, 4))) for k, p in zip(kernel, padding))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size, kernel, stride, padding, draw(st.booleans())


def distinct(seed, shape):
    """Values with no two closer than 0.1 (a shuffled grid plus small noise): no ties, so the
    max is differentiable and finite differences (eps 1e-6) cannot cross a kink."""
    rng = np.random.default_rng(seed)
    values = rng.permutation(int(np.prod(shape))) * 0.1 + rng.uniform(0, 0.01, int(np.prod(shape)))
    return (values - values.mean()).reshape(shape)


@FEWER
@given(case=pool_cases(), seed=seeds)
def test_max_pool2d_gradcheck(case, seed):
    shape, kernel, stride, padding, ceil = case
    check_grad(lambda x: F.max_pool2d(x, kernel, stride, padding, ceil), distinct(seed, shape))


@FEWER
@given(case=pool_cases(), seed=seeds)
def test_avg_pool2d_gradcheck(case, seed):
    shape, kernel, stride, padding, ceil = case
    check_grad(lambda x: F.avg_pool2d(x, kernel, stride, padding, ceil), randn(seed, shape))


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=pool_cases(), seed=seeds)
def test_max_pool2d_matches_torch(torch, dtype, case, seed):
    shape, kernel, stride, padding, ceil = case
    x = distinct(seed, shape)
    compare_with_torch(torch, lambda x: F.max_pool2d(x, kernel, stride, padding, ceil),
                       lambda x: torch.nn.functional.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil),
                       [x], dtype, seed=seed)
    _, ours = F.max_pool2d(tensor(x), kernel, stride, padding, ceil, return_indices=True)
    _, theirs = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, stride, padding, ceil_mode=ceil,
                                               return_indices=True)
    assert ours.dtype == np.int64 and not ours.requires_grad
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=pool_cases(), seed=seeds)
def test_avg_pool2d_matches_torch(torch, dtype, case, seed):
    shape, kernel, stride, padding, ceil = case
    compare_with_torch(torch, lambda x: F.avg_pool2d(x, kernel, stride, padding, ceil),
                       lambda x: torch.nn.functional.avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil),
                       [randn(seed, shape)], dtype, seed=seed)


@FEW
@given(case=pool_cases(), seed=seeds)
def test_max_pool2d_ties_go_to_the_first_maximum(torch, case, seed):
    """With many ties (values from {0, 1, 2}) the argmax is the first maximum in row-major
    window order, and the whole window gradient goes there: torch's CPU rule, bit for bit."""
    shape, kernel, stride, padding, ceil = case
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)
    t = tensor(x, requires_grad=True)
    y, indices = F.max_pool2d(t, kernel, stride, padding, ceil, return_indices=True)
    g = np.random.default_rng(seed + 1).standard_normal(y.shape)
    y.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt, it = torch.nn.functional.max_pool2d(xt, kernel, stride, padding, ceil_mode=ceil, return_indices=True)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(indices.numpy(), it.numpy())
    np.testing.assert_allclose(host(t.grad), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool2d_ties_by_hand():
    x = tensor(np.ones((1, 1, 2, 4)), requires_grad=True)
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    y.backward(np.array([[[[1.0, 2.0]]]]))
    np.testing.assert_array_equal(indices.numpy(), [[[[0, 2]]]])
    np.testing.assert_array_equal(host(x.grad), [[[[1, 0, 2, 0], [0, 0, 0, 0]]]])


def test_max_pool2d_overlapping_windows_sum_and_padding_never_wins():
    x = tensor(np.array([[[[-5.0, -1.0, -7.0]]]]), requires_grad=True)
    y = F.max_pool2d(x, (1, 3), stride=1, padding=(0, 1))
    np.testing.assert_array_equal(y.numpy(), [[[[-1.0, -1.0, -1.0]]]])
    y.sum().backward()
    np.testing.assert_array_equal(host(x.grad), [[[[0.0, 3.0, 0.0]]]])


def test_ceil_mode_window_must_start_inside_input_or_left_padding():
    # W=5, k=2, s=2, p=1: ceil((5 + 2 - 2) / 2) + 1 = 4 windows, but the 4th would start at
    # 3 * 2 - 1 = 5, past the input and its left padding, so torch keeps 3
    x = tensor(np.arange(5.0).reshape(1, 1, 1, 5))
    assert F.max_pool2d(x, (1, 2), (1, 2), (0, 1), ceil_mode=True).shape == (1, 1, 1, 3)
    assert F.max_pool2d(x, (1, 2), (1, 2), 0, ceil_mode=True).shape == (1, 1, 1, 3)
    assert F.max_pool2d(x, (1, 2), (1, 2), 0, ceil_mode=False).shape == (1, 1, 1, 2)
    np.testing.assert_array_equal(F.avg_pool2d(x, (1, 2), (1, 2), 0, ceil_mode=True).numpy(),
                                  [[[[0.5, 2.5, 4.0]]]])


adaptive_cases = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5))


@FEWER
@given(sizes=adaptive_cases, seed=seeds)
def test_adaptive_avg_pool2d_gradcheck(sizes, seed):
    h, w, oh, ow = sizes
    check_grad(lambda x: F.adaptive_avg_pool2d(x, (oh, ow)), randn(seed, (2, 2, h, w)))


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(sizes=adaptive_cases, seed=seeds)
def test_adaptive_avg_pool2d_matches_torch(torch, dtype, sizes, seed):
    h, w, oh, ow = sizes
    compare_with_torch(torch, lambda x: F.adaptive_avg_pool2d(x, (oh, ow)),
                       lambda x: torch.nn.functional.adaptive_avg_pool2d(x, (oh, ow)),
                       [randn(seed, (2, 3, h, w))], dtype, seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
@FIXTURE_OK
@given(blocks=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)), seed=seeds)
def test_adaptive_fast_path_equals_bin_matrices(dtype, blocks, seed):
    """The block mean of minigrad.kernels.pooling against the reference's bin matrices."""
    oh, ow, kh, kw = blocks
    x = randn(seed, (2, 2, oh * kh, ow * kw)).astype(dtype)
    g = randn(seed + 1, (2, 2, oh, ow)).astype(dtype)
    results = []
    for fast in (True, False):
        with minigrad.fast_paths(fast):
            t = tensor(x, requires_grad=True)
            y = F.adaptive_avg_pool2d(t, (oh, ow))
            y.backward(g)
        assert y.dtype == t.grad.dtype == np.dtype(dtype)
        results.append((y.numpy(), host(t.grad)))
    rtol = 1e-12 if dtype == "float64" else 1e-6
    assert_close(results[0][0], results[1][0], rtol, "forward")
    assert_close(results[0][1], results[1][1], rtol, "gradient")


@pytest.mark.parametrize("dtype", DTYPES)
@FIXTURE_OK
@given(case=pool_cases(), seed=seeds, ties=st.booleans())
def test_max_pool2d_fast_path_equals_reference(dtype, case, seed, ties):
    """minigrad.kernels.pooling (running maximum, scatter or disjoint routing) against the
    reference (gathered windows, one pass per offset): values, indices and gradient."""
    shape, kernel, stride, padding, ceil = case
    x = distinct(seed, shape)
    if ties:  # few distinct values: many tied windows, which both paths must send to the first maximum
        x = np.round(x / x.std() if x.std() > 0 else x)
    x = x.astype(dtype)
    if ties:
        x.flat[::7] = np.nan
    results = []
    for fast in (True, False):
        with minigrad.fast_paths(fast):
            t = tensor(x, requires_grad=True)
            y, indices = F.max_pool2d(t, kernel, stride, padding, ceil, return_indices=True)
            y.backward(randn(seed + 1, y.shape).astype(dtype))
        results.append((host(y.data), host(indices.data), host(t.grad)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    rtol = 1e-12 if dtype == "float64" else 1e-6
    assert_close(results[0][2], results[1][2], rtol, "gradient")


def test_pooling_keeps_float32():
    x = tensor(randn(0, (1, 2, 7, 7)).astype(np.float32), requires_grad=True)
    for fn in (lambda t: F.max_pool2d(t, 3, 2, 1, True), lambda t: F.avg_pool2d(t, 3, 2, 1, True),
               lambda t: F.adaptive_avg_pool2d(t, 3), lambda t: F.adaptive_avg_pool2d(t, 7)):
        x.grad = None
        y = fn(x)
        y.backward(np.ones(y.shape, np.float32))
        assert y.dtype == x.grad.dtype == np.float32


@pytest.mark.parametrize("call, error, match", [
    (lambda x: F.max_pool2d(x, 3, padding=2), ValueError, r"max_pool2d: padding \(2, 2\) must be at most half"),
    (lambda x: F.max_pool2d(x, 7), ValueError, r"max_pool2d: kernel_size \(7, 7\) is larger than the padded input"),
    (lambda x: F.avg_pool2d(x, 2, stride=0), ValueError, r"avg_pool2d: kernel_size .* stride \(0, 0\)"),
    (lambda x: F.max_pool2d(x[0], 2), ValueError, r"max_pool2d: input x must be 4-D"),
    (lambda x: F.adaptive_avg_pool2d(x, 0), ValueError, r"adaptive_avg_pool2d: output_size 0"),
    (lambda x: F.max_pool2d(x, 2.5), TypeError, r"max_pool2d: kernel_size must be an int"),
])
def test_pooling_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(tensor(np.zeros((1, 2, 5, 5))))


def test_max_pool2d_nan_like_torch(torch):
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 1, 3, 3] = np.nan
    y, indices = F.max_pool2d(tensor(x), 2, return_indices=True)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(indices.numpy(), it.numpy())
