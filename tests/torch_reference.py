"""PyTorch references for the ImageNet architectures, shared by the tests that compare with torch
(tests/test_models.py, tests/convert/). Not a test file: it defines no tests.

* ``TORCH_BUILDERS``: name -> (builder(torch) -> torch.nn.Module, input size). The networks are
  written out in plain torch.nn, independently of ``models/``, with torchvision's module
  structure (features -> avgpool -> flatten -> classifier), so state dicts map one to one.
  The input sizes are small (the adaptive pool accepts them) to keep float64 fast.
* :func:`torch_net` builds one on the meta device (no initialization) holding given arrays;
  :func:`host_state` gives them from our network (NumPy copies when it lives on the GPU).
* :func:`logits_and_input_grad` / :func:`torch_logits_and_input_grad`: the logits and the
  gradient of one class score with respect to the input, ours (on our network's backend,
  returned on the host) and torch's.
* :func:`assert_input_grad_close`: the float32 rule of docs/numerics.md section 2. A float32
  input gradient ``g`` is right when ``||g - g64|| / ||g64|| <= 3 ||g32 - g64|| / ||g64||``
  (floor 1e-4), with ``g64`` torch's float64 gradient and ``g32`` torch's float32 one: where a
  max-pool window holds a near-tie, float32 rounding may route the gradient to another pixel in
  any correct implementation, so torch's own float32 spread is the yardstick.
* That rule alone is not enough: torch's float32 run may resolve a near-tie as float64 does
  while ours does not (caffe_alexnet, weights seed 1, input seed 2: two pool1 values 4e-7 apart
  in float64 round to the same float32; ours32 is 5.6e-3 from g64 while torch's spread is 1e-6).
  So ``g64`` is torch's float64 gradient *with its max pools routed through our float32 choices*
  (:func:`our_pool_indices`, ``pool_indices=``), and every routed choice is checked to be a
  near-tie in float64 (at most ``TIE_TOLERANCE`` of the window's scale below the true maximum).
  Without ties this is exactly torch's float64 gradient; a wrong choice that is not a tie fails.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

import minigrad.functional as F
from minigrad.tensor import Tensor

FLOAT32_GRAD_FLOOR = 1e-4
TIE_TOLERANCE = 1e-5   # relative: float32 resolution (6e-8) times the rounding of a deep forward


# ---------------------------------------------------------------------- reference networks
def torch_chain(torch, features, pool, classifier):
    """torchvision's module structure: features -> avgpool -> flatten -> classifier."""
    nn = torch.nn

    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.features, self.avgpool, self.classifier = nn.Sequential(*features), nn.AdaptiveAvgPool2d(pool), \
                nn.Sequential(*classifier)

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return Chain()


def torch_alexnet(torch):
    nn = torch.nn
    return torch_chain(torch, [
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(True), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(True),
        nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(True), nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(True), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(True), nn.MaxPool2d(3, 2)], 6, [
        nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(True),
        nn.Linear(4096, 1000)])


def torch_vgg(torch, blocks):
    nn = torch.nn
    layers, c = [], 3
    for width, convs in zip((64, 128, 256, 512, 512), blocks):
        for _ in range(convs):
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU(True)]
            c = width
        layers.append(nn.MaxPool2d(2, 2))
    return torch_chain(torch, layers, 7, [
        nn.Linear(25088, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
        nn.Linear(4096, 1000)])


def torch_caffe_alexnet(torch):
    nn = torch.nn
    lrn = lambda: nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0)  # noqa: E731
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)       # noqa: E731
    return torch_chain(torch, [
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(), lrn(), pool(), nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(),
        lrn(), pool(), nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1, groups=2),
        nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), pool()], 6, [
        nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(),
        nn.Linear(4096, 1000)])


def torch_mnist_cnn(torch):
    nn = torch.nn
    return nn.Sequential(OrderedDict(features=nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2)),
        flatten=nn.Flatten(), classifier=nn.Sequential(nn.Linear(1568, 256), nn.ReLU(), nn.Dropout(), nn.Linear(256, 10))))


TORCH_BUILDERS = {  # small inputs keep float64 fast; the adaptive pool makes any size >= min valid
    "alexnet": (torch_alexnet, 127),
    "vgg16": (lambda torch: torch_vgg(torch, (2, 2, 3, 3, 3)), 32),
    "vgg19": (lambda torch: torch_vgg(torch, (2, 2, 4, 4, 4)), 32),
    "caffe_alexnet": (torch_caffe_alexnet, 163),
    "mnist_cnn": (torch_mnist_cnn, 28),
}


