"""The benchmark cases, each run by minigrad and by PyTorch on the same weights and input.

Every case is float32, batch 1 unless its name says otherwise, and uses frozen networks in
evaluation mode with a gradient wanted for the input only, which is how the visualization
methods use a network (saliency, class visualization, style transfer). The PyTorch side is
a plain ``torch.nn.Sequential`` built layer by layer from the minigrad network, with its
weights copied (torchvision is not needed), and with ``ReLU(inplace=True)`` as torchvision's
VGG and AlexNet have it, so the baseline is what people actually run. Before a case is
timed both sides run it once and must agree (the output, and the input gradient of a
backward case), so a wrong copy or a wrong gradient cannot produce a flattering ratio.

Input gradients are judged as docs/numerics.md section 2 says: in float32 a deep
network's input gradient is ill-conditioned (a max-pool window with two nearly equal values
sends its whole gradient to either pixel, depending on rounding), so two correct float32
implementations can differ by percents. PyTorch's float64 gradient on the same weights is
the yardstick: minigrad's float32 gradient g passes when
``||g - g64|| <= 3 ||g32 - g64|| + GRADIENT_FLOOR ||g64||`` with g32 PyTorch's own float32
gradient, i.e. when minigrad is no further from the exact answer than PyTorch's own float32
rounding puts PyTorch (with a margin).

Backward passes start from a fixed, seeded random gradient at the output (dense, like a
style loss's; a one-hot class gradient at the logits costs the same).

``TINY_CASES`` are the same kinds of case on a small network and layer, for the tests.
"""
from __future__ import annotations

import copy
import fnmatch
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import backends
import minigrad
import minigrad.functional as F
from minigrad import nn
from benchmarks.fast_style_case import fast_style_cases
from benchmarks.harness import Workload

PROJECT, REFERENCE = "minigrad", "pytorch"

#: largest relative difference (to the output's largest magnitude) allowed between the
#: minigrad and PyTorch forward outputs before a case refuses to run
AGREEMENT_TOLERANCE = 1e-3
#: the input-gradient check's floor (relative L2 to the float64 gradient) and its margin over
#: PyTorch's own float32 error (see the module docstring)
GRADIENT_FLOOR, GRADIENT_MARGIN = 1e-4, 3.0


def load_torch():
    """PyTorch set up for a fair comparison, or None when it is not installed: as many
    threads as NumPy's BLAS uses, and on the GPU strict float32 (no TF32 in convolutions
    or matrix products; minigrad computes in float32 too)."""
    try:
        import torch
    except ImportError:
        return None
    from benchmarks.environment import blas_libraries, numpy_blas
    torch.set_num_threads(numpy_blas(blas_libraries()).get("num_threads") or os.cpu_count() or 1)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch


class Context:
    """What the cases share during one run: the backend, torch (or None), and the networks
    already built (VGG-16 is built once, not once per case)."""

    def __init__(self, backend: str, torch=None):
        self.backend = backends.get(backend)
        self.torch = torch
        self.torch_device = None
        if torch is not None:
            if self.backend.name == "cupy":
                self.torch_device = "cuda" if torch.cuda.is_available() else None
            else:
                self.torch_device = "cpu"
        self._nets: dict = {}

    @property
    def has_reference(self) -> bool:
        return self.torch_device is not None

    def network(self, name: str):
        """(minigrad network on this backend, its PyTorch copy or None), built once."""
        if name not in self._nets:
            net = NETWORKS[name]()
            net.eval().requires_grad_(False)
            net.to(self.backend.name)
            reference = torch_copy(net, self.torch, self.torch_device) if self.has_reference else None
            self._nets[name] = (net, reference)
        return self._nets[name]

    def array(self, values: np.ndarray):
        return self.backend.asarray(values)

    def torch_tensor(self, values: np.ndarray):
        return self.torch.from_numpy(np.ascontiguousarray(values)).to(self.torch_device)

    def synchronize_reference(self) -> None:
        if self.torch_device == "cuda":
            self.torch.cuda.synchronize()


@dataclass(frozen=True)
class Case:
    """One benchmark. ``prepare(ctx)`` returns ({"minigrad": Workload, "pytorch": Workload},
    details) (the second workload only when PyTorch can run it; details: what was checked).
    ``kind`` is "time" or "memory"; a memory case measures the workloads of the time case
    named ``of``. ``flops``: multiply-adds x 2 of one run, where that is well defined."""

    name: str
    description: str
    prepare: Callable[[Context], dict] = None
    kind: str = "time"
    flops: int | None = None
    of: str | None = None
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- networks
def _models_build(name):
    def build():
        import models
        if not hasattr(models, "build"):
            raise RuntimeError(f"models.build is not available yet, so the {name} cases cannot run")
        return models.build(name, seed=0)
    return build


