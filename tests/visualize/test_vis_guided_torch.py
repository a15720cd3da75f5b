"""Guided backprop and deconvnet equal a PyTorch reference: the same weights in a torch chain
whose ReLUs get backward hooks that apply the rules of Springenberg et al. / Zeiler & Fergus."""
from __future__ import annotations

import numpy as np
import pytest

from torch_reference import _route_pools, assert_input_grad_close, our_pool_indices
from visualize.inputs import pixel_gradient
from visualize.methods.guided_backprop import GuidedBackprop


def torch_chain(torch, net):
    """The leaf layers of ``net`` as a torch.nn.Sequential with copies of its weights."""
    nn = torch.nn
    layers = []
    for _, m in net.layers():
        kind = type(m).__name__
        if kind == "Conv2d":
            t = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups)
        elif kind == "Linear":
            t = nn.Linear(m.in_features, m.out_features)
        elif kind == "ReLU":
            t = nn.ReLU()
        elif kind == "MaxPool2d":
            t = nn.MaxPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
        elif kind == "AdaptiveAvgPool2d":
            t = nn.AdaptiveAvgPool2d(m.output_size)
        elif kind == "Flatten":
            t = nn.Flatten()
        elif kind == "Dropout":
            t = nn.Dropout(m.p)
        else:
            raise NotImplementedError(kind)
        if kind in ("Conv2d", "Linear"):
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m.weight.numpy()))
                t.bias.copy_(torch.from_numpy(m.bias.numpy()))
        layers.append(t)
    return nn.Sequential(*layers).eval()


def hook_relus(torch, chain, mode):
    """Backward hooks: guided passes grad_in.clamp(min=0) = g [x > 0] [g > 0]; the deconvnet
    ignores the forward mask and passes grad_out.clamp(min=0) = g [g > 0]."""
    def guided(module, grad_in, grad_out):
        return (grad_in[0].clamp(min=0),)

    def deconv(module, grad_in, grad_out):
        return (grad_out[0].clamp(min=0),)

    for m in chain:
        if isinstance(m, torch.nn.ReLU):
            m.register_full_backward_hook(guided if mode == "guided" else deconv)


def reference(torch, net, image, mode, target=None, stop=None, unit=None, dtype="float32", route_pools=False):
    """torch's guided/deconvnet image gradient, computed in ``dtype`` (float64: the reference
    of the numerics rule, float32: the spread that rule scales). ``route_pools``: its max pools
    pick what ours picked in float32, each pick checked to be a near-tie
    (torch_reference._route_pools; the deconvnet sends gradient through every pool choice)."""
    chain = torch_chain(torch, net).to(getattr(torch, dtype))
    hook_relus(torch, chain, mode)
    x_ours = net.preprocess(image).numpy()
    if route_pools:
        paths = [p for p, _ in net.layers()]
        _route_pools(torch, chain, {str(paths.index(p)): idx for p, idx in our_pool_indices(net, x_ours).items()})
    x = torch.from_numpy(x_ours.astype(dtype)).requires_grad_(True)
    paths = [p for p, _ in net.layers()]
    end = len(paths) if stop is None else paths.index(net.resolve(stop)) + 1
    out = chain[:end](x)
    seed = torch.zeros_like(out)
    if stop is None:
        seed[0, target] = 1
    else:
        seed[(0,) + tuple(unit)] = 1
    out.backward(seed)
    return pixel_gradient(net, x.grad.numpy())


def _max_rel_error(ours, ref):
    return float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-30))


@pytest.mark.parametrize("mode", ["guided", "deconvnet"])
def test_class_reconstruction_matches_torch(torch, mode, trained_or_random_mnist, held_out_digits):
    """Our float32 reconstruction against torch's float64 one, by the numerics rule of
    tests/torch_reference.py (relative L2 within 3x torch's own float32-vs-float64 spread,
    floor 1e-4): a fixed 1e-5 bound on the max error held with one OpenBLAS kernel and failed
    at 4.9e-4 with OPENBLAS_CORETYPE=Haswell, where torch's float32 moves as much."""
    net = trained_or_random_mnist
    images, labels = held_out_digits
    for image, label in zip(images[:3], labels[:3]):
        ours = GuidedBackprop(net)(image, mode=mode, target=int(label)).arrays["gradient"]
        ref64 = reference(torch, net, image, mode, target=int(label), dtype="float64", route_pools=True)
        ref32 = reference(torch, net, image, mode, target=int(label))
        assert np.abs(ref64).max() > 0
        assert_input_grad_close(ours, ref32, ref64, f"{mode} reconstruction of a {label}")


@pytest.mark.parametrize("mode", ["guided", "deconvnet"])
def test_unit_reconstruction_matches_torch(torch, mode, trained_or_random_mnist, held_out_digits):
    net = trained_or_random_mnist
    image = held_out_digits[0][5]
    result = GuidedBackprop(net)(image, mode=mode, layer="conv2_2", unit=(4,))
    t = result.metadata["report"]["target"]
    ref = reference(torch, net, image, mode, stop="conv2_2", unit=[t["channel"], *t["position"]])
    assert _max_rel_error(result.arrays["gradient"], ref) < 1e-5


def test_rgb_network_matches_torch(torch, alexnet_small):
    image = np.random.default_rng(2).random((70, 64, 3)).astype(np.float32)
    ours = GuidedBackprop(alexnet_small)(image, target=7).arrays["gradient"]
    ref = reference(torch, alexnet_small, image, "guided", target=7)
    assert _max_rel_error(ours, ref) < 1e-4


def test_guided_differs_from_plain_gradient(trained_or_random_mnist, held_out_digits):
    from visualize.gradients import backprop_class
    net = trained_or_random_mnist
    x = net.preprocess(held_out_digits[0][0])
    plain = backprop_class(net, x, 3).gradient
    guided = backprop_class(net, x, 3, relu="guided").gradient
    assert not np.allclose(plain, guided)
