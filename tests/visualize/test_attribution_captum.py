"""Grad-CAM and integrated gradients equal Captum's (LayerGradCam, IntegratedGradients) in float64.

The networks: mnist_cnn through the converter (a torch checkpoint written from the torch
reference of tests/torch_reference.py, ``minigrad weights convert``, loaded), and random AlexNet
and VGG-16 at small inputs sharing their arrays with the torch references (the converter's
identity on those is tested in tests/convert). Captum multiplies the gradients by its quadrature
weights after casting them to float32 (``torch.tensor(step_sizes).float()``), so the
Gauss-Legendre comparison gives our function the same float32-rounded weights; the Riemann rules
with a power-of-two number of steps have weights exact in float32 and are compared as they are.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import models
from minigrad.tensor import Tensor
from torch_reference import TORCH_BUILDERS, host_state, torch_net
from visualize.cli import main as cli_main
from visualize.methods.grad_cam import grad_cam, upsample
from visualize.methods.integrated_gradients import integrated_gradients, quadrature

pytestmark = pytest.mark.torch
TOLERANCE = 1e-10
CAPTUM_RULES = {"gauss-legendre": "gausslegendre", "riemann-middle": "riemann_middle", "riemann-left": "riemann_left"}


@pytest.fixture(scope="module")
def captum(torch):
    try:
        import captum.attr
    except ImportError:
        if os.environ.get("MINIGRAD_REQUIRE_TORCH") == "1":
            pytest.fail("MINIGRAD_REQUIRE_TORCH=1 but captum is not installed: pip install captum")
        pytest.skip("captum is not installed (Captum comparisons skipped)")
    return captum.attr


@pytest.fixture(scope="module")
def converted_mnist(torch, tmp_path_factory):
    """mnist_cnn (random weights, seed 5) written by torch and read back by the converter, float64."""
    make, _ = TORCH_BUILDERS["mnist_cnn"]
    state = host_state(models.build("mnist_cnn", seed=5))
    folder = tmp_path_factory.mktemp("captum")
    torch.save(torch_net(torch, make, state).state_dict(), folder / "mnist.pth")
    assert cli_main(["weights", "convert", str(folder / "mnist.pth"), str(folder / "mnist.h5"),
                     "--arch", "mnist_cnn"]) == 0
    return models.load(folder / "mnist.h5")


_PAIRS = {}


def _pair(torch, request, name):
    """Our float64 network and the torch reference holding the same float64 arrays (built once)."""
    if name in _PAIRS:
        return _PAIRS[name]
    make, size = TORCH_BUILDERS[name]
    net = request.getfixturevalue({"mnist_cnn": "converted_mnist", "alexnet": "alexnet_small",
                                   "vgg16": "vgg_small"}[name])
    state = {k: v.astype(np.float64) for k, v in host_state(net).items()}
    ours = models.from_state(name, state).requires_grad_(False)
    _PAIRS[name] = ours, torch_net(torch, make, state), size
    return _PAIRS[name]


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _inputs(net, size, seed):
    rng = np.random.default_rng(seed)
    c = net.preprocessing.channels
    return rng.standard_normal((1, c, size, size)), 0.3 * rng.standard_normal((1, c, size, size))


@pytest.mark.parametrize("name, layer", [("mnist_cnn", "relu2_2"), ("alexnet", "relu5"), ("vgg16", "relu5_3")])
def test_grad_cam_equals_captum(torch, captum, request, name, layer):
    net, tnet, size = _pair(torch, request, name)
    x, _ = _inputs(net, size, 1)
    # the first class whose map is positive somewhere (not all zero after the ReLU)
    target, ours = next((t, cam) for t in range(10) for cam in [grad_cam(net, Tensor(x), layer, t)]
                        if cam.raw.max() > 0)
    module = tnet.get_submodule(net.resolve(layer))
    gc = captum.LayerGradCam(tnet, module)
    xt = torch.from_numpy(x)
    raw = gc.attribute(xt, target=target).detach()
    ref = gc.attribute(xt, target=target, relu_attributions=True).detach()
    up = captum.LayerAttribution.interpolate(ref, (size, size), "bilinear").numpy()[0, 0]
    errors = (_rel(ours.raw, raw.numpy()[0, 0]), _rel(ours.cam, ref.numpy()[0, 0]),
              _rel(upsample(ours.cam, (size, size)), up))
    print(f"\n{name} Grad-CAM at {layer} vs Captum: raw {errors[0]:.1e}, ReLU {errors[1]:.1e}, upsampled {errors[2]:.1e}")
    assert max(errors) <= TOLERANCE


@pytest.mark.parametrize("name, rule, steps", [
    ("mnist_cnn", "gauss-legendre", 64), ("mnist_cnn", "riemann-middle", 32),
    pytest.param("alexnet", "gauss-legendre", 8, marks=pytest.mark.slow),
    pytest.param("vgg16", "riemann-left", 8, marks=pytest.mark.slow)])
def test_integrated_gradients_equal_captum(torch, captum, request, name, rule, steps):
    net, tnet, size = _pair(torch, request, name)
    x, baseline = _inputs(net, size, 2)
    alphas, weights = quadrature(rule, steps)
    weights = weights.astype(np.float32).astype(np.float64)       # Captum's float32 step sizes
    ours = integrated_gradients(net, Tensor(x), Tensor(baseline), 7 % len(net.class_names), alphas, weights,
                                batch_size=16)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)                         # Captum's Riemann points via torch.linspace
    try:
        ref = captum.IntegratedGradients(tnet).attribute(
            torch.from_numpy(x), torch.from_numpy(baseline), target=7 % len(net.class_names), n_steps=steps,
            method=CAPTUM_RULES[rule], internal_batch_size=16).numpy()[0]
    finally:
        torch.set_default_dtype(previous)
    error = _rel(ours.attributions, ref)
    print(f"\n{name} IG ({rule}, {steps} steps) vs Captum: {error:.1e}; completeness error {ours.completeness_error:.2e}")
    assert error <= TOLERANCE
