"""The fast kernels of minigrad.kernels against the references of minigrad.functional on
drawn shapes, and the switch between them (minigrad.fast_paths, MINIGRAD_FAST_PATHS).

The threaded passes are compared byte for byte in test_parallel.py; the pooling kernels
through the switch in test_pooling.py.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import functional as F
from minigrad import kernels
from minigrad.functional import conv
from minigrad.kernels import gemm as gemm_module
from minigrad.kernels import shifted_conv, winograd
from op_checks import DTYPES, FEW, FEWER, assert_close, randn, seeds, tensor


@st.composite
def stride_one_cases(draw):
    """(x shape, weight shape, padding, dilation) of a stride-1 ungrouped convolution whose
    padding is at most the kernel's reach (the shifted adjoint's condition)."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, d * (k - 1))) for k, d in zip(kernel, dilation))
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p + draw(st.integers(0, 5)))
                 for k, p, d in zip(kernel, padding, dilation))
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return (n, c) + size, (o, c) + kernel, padding, dilation


@FEW
@given(case=stride_one_cases(), dtype=st.sampled_from(DTYPES), bias=st.booleans(), seed=seeds)
def test_shifted_conv_equals_im2col(case, dtype, bias, seed):
    """The shifted-view kernels give the im2col reference's y, dL/dx and dL/dW."""
    x_shape, w_shape, padding, dilation = case
    x, w, b = (a.astype(dtype) for a in randn(seed, x_shape, w_shape, (w_shape[0],)))
    geometry = conv.Geometry((1, 1), padding, dilation)
    taps = shifted_conv.shifted_taps(w)
    y = shifted_conv.correlate_shifted(x, taps, padding, dilation, b if bias else None)
    y_ref = conv.correlate(x, w, geometry) + (b.reshape(1, -1, 1, 1) if bias else 0)
    gy = randn(seed + 1, y_ref.shape).astype(dtype)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert y.dtype == np.dtype(dtype)
    assert_close(y, y_ref, rtol, "forward")
    assert_close(shifted_conv.weight_grad_shifted(x, gy, padding, dilation, w.shape),
                 conv.weight_grad(x, gy, geometry, w.shape), rtol, "weight gradient")
    assert_close(shifted_conv.correlate_adjoint_shifted(gy, taps, padding, dilation),
                 conv.correlate_adjoint(gy, w, geometry, x.shape), rtol, "input gradient")


def test_the_shifted_path_runs_for_large_planes():
    """At VGG-like sizes the switch picks the shifted view and agrees with the reference."""
    x, w, b, gy = (a.astype(np.float32) for a in randn(0, (1, 16, 48, 48), (16, 16, 3, 3), (16,), (1, 16, 48, 48)))
    geometry = conv.Geometry((1, 1), (1, 1), (1, 1))
    assert shifted_conv.shifted_applies(x, geometry)
    assert shifted_conv.adjoint_shifted_applies(gy, w.shape, geometry, x.shape)
    results = []
    for fast in (True, False):
        with minigrad.fast_paths(fast):
            xt, wt, bt = (tensor(a, requires_grad=True) for a in (x, w, b))
            y = F.conv2d(xt, wt, bt, padding=1)
            y.backward(gy)
        results.append((y.numpy(), xt.grad, wt.grad, bt.grad))
    for got, want, what in zip(results[0], results[1], ("y", "dx", "dW", "db")):
        assert_close(got, want, 1e-5, what)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_into_views(dtype):
    """gemm writes a @ b (or adds it) into a view, with plain and transposed operand views
    (through BLAS) and with views BLAS cannot take (both strides > 1: the matmul fallback)."""
    big = randn(0, (7, 20)).astype(dtype)
    a, b = big[:3, 2:7], big[1:6, 3:17].T[2:8].T          # (3, 5) row view, (5, 6) strided view
    a_t = np.ascontiguousarray(a.T).T                      # the same values, column-major
    a_strided = np.repeat(np.repeat(a, 2, axis=0), 2, axis=1)[::2, ::2]
    out = np.zeros((4, 9), dtype)
    gemm_module.gemm(a, b, out[1:4, 2:8], accumulate=False)
    gemm_module.gemm(a_t, b, out[1:4, 2:8], accumulate=True)
    gemm_module.gemm(a_strided, b, out[1:4, 2:8], accumulate=True)
    expected = np.zeros((4, 9))
    expected[1:4, 2:8] = 3 * (a.astype(np.float64) @ b.astype(np.float64))
    assert_close(out, expected, 1e-12 if dtype == "float64" else 1e-5, "gemm")


