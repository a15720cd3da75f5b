"""conv2d_fft: gradient check, and the same numbers as torch's conv2d."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import backends
import minigrad.functional as F
from minigrad.gradcheck import gradcheck
from minigrad.tensor import Tensor

shapes = st.tuples(
    st.integers(1, 2),   # N
    st.integers(1, 3),   # C
    st.integers(1, 3),   # O
    st.integers(1, 5),   # kh
    st.integers(1, 5),   # kw
    st.integers(0, 2),   # ph
    st.integers(0, 2),   # pw
    st.integers(5, 8),   # H
    st.integers(5, 8),   # W
    st.booleans(),       # bias
)


def _tensor(a, requires_grad=False):
    """NumPy ``a`` on the backend the suite runs on ($MINIGRAD_BACKEND)."""
    return Tensor(a, requires_grad=requires_grad, backend=backends.current())


def _inputs(shape, dtype=np.float64, seed=0):
    n, c, o, kh, kw, ph, pw, h, w, bias = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, wt, b, (ph, pw)


@settings(max_examples=25, deadline=None)
@given(shapes)
def test_conv2d_fft_gradcheck(shape):
    x, wt, b, pad = _inputs(shape)
    tensors = [_tensor(a, requires_grad=True) for a in (x, wt) + ((b,) if b is not None else ())]
    gradcheck(lambda *t: F.conv2d_fft(t[0], t[1], t[2] if len(t) > 2 else None, padding=pad), tensors)


@pytest.mark.torch
@settings(max_examples=25, deadline=None)
@given(shapes, st.sampled_from([np.float64, np.float32]))
def test_conv2d_fft_matches_torch(torch, shape, dtype):
    x, wt, b, pad = _inputs(shape, dtype)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    xs = [_tensor(a, requires_grad=True) for a in (x, wt)]
    bs = _tensor(b, requires_grad=True) if b is not None else None
    y = F.conv2d_fft(xs[0], xs[1], bs, padding=pad)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    y.backward(g)

    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, wt))
    tb = torch.tensor(b, requires_grad=True) if b is not None else None
    ty = torch.nn.functional.conv2d(tx, tw, tb, padding=pad)
    ty.backward(torch.tensor(g))

    assert y.dtype == dtype and xs[0].grad.dtype == dtype
    pairs = [(y.data, ty), (xs[0].grad, tx.grad), (xs[1].grad, tw.grad)]
    if b is not None:
        pairs.append((bs.grad, tb.grad))
    for ours, ref in pairs:
        ours, ref = Tensor(ours).numpy(), ref.detach().numpy()
        scale = max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * scale)


def test_conv2d_fft_large_kernel_float32_stays_float32():
    x, wt, _, _ = _inputs((1, 3, 2, 23, 23, 11, 11, 40, 40, False), np.float32)
    y = F.conv2d_fft(_tensor(x), _tensor(wt), padding=11)
    assert y.shape == (1, 2, 40, 40) and y.dtype == np.float32


def test_conv2d_fft_bad_arguments():
    x = _tensor(np.zeros((1, 3, 8, 8)))
    with pytest.raises(ValueError, match=r"conv2d_fft.*same C"):
        F.conv2d_fft(x, _tensor(np.zeros((2, 4, 3, 3))))
    with pytest.raises(ValueError, match=r"conv2d_fft.*larger than the padded input"):
        F.conv2d_fft(x, _tensor(np.zeros((2, 3, 9, 9))))
    with pytest.raises(ValueError, match=r"conv2d_fft: padding must be >= 0"):
        F.conv2d_fft(x, _tensor(np.zeros((2, 3, 3, 3))), padding=-1)