def tiny_cnn():
    """A small chain with every layer type the real cases use, for the tests."""
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.5, rng=rng), nn.Linear(64, 10, rng=rng),
        aliases={"conv1": "0", "relu1": "1", "pool1": "2", "conv2": "3", "relu2": "4", "pool2": "5", "fc": "9"})


NETWORKS = {"vgg16": _models_build("vgg16"), "alexnet": _models_build("alexnet"), "tiny": tiny_cnn}


def _torch_layer(module, torch):
    """The torch.nn module that computes what the minigrad leaf ``module`` computes, with
    the same weights."""
    tnn = torch.nn
    kind = type(module).__name__
    if kind == "Conv2d":
        layer = tnn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, module.stride,
                           module.padding, module.dilation, module.groups, bias=module.bias is not None)
    elif kind == "Linear":
        layer = tnn.Linear(module.in_features, module.out_features, bias=module.bias is not None)
    elif kind == "ReLU":
        return tnn.ReLU(inplace=True)
    elif kind == "MaxPool2d":
        return tnn.MaxPool2d(module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode)
    elif kind == "AvgPool2d":
        return tnn.AvgPool2d(module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode)
    elif kind == "AdaptiveAvgPool2d":
        return tnn.AdaptiveAvgPool2d(module.output_size)
    elif kind == "Flatten":
        return tnn.Flatten(1)
    elif kind == "Dropout":
        return tnn.Dropout(module.p)
    elif kind == "LocalResponseNorm":
        return tnn.LocalResponseNorm(module.size, module.alpha, module.beta, module.k)
    else:
        raise TypeError(f"benchmarks: no PyTorch counterpart for layer type {kind}; "
                        "add one to benchmarks.cases._torch_layer")
    with torch.no_grad():
        for name, param in module._parameters.items():
            if param is not None:
                getattr(layer, name).copy_(torch.from_numpy(param.numpy()))
    return layer


def torch_copy(net, torch, device):
    """A torch.nn.Sequential of ``net``'s leaf layers in order, same weights, float32,
    evaluation mode, parameters frozen. Its i-th module is ``net.layers()[i]``."""
    layers = [_torch_layer(m, torch) for _, m in net.layers()]
    model = torch.nn.Sequential(*layers).to(device=device, dtype=torch.float32).eval()
    model.requires_grad_(False)
    return model


def _prefix(net, reference, layer):
    """The minigrad function and the torch module that run ``net`` up to ``layer`` (all of
    it when ``layer`` is None)."""
    if layer is None:
        return net, reference
    target = net.resolve(layer)
    index = [path for path, _ in net.layers()].index(target)
    return (lambda x: net.forward_to(x, layer)), (reference[:index + 1] if reference is not None else None)


def _check_agreement(case_name, ours, theirs) -> float:
    """The largest difference between the two outputs relative to the largest |output|;
    a RuntimeError when it is over AGREEMENT_TOLERANCE."""
    ours = backends.backend_of(ours).to_numpy(ours)
    theirs = theirs.detach().cpu().numpy()
    if ours.shape != theirs.shape:
        raise RuntimeError(f"{case_name}: minigrad output shape {ours.shape} != PyTorch's {theirs.shape}")
    scale = float(np.abs(theirs).max()) or 1.0
    difference = float(np.abs(ours - theirs).max()) / scale
    if not difference <= AGREEMENT_TOLERANCE:
        raise RuntimeError(f"{case_name}: minigrad and PyTorch outputs differ by {difference:.2e} (relative to "
                           f"the largest output); the comparison would be meaningless")
    return difference