def test_the_switch_is_a_context_manager():
    before = kernels.enabled()
    with minigrad.fast_paths(not before):
        assert kernels.enabled() is (not before)
        with minigrad.fast_paths(before):
            assert kernels.enabled() is before
        assert kernels.enabled() is (not before)
    assert kernels.enabled() is before
    with pytest.raises(TypeError, match="fast_paths: pass True or False, got 'no'"):
        with minigrad.fast_paths("no"):
            pass


@pytest.mark.parametrize("value, expected", [("0", "False"), ("1", "True"), ("off", "False"),
                                             ("maybe", "MINIGRAD_FAST_PATHS='maybe' is not understood")])
def test_the_environment_variable(value, expected):
    env = dict(os.environ, MINIGRAD_FAST_PATHS=value)
    run = subprocess.run([sys.executable, "-c", "import minigrad.kernels as k; print(k.enabled())"],
                         env=env, capture_output=True, text=True)
    assert expected in run.stdout + run.stderr


_RSS_AFTER_A_FREED_ARRAY = """
import os
import numpy as np
import minigrad

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

before = rss()
a = np.ones(4 * 2**20, np.float32)      # 16 MB, every page written
del a
print((rss() - before) / 2**20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the allocator setting is glibc's (Linux)")
@pytest.mark.parametrize("fast, kept", [("1", True), ("0", False)])
def test_freed_arrays_stay_mapped_only_with_fast_paths(fast, kept):
    """With fast paths on at import, a freed 16 MB array's pages stay mapped for the next
    array (minigrad.kernels.allocator); with MINIGRAD_FAST_PATHS=0, glibc's default hands
    them back to the system."""
    env = dict(os.environ, MINIGRAD_FAST_PATHS=fast)
    run = subprocess.run([sys.executable, "-c", _RSS_AFTER_A_FREED_ARRAY], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    grown_mib = float(run.stdout)
    assert (grown_mib > 12) is kept, grown_mib


@st.composite
def winograd_cases(draw):
    """(x shape, weight shape, padding) of a 3x3 stride-1 convolution, odd and even sizes."""
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = tuple(max(1, 3 - 2 * p + draw(st.integers(0, 6))) for p in padding)
    return (draw(st.integers(1, 2)), draw(st.integers(1, 5))) + size, (draw(st.integers(1, 5)), 0, 3, 3), padding


@FEW
@given(case=winograd_cases(), bias=st.booleans(), seed=seeds)
def test_winograd_equals_im2col_in_float64(case, bias, seed):
    """F(2x2, 3x3) forward and input gradient against the reference, in float64 (exact
    algebra, so to rounding)."""
    x_shape, (o, _, kh, kw), padding = case
    x, w, b = randn(seed, x_shape, (o, x_shape[1], kh, kw), (o,))
    geometry = conv.Geometry((1, 1), padding, (1, 1))
    y = winograd.correlate(x, winograd.filter_transform(w), padding, b if bias else None)
    y_ref = conv.correlate(x, w, geometry) + (b.reshape(1, -1, 1, 1) if bias else 0)
    assert_close(y, y_ref, 1e-12, "forward")
    gy = randn(seed + 1, y_ref.shape)
    assert_close(winograd.correlate_adjoint(gy, w, padding), conv.correlate_adjoint(gy, w, geometry, x.shape),
                 1e-12, "input gradient")


@pytest.mark.parametrize("channels, size", [(128, 14), (256, 8), (512, 6)])
def test_winograd_float32_error_against_float64(channels, size):
    """The float32 Winograd result is within the op tolerance of docs/numerics.md (1e-5 of the
    largest element) of the float64 convolution, and at most 4x the direct product's error
    (measured: 1.0-2.1x, relative errors 4.7e-7 to 7.6e-7, on VGG-16's layer shapes)."""
    x, w, gy = randn(0, (1, channels, size, size), (channels, channels, 3, 3), (1, channels, size, size))
    w /= np.sqrt(9 * channels)
    geometry = conv.Geometry((1, 1), (1, 1), (1, 1))
    y64 = conv.correlate(x, w, geometry)
    g64 = conv.correlate_adjoint(gy, w, geometry, x.shape)
    x32, w32, gy32 = (a.astype(np.float32) for a in (x, w, gy))
    for ours, direct, exact in ((winograd.correlate(x32, winograd.filter_transform(w32), (1, 1)),
                                 conv.correlate(x32, w32, geometry), y64),
                                (winograd.correlate_adjoint(gy32, w32, (1, 1)),
                                 conv.correlate_adjoint(gy32, w32, geometry, x.shape), g64)):
        assert ours.dtype == np.float32
        error = np.abs(ours - exact).max() / np.abs(exact).max()
        assert error <= 1e-5
        assert error <= 4 * np.abs(direct - exact).max() / np.abs(exact).max()


def test_winograd_runs_for_many_channels():
    """The switch sends VGG-16's 512-channel 3x3 convolutions at 28 px through Winograd, and
    agrees with the reference there (forward and input gradient); not 64 channels, not stride 2."""
    geometry = conv.Geometry((1, 1), (1, 1), (1, 1))
    x, w, gy = (a.astype(np.float32) for a in randn(0, (1, 512, 28, 28), (512, 512, 3, 3), (1, 512, 28, 28)))
    w /= np.float32(np.sqrt(9 * 512))
    assert winograd.applies(x, w.shape, geometry)
    assert not winograd.applies(np.zeros((1, 64, 224, 224), np.float32), (64, 64, 3, 3), geometry)
    assert not winograd.applies(x, w.shape, conv.Geometry((2, 2), (1, 1), (1, 1)))
    results = []
    for fast in (True, False):
        with minigrad.fast_paths(fast):
            xt = tensor(x, requires_grad=True)
            y = F.conv2d(xt, tensor(w), padding=1)
            y.backward(gy)
        results.append((y.numpy(), xt.grad))
    assert_close(results[0][0], results[1][0], 1e-5, "forward")
    assert_close(results[0][1], results[1][1], 1e-5, "input gradient")


@FEW
@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), kernel=st.integers(1, 9),
       size=st.integers(9, 31), pad=st.integers(0, 4), dtype=st.sampled_from(DTYPES), seed=seeds)
