"""batch_norm (train, eval, running statistics), instance_norm (plain, affine, per-sample
conditional), local_response_norm: finite differences, torch comparisons, errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import functional as F
from minigrad import nn
from op_checks import (DTYPES, FEW, FEWER, assert_close, backend_array, check_grad, compare_with_torch, host,
                               randn, seeds, tensor)


@st.composite
def nchw(draw, min_batch=1):
    """(N, C), (N, C, L) or (N, C, H, W), tiny."""
    n, c = draw(st.integers(min_batch, 3)), draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    return (n, c, *spatial)


def _term_scale(x, weight, axes, eps):
    """max |gamma| / sqrt(var + eps): the size of the terms of dL/dx per unit of dL/dy.
    dL/dx is a difference of such terms and can be much smaller (with two values per group
    it is eps / (var + eps) times smaller, all of it along x_hat), so float32 rounding of any
    implementation is measured against this scale (torch's CPU kernel accumulates in double)."""
    gamma = np.abs(weight).max(initial=1.0)
    return gamma / np.sqrt(x.var(axis=tuple(axes)).min() + eps)


def _batch_norm_case(seed, shape):
    x, w, b, mean = randn(seed, shape, (shape[1],), (shape[1],), (shape[1],))
    var = 0.5 + np.random.default_rng(seed).random(shape[1])
    return x, w, b, mean, var


@FEW
@given(shape=nchw(min_batch=2), affine=st.booleans(), training=st.booleans(), seed=seeds,
       momentum=st.floats(0.0, 1.0))
def test_batch_norm_gradcheck(shape, affine, training, seed, momentum):
    x, w, b, mean, var = _batch_norm_case(seed, shape)

    def fn(x, *params):
        # fresh copies: training updates the running statistics in place on every call
        return F.batch_norm(x, backend_array(mean), backend_array(var), *params, training=training,
                            momentum=momentum)
    if affine:
        check_grad(fn, x, w, b)
    else:
        check_grad(fn, x)


def test_batch_norm_without_running_statistics_uses_the_batch():
    x = randn(1, (4, 2, 3))
    check_grad(lambda t: F.batch_norm(t, None, None, training=False), x)
    y = F.batch_norm(tensor(x), None, None).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
@FEWER
@given(shape=nchw(min_batch=2), seed=seeds, momentum=st.floats(0.01, 0.9))
def test_batch_norm_and_running_statistics_match_torch(torch, dtype, training, shape, seed, momentum):
    x, w, b, mean, var = _batch_norm_case(seed, shape)
    options = dict(training=training, momentum=momentum, eps=1e-3)
    compare_with_torch(
        torch, lambda *t: F.batch_norm(t[0], backend_array(mean.astype(dtype)), backend_array(var.astype(dtype)),
                                       *t[1:], **options),
        lambda *t: torch.nn.functional.batch_norm(t[0], torch.tensor(mean).to(t[0].dtype),
                                                  torch.tensor(var).to(t[0].dtype), *t[1:], **options),
        [x, w, b], dtype, seed, grad_scale=_term_scale(x, w, [0, *range(2, len(shape))], 1e-3))
    ours = [backend_array(mean.astype(dtype)), backend_array(var.astype(dtype))]
    theirs = [torch.tensor(host(a)) for a in ours]
    F.batch_norm(tensor(x.astype(dtype)), *ours, **options)
    torch.nn.functional.batch_norm(torch.tensor(x.astype(dtype)), *theirs, **options)
    for label, got, want in zip(("running_mean", "running_var"), ours, theirs):
        assert got.dtype == np.dtype(dtype)
        assert_close(got, want.numpy(), 1e-10 if dtype == "float64" else 1e-5, label)
    if not training:
        np.testing.assert_array_equal(host(ours[0]), mean.astype(dtype))


def test_batch_norm_module_updates_its_buffers_in_place_like_torch(torch):
    x = randn(3, (4, 2, 3, 3)).astype(np.float32)
    ours, theirs = nn.BatchNorm2d(2, momentum=0.3), torch.nn.BatchNorm2d(2, momentum=0.3)
    for _ in range(3):
        ours(tensor(x))
        theirs(torch.tensor(x))
    assert_close(ours.running_mean.numpy(), theirs.running_mean.numpy(), 1e-5, "running_mean")
    assert_close(ours.running_var.numpy(), theirs.running_var.numpy(), 1e-5, "running_var")
    ours.eval()
    theirs.eval()
    assert_close(ours(tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), 1e-5, "eval output")


@st.composite
def instance_case(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2).filter(lambda s: np.prod(s) > 1))
    params = draw(st.sampled_from(["none", "channel", "sample", "weight_only", "bias_only"]))
    return (n, c, *spatial), params


def _instance_params(seed, shape, params):
    n, c = shape[:2]
    per = (n, c) if params == "sample" else (c,)
    w, b = randn(seed + 1, per, per)
    return {"none": [], "channel": [w, b], "sample": [w, b], "weight_only": [w], "bias_only": [b]}[params]


def _instance_norm(params):
    if params == "bias_only":
        return lambda x, b: F.instance_norm(x, None, b)
    return F.instance_norm