def host_state(net) -> dict:
    """``net``'s parameters and buffers by name as NumPy arrays (the arrays themselves on the
    NumPy backend, copies off the GPU)."""
    return {k: Tensor(v).numpy() for k, v in net.state_dict().items()}


def torch_net(torch, make_torch, state):
    """The torch network built without initializing (meta device), holding ``state``'s arrays
    (shared, not copied), in evaluation mode with frozen parameters."""
    with torch.device("meta"):
        tnet = make_torch(torch).eval()
    assert list(tnet.state_dict()) == list(state)
    tnet.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, assign=True)
    for p in tnet.parameters():
        p.requires_grad_(False)
    return tnet


# ---------------------------------------------------------------------- measurements
def rel(a, b):
    """Relative L2 error of ``a`` against the reference ``b``."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _input(net, x, requires_grad=False):
    """NumPy ``x`` as a tensor on the backend ``net`` lives on."""
    return Tensor(x, requires_grad=requires_grad, backend=net.parameters()[0].backend)


def logits_and_input_grad(net, x, cls):
    """Our network's logits for ``x`` and d logits[0, cls] / d x (NumPy arrays)."""
    net.requires_grad_(False)
    t = _input(net, x, requires_grad=True)
    logits = net(t)
    logits[0, cls].backward()
    return logits.numpy(), t.backend.to_numpy(t.grad)


def our_pool_indices(net, x) -> dict:
    """{path: indices} of every max pool of our network on input ``x`` (torch's flat H*W
    positions), i.e. which value each window picked in our arithmetic."""
    pools = {p: m for p, m in net.layers() if type(m).__name__ == "MaxPool2d"}
    paths = [p for p, _ in net.layers()]
    before = {paths[paths.index(p) - 1]: p for p in pools}
    inputs = net.capture(_input(net, x), list(before))
    out = {}
    for prev, value in inputs.items():
        m = pools[before[prev]]
        _, idx = F.max_pool2d(value, m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode, return_indices=True)
        out[before[prev]] = idx.numpy()
    return out


def _route_pools(torch, tnet, pool_indices):
    """Forward hooks that make each max pool of ``tnet`` output its input at ``pool_indices``
    (so the gradient follows those choices), after checking each is a near-tie."""
    def hook_for(path):
        def hook(module, inputs, out):
            a = inputs[0]
            idx = torch.from_numpy(pool_indices[path]).to(torch.int64)
            picked = a.flatten(2).gather(2, idx.flatten(2)).view_as(out)
            gap = float((out - picked).detach().abs().max())
            scale = float(out.detach().abs().max())
            assert gap <= TIE_TOLERANCE * scale, (
                f"max pool {path}: our float32 pick is {gap:.3g} below the window maximum in float64 "
                f"(window scale {scale:.3g}): not a near-tie, a wrong pick")
            return picked
        return hook

    for path, module in tnet.named_modules():
        if path in pool_indices:
            module.register_forward_hook(hook_for(path))


def torch_logits_and_input_grad(torch, make_torch, state, x, cls, pool_indices=None):
    """The same for the torch reference holding ``state`` (its dtype is the computation's);
    with ``pool_indices`` ({path: indices}), its max pools pick those positions (near-ties only)."""
    tnet = torch_net(torch, make_torch, state)
    if pool_indices is not None:
        _route_pools(torch, tnet, pool_indices)
    t = torch.tensor(x, requires_grad=True)
    logits = tnet(t)
    logits[0, cls].backward()
    return logits.detach().numpy(), t.grad.numpy()


def float32_grad_bound(g32_torch, g64_torch, floor=FLOAT32_GRAD_FLOOR):
    """docs/numerics.md section 2: 3 x torch's own float32-vs-float64 spread, at least ``floor``."""
    return max(3 * rel(g32_torch, g64_torch), floor)


def assert_input_grad_close(g32, g32_torch, g64_torch, what=""):
    """Our float32 input gradient ``g32`` against torch's float64 one (routed through our pool
    choices, see the module docstring), within the bound of :func:`float32_grad_bound`;
    returns the measured relative error."""
    error, bound = rel(g32, g64_torch), float32_grad_bound(g32_torch, g64_torch)
    assert error <= bound, (f"{what} float32 input gradient is {error:.2e} (relative L2) from torch's float64 "
                            f"one; bound {bound:.2e} = max(3 x torch's own float32 spread "
                            f"{rel(g32_torch, g64_torch):.2e}, {FLOAT32_GRAD_FLOOR:g})")
    return error
