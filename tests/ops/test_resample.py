"""pad (constant, reflect) and upsample_nearest2d: finite differences, torch comparisons over
drawn widths, factors and sizes, and errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import functional as F
from op_checks import DTYPES, FEW, FEWER, check_grad, compare_with_torch, host, randn, seeds, tensor


@st.composite
def pad_cases(draw):
    """(x shape, (left, right, top, bottom), mode); reflect widths smaller than the axis."""
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    mode = draw(st.sampled_from(["constant", "reflect"]))
    limit = (lambda n: n - 1) if mode == "reflect" else (lambda n: 3)
    widths = tuple(draw(st.integers(0, limit(n))) for n in (w, w, h, h))
    return (draw(st.integers(1, 2)), 2, h, w), widths, mode


upsample_cases = st.one_of(
    st.fixed_dictionaries({"scale_factor": st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3),
                                                                                  st.integers(1, 3)))}),
    st.fixed_dictionaries({"size": st.tuples(st.integers(1, 9), st.integers(1, 9))}))


@FEWER
@given(case=pad_cases(), value=st.floats(-2, 2), seed=seeds)
def test_pad_gradcheck(case, value, seed):
    shape, widths, mode = case
    check_grad(lambda x: F.pad(x, widths, mode, value), randn(seed, shape))


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=pad_cases(), value=st.floats(-2, 2), seed=seeds)
def test_pad_matches_torch(torch, dtype, case, value, seed):
    shape, widths, mode = case
    extra = {"value": value} if mode == "constant" else {}
    compare_with_torch(torch, lambda x: F.pad(x, widths, mode, value),
                       lambda x: torch.nn.functional.pad(x, widths, mode, **extra),
                       [randn(seed, shape)], dtype, seed=seed)


@FEWER
@given(kwargs=upsample_cases, seed=seeds)
def test_upsample_gradcheck(kwargs, seed):
    check_grad(lambda x: F.upsample_nearest2d(x, **kwargs), randn(seed, (2, 2, 3, 4)))


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(kwargs=upsample_cases, in_size=st.tuples(st.integers(1, 6), st.integers(1, 6)), seed=seeds)
def test_upsample_matches_torch(torch, dtype, kwargs, in_size, seed):
    compare_with_torch(torch, lambda x: F.upsample_nearest2d(x, **kwargs),
                       lambda x: torch.nn.functional.interpolate(x, mode="nearest", **kwargs),
                       [randn(seed, (2, 2) + in_size)], dtype, seed=seed)


@pytest.mark.parametrize("in_size, out_size", [(14, 46), (26, 22), (26, 44), (28, 46), (5, 13)])
def test_upsample_size_follows_torch_float32_rule(torch, in_size, out_size):
    """For these sizes torch's float32 source index floor(h * float32(In / Out)) differs from
    the exact floor(h In / Out); we follow torch."""
    x = np.arange(float(in_size)).reshape(1, 1, 1, in_size)
    ours = F.upsample_nearest2d(tensor(x), size=(1, out_size)).numpy()
    theirs = torch.nn.functional.interpolate(torch.tensor(x), size=(1, out_size), mode="nearest").numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_reflect_by_hand_and_float32():
    x = tensor(np.array([[1.0, 2.0, 3.0, 4.0]], np.float32), requires_grad=True)
    y = F.pad(x, (2, 1), mode="reflect")
    np.testing.assert_array_equal(y.numpy(), [[3, 2, 1, 2, 3, 4, 3]])
    y.backward(np.arange(7, dtype=np.float32)[None])
    # entry 1 (value 2) is copied to padded positions 1 and 3; entry 2 (value 3) to 0, 4 and 6
    np.testing.assert_array_equal(host(x.grad), [[2, 1 + 3, 0 + 4 + 6, 5]])
    assert y.dtype == x.grad.dtype == np.float32
    up = F.upsample_nearest2d(tensor(np.ones((1, 1, 2, 2), np.float32)), size=(3, 5))
    assert up.dtype == np.float32


@pytest.mark.parametrize("call, error, match", [
    (lambda x: F.pad(x, (5, 0, 0, 0), "reflect"), ValueError, r"pad: reflect padding .* smaller than"),
    (lambda x: F.pad(x, (1, 1, 1), "constant"), ValueError, r"pad: pad must be \(left, right, top, bottom\)"),
    (lambda x: F.pad(x, (-1, 0, 0, 0)), ValueError, r"pad: pad must be"),
    (lambda x: F.pad(x, (1, 1, 1, 1), "edge"), ValueError, r"pad: unknown mode 'edge'"),
    (lambda x: F.upsample_nearest2d(x), ValueError, "exactly one of scale_factor and size"),
    (lambda x: F.upsample_nearest2d(x, scale_factor=1.5), ValueError, "scale_factor must be a positive integer"),
    (lambda x: F.upsample_nearest2d(x[0], scale_factor=2), ValueError, "upsample_nearest2d: input x must be 4-D"),
])
def test_resample_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(tensor(np.zeros((1, 2, 4, 5))))
