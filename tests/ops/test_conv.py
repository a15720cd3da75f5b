"""conv2d and conv_transpose2d: finite differences and torch comparisons over drawn shapes,
strides, paddings, dilations and groups, with fast paths on and off (the kernels themselves
are compared with the reference in test_kernels.py); col2im as the adjoint of im2col; frozen
weights; errors."""
import inspect
import pathlib
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad
import minigrad.functional.conv as conv
from minigrad import functional as F
from minigrad.kernels import shifted_conv
from minigrad.functional.im2col import col2im, im2col
from op_checks import DTYPES, FEW, FEWER, assert_close, check_grad, compare_with_torch, randn, seeds, tensor

# the `path` fixture sets the switch once per test; every drawn example runs under it
FEW = settings(FEW, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FEWER = settings(FEWER, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(params=["reference", "fast"])
def path(request):
    """Run a test with fast paths off (the im2col reference) and on."""
    with minigrad.fast_paths(request.param == "fast"):
        yield request.param


@st.composite
def conv_cases(draw, max_groups=3, stride_one=False):
    """(x shape, weight shape, stride, padding, dilation, groups) with a kernel that fits."""
    groups = draw(st.integers(1, max_groups))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 3)))
    stride = (1, 1) if stride_one else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p + draw(st.integers(0, 4)))
                 for k, p, d in zip(kernel, padding, dilation))
    return ((draw(st.integers(1, 2)), cin) + size, (cout, cin // groups) + kernel, stride, padding, dilation,
            groups)


@st.composite
def transpose_cases(draw):
    """(x shape, weight shape (in, out, kh, kw), stride, padding, output_padding)."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    out_pad = tuple(draw(st.integers(0, s - 1)) for s in stride)
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    # torch needs a non-empty output: (H - 1) s - 2 p + k + op >= 1
    padding = tuple(draw(st.integers(0, max(0, ((h - 1) * s + k + op - 1) // 2)))
                    for h, s, k, op in zip(size, stride, kernel, out_pad))
    cin, cout = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return (draw(st.integers(1, 2)), cin) + size, (cin, cout) + kernel, stride, padding, out_pad


@FEWER
@given(case=conv_cases(), seed=seeds)
def test_conv2d_gradcheck(path, case, seed):
    x_shape, w_shape, stride, padding, dilation, groups = case
    x, w, b = randn(seed, x_shape, w_shape, (w_shape[0],))
    check_grad(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b)


@FEWER
@given(case=transpose_cases(), seed=seeds)
def test_conv_transpose2d_gradcheck(path, case, seed):
    x_shape, w_shape, stride, padding, out_pad = case
    x, w, b = randn(seed, x_shape, w_shape, (w_shape[1],))
    check_grad(lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, out_pad), x, w, b)


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=conv_cases(), bias=st.booleans(), seed=seeds)
def test_conv2d_matches_torch(torch, path, dtype, case, bias, seed):
    x_shape, w_shape, stride, padding, dilation, groups = case
    arrays = randn(seed, x_shape, w_shape, (w_shape[0],))
    if not bias:
        arrays = arrays[:2]
    compare_with_torch(torch, lambda *a: F.conv2d(*a, stride=stride, padding=padding, dilation=dilation,
                                                  groups=groups),
                       lambda *a: torch.nn.functional.conv2d(*a, stride=stride, padding=padding,
                                                             dilation=dilation, groups=groups),
                       arrays, dtype, seed=seed, multilinear=True)


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=transpose_cases(), seed=seeds)
def test_conv_transpose2d_matches_torch(torch, path, dtype, case, seed):
    x_shape, w_shape, stride, padding, out_pad = case
    compare_with_torch(torch, lambda *a: F.conv_transpose2d(*a, stride=stride, padding=padding,
                                                            output_padding=out_pad),
                       lambda *a: torch.nn.functional.conv_transpose2d(*a, stride=stride, padding=padding,
                                                                       output_padding=out_pad),
                       randn(seed, x_shape, w_shape, (w_shape[1],)), dtype, seed=seed, multilinear=True)


@FEW
@given(case=conv_cases(), seed=seeds)
def test_col2im_is_the_adjoint_of_im2col(case, seed):
    """<im2col(x), c> = <x, col2im(c)> for all x, c: the defining property of col2im."""
    x_shape, w_shape, stride, padding, dilation, _ = case
    x = randn(seed, x_shape)
    cols = im2col(x, w_shape[2:], stride, padding, dilation)
    c = randn(seed + 1, cols.shape)
    back = col2im(c, x_shape, stride, padding, dilation)
    assert back.shape == x_shape
    assert np.isclose((cols * c).sum(), (x * back).sum(), rtol=1e-12, atol=1e-12)


def test_frozen_weights_skip_the_weight_gradient(path, monkeypatch):
    """Saliency-style backward (weights frozen) computes dL/dx only."""
    def fail(*args):
        raise AssertionError("weight gradient computed for a frozen weight")

    monkeypatch.setattr(conv, "run_weight_grad", fail)
    x = tensor(randn(0, (1, 3, 6, 6)).astype(np.float32), requires_grad=True)
    w, b = (tensor(a.astype(np.float32)) for a in randn(1, (4, 3, 3, 3), (4,)))
    F.conv2d(x, w, b, padding=1).sum().backward()
    assert w.grad is None and b.grad is None and x.grad.dtype == np.float32
    y = F.conv_transpose2d(x, tensor(randn(2, (3, 2, 3, 3)).astype(np.float32)), stride=2)
    y.sum().backward()


def test_default_paths_keep_float32():
    x = tensor(randn(0, (1, 16, 64, 64)).astype(np.float32), requires_grad=True)
    # the shifted-view path is the NumPy default; CuPy keeps im2col (see shifted_applies)
    assert shifted_conv.shifted_applies(x.data, conv.Geometry((1, 1), (1, 1), (1, 1))) == (x.backend.name == "numpy")
    w = tensor(randn(1, (8, 16, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32
    ref = conv.correlate(x.data, w.data, conv.Geometry((1, 1), (1, 1), (1, 1)))
    assert_close(y.data, ref, 1e-5, "forward")


@pytest.mark.parametrize("x_shape, w_shape, kwargs, match", [
    ((1, 3, 5, 5), (4, 3, 7, 7), {}, r"conv2d: the kernel spans 7x7 .* padded input is only 5x5"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"dilation": 3}, r"conv2d: the kernel spans 7x7"),
    ((1, 4, 5, 5), (6, 2, 3, 3), {"groups": 3}, r"conv2d: groups=3 must divide"),
    ((1, 4, 5, 5), (4, 3, 3, 3), {}, r"conv2d: weight of shape \(4, 3, 3, 3\) expects 3 input channels"),
    ((3, 5, 5), (4, 3, 3, 3), {}, r"conv2d: input x must be 4-D .*\(3, 5, 5\)"),
    ((1, 3, 5, 5), (4, 3, 3), {}, r"conv2d: weight must be 4-D"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"stride": 0}, r"conv2d: stride must be >= 1"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"padding": -1}, r"conv2d: padding must be >= 0"),
])
def test_conv2d_bad_input(x_shape, w_shape, kwargs, match):
    x, w = tensor(np.zeros(x_shape)), tensor(np.zeros(w_shape))
    with pytest.raises(ValueError, match=match):
        F.conv2d(x, w, **kwargs)


def test_conv_bad_bias_dtype_and_transpose_channels():
    x, w = tensor(np.zeros((1, 3, 5, 5))), tensor(np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: bias has shape \(3,\), expected \(4,\)"):
        F.conv2d(x, w, tensor(np.zeros(3)))
    with pytest.raises(TypeError, match="conv2d: input x is float32 but weight is float64"):
        F.conv2d(tensor(np.zeros((1, 3, 5, 5), np.float32)), w)
    with pytest.raises(ValueError, match=r"conv_transpose2d: weight of shape \(4, 3, 3, 3\) .* expects 4"):
        F.conv_transpose2d(x, w)
    with pytest.raises(ValueError, match="conv_transpose2d: output_padding"):
        F.conv_transpose2d(x, tensor(np.zeros((3, 2, 3, 3))), stride=2, output_padding=2)


def test_readme_links_to_conv2d_backward():
    """The README's engine section links to the line where Conv2d.backward starts."""
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    lines = {int(n) for n in re.findall(r"minigrad/functional/conv\.py#L(\d+)", readme)}
    assert lines == {inspect.getsourcelines(conv.Conv2d.backward)[1]}
