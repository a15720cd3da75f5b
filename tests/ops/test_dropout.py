"""dropout: inverted scaling, seeded masks, fixed-mask gradient checks, torch semantics."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import backends
from minigrad import functional as F
from op_checks import FEW, check_grad, host, randn, seeds, tensor


@FEW
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), p=st.floats(0.0, 0.95), seed=seeds)
def test_dropout_gradcheck_with_a_fixed_mask(shape, p, seed):
    """A fresh generator with the same seed on every call gives the same mask, so the
    function is deterministic and finite differences apply."""
    check_grad(lambda t: F.dropout(t, p, rng=backends.get("numpy").rng(seed)), randn(seed, shape))


@FEW
@given(p=st.floats(0.05, 0.95), seed=seeds)
def test_dropout_zeroes_or_scales_each_element_and_the_gradient_follows(p, seed):
    x = tensor(np.abs(randn(seed, (4, 50))) + 0.1, requires_grad=True)
    y = F.dropout(x, p, rng=seed)
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / (1 - p), rtol=1e-15)
    y.backward(np.ones(y.shape))
    np.testing.assert_allclose(host(x.grad), kept / (1 - p), rtol=1e-15)


def test_dropout_keeps_about_one_minus_p():
    y = F.dropout(tensor(np.ones(20000, dtype=np.float32)), 0.3, rng=1)
    assert y.dtype == np.float32
    assert abs((y.numpy() != 0).mean() - 0.7) < 0.02


def test_same_seed_same_bytes_and_eval_is_identity():
    x = tensor(randn(2, (3, 5)).astype(np.float32))
    a = F.dropout(x, 0.5, rng=x.backend.rng(7)).numpy()
    b = F.dropout(x, 0.5, rng=7).numpy()
    assert a.tobytes() == b.tobytes()
    assert F.dropout(x, 0.5, rng=8).numpy().tobytes() != a.tobytes()
    # a NumPy generator draws NumPy's mask whatever the tensor's backend
    on_numpy = F.dropout(x.to("numpy"), 0.5, rng=backends.get("numpy").rng(7)).numpy()
    assert F.dropout(x, 0.5, rng=backends.get("numpy").rng(7)).numpy().tobytes() == on_numpy.tobytes()
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0, rng=7) is x
    assert not F.dropout(x, 1.0, rng=7).numpy().any()


def test_dropout_matches_torch_semantics(torch):
    """torch.nn.functional.dropout: kept elements scaled by 1/(1-p), the gradient is the mask."""
    x = np.abs(randn(3, (200,))) + 0.1
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.dropout(xt, 0.25, training=True)
    yt.sum().backward()
    y = F.dropout(tensor(x), 0.25, rng=0).numpy()
    for out, grad in ((yt.detach().numpy(), xt.grad.numpy()), (y, None)):
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / 0.75, rtol=1e-15)
        if grad is not None:
            np.testing.assert_allclose(grad, kept / 0.75, rtol=1e-15)


def test_dropout_errors():
    with pytest.raises(ValueError, match="dropout: p must be in \\[0, 1\\], got 1.5"):
        F.dropout(tensor(np.ones(2)), 1.5)
    with pytest.raises(TypeError, match="dropout: input must be a float tensor, got dtype int64"):
        F.dropout(tensor(np.ones(2, dtype=np.int64)), 0.5)