def _seeded(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _comparison(ctx, name, minigrad_fn, torch_fn, x, backward):
    """Workloads for ``y = fn(x)`` (forward) or ``y = fn(x); y.backward(g)`` (backward),
    after checking that the two sides agree on y (and on dL/dx). Returns (workloads, details)."""
    with minigrad.no_grad():
        y = minigrad_fn(minigrad.Tensor(ctx.array(x)))
    output_shape = y.shape
    details = {"output_shape": list(output_shape)}
    if torch_fn is not None:
        with ctx.torch.no_grad():
            details["max_rel_difference"] = _check_agreement(name, y.data, torch_fn(ctx.torch_tensor(x)))
    del y
    grad = _seeded(output_shape, seed=1)
    sync = ctx.backend.synchronize
    x_ours, g_ours = ctx.array(x), ctx.array(grad)

    if backward:
        def run_ours(_):
            inp = minigrad.Tensor(x_ours, requires_grad=True)
            minigrad_fn(inp).backward(g_ours)
            return inp.grad
    else:
        def run_ours(_):
            with minigrad.no_grad():
                minigrad_fn(minigrad.Tensor(x_ours))
    workloads = {PROJECT: Workload(run=run_ours, synchronize=sync)}

    if torch_fn is not None:
        torch = ctx.torch
        x_theirs, g_theirs = ctx.torch_tensor(x), ctx.torch_tensor(grad)
        if backward:
            def setup_theirs():
                return x_theirs.detach().clone().requires_grad_(True)

            def run_theirs(inp):
                torch_fn(inp).backward(g_theirs)
                return inp.grad
        else:
            def setup_theirs():
                return None

            def run_theirs(_):
                with torch.no_grad():
                    torch_fn(x_theirs)
        workloads[REFERENCE] = Workload(run=run_theirs, setup=setup_theirs, synchronize=ctx.synchronize_reference)
        if backward:
            g64 = _float64_input_grad(ctx, torch_fn, x, grad)
            details.update(_check_gradient(name, run_ours(None), run_theirs(setup_theirs()), g64))
    return workloads, details


def _float64(torch_fn, torch):
    """``torch_fn`` computed in float64: a float64 copy of a module, or ``torch_fn`` itself
    when it is a function of its input only (it then receives a float64 input and must use
    float64 weights; see :func:`conv_case`)."""
    if isinstance(torch_fn, torch.nn.Module):
        return copy.deepcopy(torch_fn).double()
    return torch_fn


def _float64_input_grad(ctx, torch_fn, x, grad) -> np.ndarray:
    """PyTorch's dL/dx in float64, same weights, input and output gradient."""
    torch = ctx.torch
    fn64 = _float64(torch_fn, torch)
    inp = ctx.torch_tensor(x.astype(np.float64)).requires_grad_(True)
    fn64(inp).backward(ctx.torch_tensor(grad.astype(np.float64)))
    return inp.grad.cpu().numpy()


def _check_gradient(case_name, ours, theirs, exact) -> dict:
    """Relative L2 distances of minigrad's (``ours``) and PyTorch's (``theirs``) float32 input
    gradients from PyTorch's float64 one (``exact``); a RuntimeError when minigrad's is over
    GRADIENT_MARGIN x PyTorch's + GRADIENT_FLOOR (docs/numerics.md section 2)."""
    ours = backends.backend_of(ours).to_numpy(ours).astype(np.float64)
    theirs = theirs.detach().cpu().numpy().astype(np.float64)
    if ours.shape != exact.shape:
        raise RuntimeError(f"{case_name}: minigrad input gradient shape {ours.shape} != PyTorch's {exact.shape}")
    norm = float(np.linalg.norm(exact)) or 1.0
    error = float(np.linalg.norm(ours - exact)) / norm
    reference_error = float(np.linalg.norm(theirs - exact)) / norm
    bound = GRADIENT_MARGIN * reference_error + GRADIENT_FLOOR
    if not error <= bound:
        raise RuntimeError(f"{case_name}: minigrad's float32 input gradient is {error:.2e} (relative L2) from "
                           f"PyTorch's float64 one, more than {GRADIENT_MARGIN:g} x PyTorch's own float32 error "
                           f"{reference_error:.2e} + {GRADIENT_FLOOR:g}; the comparison would be meaningless")
    return {"input_grad_rel_error": error, "pytorch_input_grad_rel_error": reference_error}


def network_case(name, description, network, input_shape, layer=None, backward=True):
    """Forward (and backward to the input) through ``network`` up to ``layer``."""
    info = {"network": network, "input_shape": list(input_shape), "layer": layer, "backward": backward}

    def prepare(ctx):
        net, reference = ctx.network(network)
        ours, theirs = _prefix(net, reference, layer)
        return _comparison(ctx, name, ours, theirs, _seeded(input_shape, seed=0), backward)

    return Case(name, description, prepare, info=info)


def conv_case(name, in_channels, out_channels, size, backward):
    """One 3x3, padding 1 convolution (a VGG layer), forward, or backward to the input."""
    shape = (1, in_channels, size, size)
    flops = 2 * out_channels * in_channels * 9 * size * size
    info = {"input_shape": list(shape), "out_channels": out_channels, "kernel": 3, "padding": 1,
            "backward": backward}

    def prepare(ctx):
        rng = np.random.default_rng(2)
        bound = 1 / np.sqrt(in_channels * 9)
        w = rng.uniform(-bound, bound, (out_channels, in_channels, 3, 3)).astype(np.float32)
        b = rng.uniform(-bound, bound, out_channels).astype(np.float32)
        w_ours, b_ours = minigrad.Tensor(ctx.array(w)), minigrad.Tensor(ctx.array(b))
        theirs = None
        if ctx.has_reference:
            weights = {dtype: (ctx.torch_tensor(w).to(dtype), ctx.torch_tensor(b).to(dtype))
                       for dtype in (ctx.torch.float32, ctx.torch.float64)}
            functional = ctx.torch.nn.functional

            def theirs(x):  # in the input's precision (float64 for the gradient check)
                return functional.conv2d(x, *weights[x.dtype], padding=1)
        return _comparison(ctx, name, lambda x: F.conv2d(x, w_ours, b_ours, padding=1),
                           theirs, _seeded(shape, seed=0), backward)

    direction = "backward to the input" if backward else "forward"
    return Case(name, f"conv2d 3x3 {in_channels}->{out_channels} at {size}x{size}, {direction}", prepare,
                flops=flops, info=info)


def memory_case(name, description, of):
    """Peak memory of the workloads of the time case ``of``."""
    return Case(name, description, kind="memory", of=of)


# --------------------------------------------------------------------------- the suite
#: distinct (in, out, size) of VGG-16's thirteen 3x3 convolutions at 224x224
VGG16_CONV_SHAPES = [(3, 64, 224), (64, 64, 224), (64, 128, 112), (128, 128, 112), (128, 256, 56),
                     (256, 256, 56), (256, 512, 28), (512, 512, 28), (512, 512, 14)]


def _network_suite(network, size, style_layer, style_size):
    """Forward, forward + backward, a style step to ``style_layer``, and the peak memory of
    forward + backward, for ``network``."""
    shape = (1, 3, size, size)
    return [
        network_case(f"{network}_forward", f"{network} forward at {size}", network, shape, backward=False),
        network_case(f"{network}_forward_backward", f"{network} forward + backward to the input at {size}",
                     network, shape),
        network_case(f"{network}_style_{style_layer}_{style_size}",
                     f"{network} to {style_layer} at {style_size}, forward + backward (a style-transfer step)",
                     network, (1, 3, style_size, style_size), layer=style_layer),
        memory_case(f"{network}_peak_memory", f"peak memory of {network} forward + backward at {size}",
                    of=f"{network}_forward_backward"),
    ]


def _batch_cases(network, size, batches):
    return [network_case(f"{network}_forward_backward_b{n}",
                         f"{network} forward + backward to the input at {size}, batch {n}",
                         network, (n, 3, size, size)) for n in batches]


def _conv_cases(prefix, shapes):
    return [conv_case(f"{prefix}_{cin}x{cout}_{size}_{direction}", cin, cout, size, direction == "backward")
            for cin, cout, size in shapes for direction in ("forward", "backward")]


CASES = (_network_suite("vgg16", 224, "relu5_1", 512) + _batch_cases("alexnet", 224, (1, 8))
         + _conv_cases("conv2d", VGG16_CONV_SHAPES) + fast_style_cases())
TINY_CASES = (_network_suite("tiny", 16, "relu2", 24) + _batch_cases("tiny", 16, (2,))
              + _conv_cases("tiny_conv2d", [(8, 16, 12)]) + fast_style_cases(tiny=True))
ALL_CASES = {c.name: c for c in CASES + TINY_CASES}


def select(patterns=None) -> list:
    """The cases whose names match any of the comma-separated shell patterns (``vgg16_*``,
    ``conv2d_*_forward``); all of ``CASES`` (not the tiny ones) when ``patterns`` is empty."""
    if not patterns:
        return list(CASES)
    chosen = []
    for pattern in (p.strip() for p in patterns.split(",") if p.strip()):
        matches = [c for c in ALL_CASES.values() if fnmatch.fnmatchcase(c.name, pattern)]
        if not matches:
            raise ValueError(f"--cases: no case matches {pattern!r}; run with --list to see the case names")
        chosen.extend(c for c in matches if c not in chosen)
    return chosen
