"""The fast-style benchmark case: stylizing one image with the feed-forward network of
:mod:`models.fast_style` (a mix of two styles), by minigrad and by the same network written
in PyTorch with the same weights (:func:`torch_fast_style`), forward only, float32, batch 1.
Before timing, both sides must agree on the output (see :mod:`benchmarks.cases`).

The weights are the shipped ``weights/fast_style.h5`` when present (the speed does not
depend on the values), else a network drawn from seed 0 at the shipped widths.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import minigrad
from models import fast_style

SHIPPED = Path(__file__).resolve().parent.parent / "weights" / "fast_style.h5"
FIVE = ("composition_vii", "great_wave_off_kanagawa", "shipwreck_of_the_minotaur", "starry_night", "the_scream")


def torch_fast_style(net: fast_style.FastStyleNet, weights, torch):
    """A torch.nn.Module computing ``net(x, weights)`` for the mixing ``weights`` (S,) with
    ``net``'s parameters (the mixed (gamma, beta) computed once), float32, evaluation mode."""
    tnn = torch.nn
    mix = np.asarray(weights, np.float64)

    def copy(a):
        return torch.from_numpy(np.ascontiguousarray(a.numpy() if hasattr(a, "numpy") else a, dtype=np.float32))

    class ConvCIN(tnn.Module):
        def __init__(self, block):
            super().__init__()
            self.upsample, self.relu = block.upsample, block.relu
            self.pad = tnn.ReflectionPad2d(block.pad.padding)
            conv = block.conv
            self.conv = tnn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride)
            self.norm = tnn.InstanceNorm2d(conv.out_channels, eps=block.norm.eps, affine=True)
            with torch.no_grad():
                self.conv.weight.copy_(copy(conv.weight))
                self.conv.bias.copy_(copy(conv.bias))
                self.norm.weight.copy_(copy(mix @ block.norm.weight.numpy().astype(np.float64)))
                self.norm.bias.copy_(copy(mix @ block.norm.bias.numpy().astype(np.float64)))

        def forward(self, x):
            if self.upsample:
                x = tnn.functional.interpolate(x, scale_factor=2, mode="nearest")
            y = self.norm(self.conv(self.pad(x)))
            return torch.relu(y) if self.relu else y

    class Residual(tnn.Module):
        def __init__(self, block):
            super().__init__()
            self.block1, self.block2 = ConvCIN(block.block1), ConvCIN(block.block2)

        def forward(self, x):
            return x + self.block2(self.block1(x))

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.body = tnn.Sequential(*[ConvCIN(b) for b in net.down], *[Residual(b) for b in net.residual],
                                       *[ConvCIN(b) for b in net.up])
            self.pad = tnn.ReflectionPad2d(4)
            self.out = tnn.Conv2d(net.out.in_channels, 3, 9)
            with torch.no_grad():
                self.out.weight.copy_(copy(net.out.weight))
                self.out.bias.copy_(copy(net.out.bias))

        def forward(self, x):
            return torch.sigmoid(self.out(self.pad(self.body(x))))

    model = Net().eval()
    model.requires_grad_(False)
    return model


def _network(widths):
    if widths == fast_style.WIDTHS and SHIPPED.exists():
        return fast_style.load(SHIPPED)
    return fast_style.FastStyleNet(FIVE, widths, rng=np.random.default_rng(0)).eval().requires_grad_(False)


def fast_style_case(name: str, size: int, widths=fast_style.WIDTHS):
    """Stylize a size x size image with a 0.7 / 0.3 mix of the first two styles (a
    :class:`benchmarks.cases.Case`; imported here because benchmarks.cases lists these cases)."""
    from benchmarks.cases import Case, _comparison
    info = {"network": f"fast_style {list(widths)}", "input_shape": [1, 3, size, size], "backward": False}

    def prepare(ctx):
        net = _network(tuple(widths)).to(ctx.backend.name)
        weights = np.zeros(len(net.styles))
        weights[:2] = 0.7, 0.3
        mix = minigrad.Tensor(ctx.array(weights[None].astype(np.float32)))
        theirs = None
        if ctx.has_reference:
            theirs = torch_fast_style(net, weights, ctx.torch).to(ctx.torch_device)
        return _comparison(ctx, name, lambda x: net(x, mix), theirs,
                           np.random.default_rng(0).random((1, 3, size, size)).astype(np.float32), backward=False)

    return Case(name, f"fast-style network (widths {list(widths)}) stylizing {size}x{size}, a mix of two styles",
                prepare, info=info)


def fast_style_cases(tiny: bool = False) -> list:
    """The suite's case (512 x 512 at the shipped widths), or the tests' tiny one."""
    if tiny:
        return [fast_style_case("tiny_fast_style", 16, (2, 4, 4))]
    return [fast_style_case("fast_style_512", 512)]