@FEW
@given(case=instance_case(), seed=seeds)
def test_instance_norm_gradcheck(case, seed):
    shape, params = case
    check_grad(_instance_norm(params), randn(seed, shape), *_instance_params(seed, shape, params))


def _torch_instance_norm(torch, params):
    def fn(x, *p):
        if params in ("none", "channel"):
            return torch.nn.functional.instance_norm(x, weight=p[0] if p else None, bias=p[1] if p else None)
        y = torch.nn.functional.instance_norm(x)
        view = lambda v: v.reshape(v.shape + (1,) * (x.ndim - 2))  # noqa: E731
        if params == "sample":
            return y * view(p[0]) + view(p[1])
        return y * view(p[0]) if params == "weight_only" else y + view(p[0])
    return fn


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(case=instance_case(), seed=seeds)
def test_instance_norm_matches_torch(torch, dtype, case, seed):
    shape, params = case
    x, params_arrays = randn(seed, shape), _instance_params(seed, shape, params)
    weight = params_arrays[0] if params in ("channel", "sample", "weight_only") else np.ones(1)
    compare_with_torch(torch, _instance_norm(params), _torch_instance_norm(torch, params), [x, *params_arrays],
                       dtype, seed, grad_scale=_term_scale(x, weight, range(2, len(shape)), 1e-5))


def test_conditional_instance_norm_mixes_style_parameters():
    layer = nn.ConditionalInstanceNorm2d(2, num_styles=3)
    rng = np.random.default_rng(0)
    layer.load_state_dict({"weight": rng.standard_normal((3, 2)), "bias": rng.standard_normal((3, 2))})
    x = tensor(rng.standard_normal((2, 2, 3, 3)).astype(np.float32))
    by_index = layer(x, np.array([2, 0])).numpy()
    for i, s in enumerate([2, 0]):
        single = F.instance_norm(x[i:i + 1], tensor(layer.weight.data[s]), tensor(layer.bias.data[s]))
        np.testing.assert_allclose(by_index[i:i + 1], single.numpy(), rtol=1e-6)
    mix = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]], dtype=np.float32)
    mixed = layer(x, tensor(mix)).numpy()
    weights, biases = mix @ layer.weight.numpy(), mix @ layer.bias.numpy()
    np.testing.assert_allclose(mixed, F.instance_norm(x, tensor(weights), tensor(biases)).numpy(), rtol=1e-6)


@st.composite
def lrn_case(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 6)),
             *draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    return (shape, draw(st.integers(1, 6)), draw(st.floats(0.05, 2.0)), draw(st.floats(0.25, 1.0)),
            draw(st.floats(0.5, 2.0)))


@FEW
@given(case=lrn_case(), seed=seeds)
def test_local_response_norm_gradcheck(case, seed):
    shape, size, alpha, beta, k = case
    check_grad(lambda t: F.local_response_norm(t, size, alpha, beta, k), randn(seed, shape))


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(case=lrn_case(), seed=seeds)
def test_local_response_norm_matches_torch(torch, dtype, case, seed):
    shape, size, alpha, beta, k = case
    compare_with_torch(torch, lambda t: F.local_response_norm(t, size, alpha, beta, k),
                       lambda t: torch.nn.functional.local_response_norm(t, size, alpha, beta, k),
                       [randn(seed, shape)], dtype, seed)


def test_local_response_norm_is_caffe_alexnet_lrn():
    """b_c = a_c / (k + alpha/n * sum of a_j^2 over the n channels around c)^beta, written out."""
    a = randn(4, (1, 7, 2, 2))
    n, alpha, beta, k = 5, 1e-2, 0.75, 2.0
    want = np.empty_like(a)
    for c in range(7):
        window = a[:, max(0, c - n // 2):min(7, c + n // 2 + 1)]
        want[:, c] = a[:, c] / (k + alpha / n * (window ** 2).sum(axis=1)) ** beta
    np.testing.assert_allclose(F.local_response_norm(tensor(a), n, alpha, beta, k).numpy(), want, rtol=1e-13)


def test_normalization_errors():
    x = tensor(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"batch_norm: running_mean has shape \(4,\) but input \(2, 3, 4, 4\) needs \(3,\)"):
        F.batch_norm(x, np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match=r"batch_norm: weight has shape \(2,\)"):
        F.batch_norm(x, np.zeros(3), np.ones(3), weight=tensor(np.ones(2)))
    with pytest.raises(ValueError, match="batch_norm: training needs more than one value per channel"):
        F.batch_norm(tensor(np.zeros((1, 3))), np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match="batch_norm: give both running_mean and running_var"):
        F.batch_norm(x, np.zeros(3), None)
    with pytest.raises(ValueError, match=r"instance_norm: weight has shape \(3, 3\) but input \(2, 3, 4, 4\) "
                                         r"needs \(3,\) or \(2, 3\)"):
        F.instance_norm(x, tensor(np.ones((3, 3))))
    with pytest.raises(ValueError, match=r"instance_norm: input must be \(N, C, H, W\)"):
        F.instance_norm(tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="local_response_norm: size must be a positive int, got 0"):
        F.local_response_norm(x, 0)
