"""The random multi-scale texture network of Ustyuzhaninov, Brendel, Gatys & Bethge (2016),
"Texture Synthesis Using Shallow Convolutional Networks with Random Filters" (arXiv:1606.00021;
ICLR 2017 as "What does it take to generate natural textures?").

They showed that Gram matrices of *one* convolutional layer with *random* filters of several
sizes, followed by a ReLU, are a good enough texture descriptor to synthesize natural textures
(Gatys et al.'s method with this net in place of VGG-19)::

    relu1 = ReLU( concat_s  conv_s(x) )       s in SIZES, FILTERS_PER_SCALE filters each

Each ``conv_s`` has ``s x s`` filters with "same" zero padding, so every scale yields a map of
the input's size and the scales are concatenated along channels. The layer is named ``conv1``,
its ReLU ``relu1``: texture and style methods take ``layers=["relu1"]`` with this net.

Filters are drawn from a seed (no weights file): uniform in [-1, 1], then each filter is made
zero-mean and scaled to unit L2 norm, so that every scale contributes responses of the same
magnitude and the image's mean brightness alone excites nothing (our normalization; the paper
states only that the filters are random). The bias is zero.

Defaults: the paper's eight sizes 3, 5, 7, 11, 15, 23, 37, 55, but 32 filters per size instead of
128 (256 channels instead of 1024), which makes each step of texture synthesis about four times
cheaper on a CPU; ``build_random_multiscale(filters_per_scale=128)`` gives the paper's network.
The large filters run through :func:`minigrad.functional.conv2d_fft`, whose cost does not grow
with the kernel size. Real VGG-16/19 weights (``minigrad weights fetch vgg16``) give the texture
quality of Gatys et al.; this net is the offline default that needs no download.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

import backends
from minigrad import functional as F
from minigrad import nn
from minigrad.nn.module import Parameter
from models.network import TORCHVISION, Network, Preprocessing
from models.registry import ArchitectureSpec, register

SIZES = (3, 5, 7, 11, 15, 23, 37, 55)
FILTERS_PER_SCALE = 32
DEFAULT_SEED = 0

# torchvision's RGB convention (so images prepared for VGG-16 work unchanged), applied at 256 x 256
PREPROCESSING = Preprocessing("RGB", TORCHVISION.input_range, TORCHVISION.mean, TORCHVISION.std,
                              (256, 256), 256)


class MultiScaleConv(nn.Module):
    """Fixed random filters of several sizes applied with 'same' padding, outputs concatenated.

    Parameters ``weight_<s>`` have shape (filters, in_channels, s, s) and do not require
    gradients (they are never trained); the layer is differentiable with respect to its input.
    """

    def __init__(self, in_channels=3, sizes=SIZES, filters_per_scale=FILTERS_PER_SCALE, rng=None):
        super().__init__()
        if not sizes or any(int(s) < 1 or int(s) % 2 == 0 for s in sizes):
            raise ValueError(f"MultiScaleConv: sizes must be odd positive ints (for 'same' padding), got {sizes}")
        if int(filters_per_scale) < 1:
            raise ValueError(f"MultiScaleConv: filters_per_scale must be >= 1, got {filters_per_scale}")
        self.sizes, self.filters_per_scale = tuple(int(s) for s in sizes), int(filters_per_scale)
        rng = rng if rng is not None else np.random.default_rng(DEFAULT_SEED)
        for s in self.sizes:
            w = np.asarray(rng.uniform(-1.0, 1.0, size=(self.filters_per_scale, in_channels, s, s)))
            w = w - w.mean(axis=(1, 2, 3), keepdims=True)
            w = w / np.maximum(np.sqrt((w * w).sum(axis=(1, 2, 3), keepdims=True)), 1e-12)
            data = backends.current().asarray(w.astype(backends.default_dtype()))
            setattr(self, f"weight_{s}", Parameter(data, requires_grad=False))

    def forward(self, x):
        outs = [F.conv2d_fft(x, getattr(self, f"weight_{s}"), padding=s // 2) for s in self.sizes]
        return F.concat(outs, axis=1)

    def extra_repr(self):
        return f"sizes={self.sizes}, filters_per_scale={self.filters_per_scale}"


def build_random_multiscale(rng=None, sizes=SIZES, filters_per_scale=FILTERS_PER_SCALE) -> Network:
    """The texture network (eval mode) with filters drawn from ``rng`` (default: seed 0)."""
    features = nn.Sequential(OrderedDict(conv1=MultiScaleConv(3, sizes, filters_per_scale, rng),
                                         relu1=nn.ReLU()))
    net = Network(OrderedDict(features=features),
                  aliases={"conv1": "features.conv1", "relu1": "features.relu1"},
                  architecture="random_multiscale", class_names=[], preprocessing=PREPROCESSING)
    return net.eval()


register(ArchitectureSpec(
    "random_multiscale", build_random_multiscale,
    f"Random multi-scale texture net (Ustyuzhaninov et al. 2016): one layer of random filters, sizes "
    f"{', '.join(map(str, SIZES))}, {FILTERS_PER_SCALE} each, ReLU; built from a seed, no file",
    weights=None))