def test_fft_kernel_equals_the_reference(n, c, o, kernel, size, pad, dtype, seed):
    """conv2d_fft at the 5-smooth period on all cores (minigrad.kernels.fft) gives the
    reference's (numpy.fft at the padded size) y, dL/dx and dL/dW."""
    from minigrad.kernels import fft as fast_fft
    x, w, gy = randn(seed, (n, c, size, size), (o, c, kernel, kernel), (n, o, size + 2 * pad - kernel + 1,
                                                                       size + 2 * pad - kernel + 1))
    x, w, gy = (a.astype(dtype) for a in (x, w, gy))
    results = []
    for fast in (True, False):
        with minigrad.fast_paths(fast):
            assert fast_fft.applies(x) is fast
            xt, wt = tensor(x, requires_grad=True), tensor(w, requires_grad=True)
            y = F.conv2d_fft(xt, wt, padding=pad)
            y.backward(gy)
        results.append((y.numpy(), xt.grad, wt.grad))
    rtol = 1e-10 if dtype == "float64" else 1e-5
    for got, want, what in zip(results[0], results[1], ("y", "dx", "dW")):
        assert got.dtype == np.dtype(dtype)
        assert_close(got, want, rtol, what)


def test_fft_period_is_five_smooth_and_large_enough():
    from minigrad.kernels import fft as fast_fft
    for side in (1, 7, 59, 118, 129, 257):
        period = fast_fft.fft_size((side, side))[0]
        assert period >= side
        rest = period
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        assert rest == 1, period
    assert fast_fft.fft_size((118, 86)) == (120, 90)


@FEWER
@given(n=st.integers(1, 2), c=st.integers(1, 4), o=st.integers(1, 4), kernel=st.sampled_from([7, 9, 11]),
       size=st.integers(11, 24), pad=st.integers(0, 5), bias=st.booleans(), dtype=st.sampled_from(DTYPES),
       seed=seeds)
def test_conv2d_with_a_large_kernel_runs_through_the_fft(n, c, o, kernel, size, pad, bias, dtype, seed):
    """With fast paths on, conv2d hands a 7x7 or larger stride-1 kernel to conv2d_fft, and
    its y, dL/dx, dL/dW and dL/db equal the im2col reference's."""
    from minigrad.functional.fft_conv import Conv2dFFT
    x, w, b = (a.astype(dtype) for a in randn(seed, (n, c, size, size), (o, c, kernel, kernel), (o,)))
    gy = randn(seed + 1, (n, o, size + 2 * pad - kernel + 1, size + 2 * pad - kernel + 1)).astype(dtype)
    results = []
    for fast in (True, False):
        with minigrad.fast_paths(fast):
            xt, wt, bt = (tensor(a, requires_grad=True) for a in (x, w, b))
            y = F.conv2d(xt, wt, bt if bias else None, padding=pad)
            assert isinstance(y.creator, Conv2dFFT) is fast
            y.backward(gy)
        results.append((y.numpy(), xt.grad, wt.grad) + ((bt.grad,) if bias else ()))
    rtol = 1e-10 if dtype == "float64" else 1e-5
    for got, want, what in zip(results[0], results[1], ("y", "dx", "dW", "db")):
        assert_close(got, want, rtol, what)
