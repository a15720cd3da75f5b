"""relu (normal, guided, deconvnet), leaky_relu, softmax, log_softmax: finite differences,
torch comparisons, the two visualization backward modes against torch backward hooks."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from minigrad import functional as F
from op_checks import (DTYPES, FEW, FEWER, assert_close, check_grad, compare_with_torch, host, randn, seeds,
                               tensor)

shapes = array_shapes(min_dims=1, max_dims=3, max_side=3)


@st.composite
def shape_and_axis(draw):
    shape = draw(shapes)
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@FEW
@given(shape=shapes, seed=seeds, slope=st.floats(-0.5, 0.5))
def test_relu_and_leaky_relu_gradcheck(shape, seed, slope):
    x = randn(seed, shape, away_from_zero=True)  # away from the kink at 0
    check_grad(F.relu, x)
    check_grad(lambda t: F.leaky_relu(t, slope), x)


@FEW
@given(case=shape_and_axis(), seed=seeds)
def test_softmax_and_log_softmax_gradcheck(case, seed):
    shape, axis = case
    x = 3 * randn(seed, shape)
    check_grad(lambda t: F.softmax(t, axis), x)
    check_grad(lambda t: F.log_softmax(t, axis), x)


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(case=shape_and_axis(), seed=seeds, slope=st.floats(-0.5, 0.5))
def test_activations_match_torch(torch, dtype, case, seed, slope):
    shape, axis = case
    x = 3 * randn(seed, shape)
    tf = torch.nn.functional
    compare_with_torch(torch, F.relu, torch.relu, [x], dtype, seed)
    compare_with_torch(torch, lambda t: F.leaky_relu(t, slope), lambda t: tf.leaky_relu(t, slope), [x], dtype, seed)
    # their gradients are differences of terms up to max |cotangent| (grad_scale=1): y (g - sum g y)
    compare_with_torch(torch, lambda t: F.softmax(t, axis), lambda t: torch.softmax(t, axis), [x], dtype, seed,
                       grad_scale=1.0)
    compare_with_torch(torch, lambda t: F.log_softmax(t, axis), lambda t: torch.log_softmax(t, axis), [x], dtype,
                       seed, grad_scale=1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_kink_matches_torch(torch, dtype):
    """At x = 0 both pass no gradient through relu and the slope through leaky_relu."""
    x = np.array([-1.0, 0.0, 2.0])
    compare_with_torch(torch, F.relu, torch.relu, [x], dtype)
    compare_with_torch(torch, lambda t: F.leaky_relu(t, 0.1),
                       lambda t: torch.nn.functional.leaky_relu(t, 0.1), [x], dtype)


def test_softmax_is_stable_for_large_logits():
    x = tensor(np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32))
    np.testing.assert_allclose(F.softmax(x).numpy(), [[1, 0, 0]], atol=0)
    np.testing.assert_allclose(F.log_softmax(x).numpy(), [[0, -1000, -2000]])


# ----------------------------------------------------------------- guided backprop and deconvnet
def _torch_hook(torch, mode):
    """The usual torch implementation of the two modes, as backward hooks on each ReLU."""
    def hook(module, grad_input, grad_output):
        if mode == "guided":  # grad_input = g * [x > 0]; keep only its positive part
            return (torch.clamp(grad_input[0], min=0),)
        return (torch.clamp(grad_output[0], min=0),)  # deconvnet: ignore x, keep g > 0
    return hook


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["normal", "guided", "deconvnet"])
def test_relu_modes_match_torch_backward_hooks(torch, dtype, mode):
    """linear-relu-linear-relu-linear: the input gradient of one output under each mode."""
    rng = np.random.default_rng(0)
    sizes = [6, 8, 7, 4]
    weights = [(rng.standard_normal((o, i)), rng.standard_normal(o)) for i, o in zip(sizes, sizes[1:])]
    x = rng.standard_normal((3, sizes[0]))
    seed_grad = rng.standard_normal((3, sizes[-1]))

    layers = []
    for k, (w, b) in enumerate(weights):
        linear = torch.nn.Linear(w.shape[1], w.shape[0]).to(getattr(torch, dtype))
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(w))
            linear.bias.copy_(torch.tensor(b))
        layers.append(linear)
        if k < len(weights) - 1:
            relu = torch.nn.ReLU()
            if mode != "normal":
                relu.register_full_backward_hook(_torch_hook(torch, mode))
            layers.append(relu)
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    torch.nn.Sequential(*layers)(xt).backward(torch.tensor(seed_grad.astype(dtype)))

    xm = tensor(x.astype(dtype), requires_grad=True)
    h = xm
    for k, (w, b) in enumerate(weights):
        h = F.linear(h, tensor(w.astype(dtype)), tensor(b.astype(dtype)))
        if k < len(weights) - 1:
            h = F.relu(h)
    with F.relu_mode(mode):
        h.backward(seed_grad.astype(dtype))
    assert F.current_relu_mode() == "normal"
    assert_close(xm.grad, xt.grad.numpy(), 1e-10 if dtype == "float64" else 1e-5, f"{mode} input gradient")


def test_relu_modes_on_one_relu():
    x = tensor(np.array([-1.0, -1.0, 2.0, 2.0]), requires_grad=True)
    g = np.array([3.0, -3.0, 3.0, -3.0])
    expected = {"normal": [0, 0, 3, -3], "guided": [0, 0, 3, 0], "deconvnet": [3, 0, 3, 0]}
    for mode, want in expected.items():
        x.grad = None
        with F.relu_mode(mode):
            F.relu(x).backward(g)
        np.testing.assert_array_equal(host(x.grad), want)


def test_relu_mode_restores_after_an_error_and_rejects_unknown_modes():
    with pytest.raises(RuntimeError):
        with F.relu_mode("guided"):
            raise RuntimeError("boom")
    assert F.current_relu_mode() == "normal"
    with pytest.raises(ValueError, match="relu_mode: unknown mode 'guide'"):
        with F.relu_mode("guide"):
            pass


def test_softmax_bad_axis_raises():
    x = tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="softmax: axis 2 is out of range"):
        F.softmax(x, axis=2)
    with pytest.raises(ValueError, match="log_softmax: needs one int axis"):
        F.log_softmax(x, axis=(0, 1))
