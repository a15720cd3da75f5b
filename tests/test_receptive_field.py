"""Receptive fields from the layer chain against a brute-force measurement.

The measurement perturbs one input pixel at a time and records which output units change. To
make "the pixel is in the unit's field" and "the unit changes" the same thing, the network is
given positive weights (the magnitudes of its random initialization plus their mean), zero
biases and a positive input, in float64: every path from a pixel to a unit then has a positive
weight, every ReLU passes, and a pixel raised by 1e20 dominates every unit downstream of it,
so it also wins every max-pool window it reaches. Pixel (i, i) is perturbed for each i, and
the diagonal unit (u, u) of a layer changes exactly when i lies in its field along both axes,
so one forward pass per i measures the clipped window of every diagonal unit of every layer.
"""
from __future__ import annotations

import numpy as np
import pytest

import models
from models import registry
from minigrad import no_grad
from minigrad.tensor import Tensor
from models.receptive_field import receptive_fields


def _positive(net):
    net = net.astype(np.float64)
    for name, p in net.named_parameters():
        p.data = np.zeros_like(p.data) if name.endswith("bias") else np.abs(p.data) + np.abs(p.data).mean()
    return net


def _measured_windows(net, size, layers):
    """{layer: [(first, last) input index seen by diagonal unit u, for each u]}."""
    rng = np.random.default_rng(0)
    channels = net.preprocessing.channels
    base = rng.uniform(0.5, 1.0, size=(1, channels, size, size))
    batch = np.repeat(base, size + 1, axis=0)
    for i in range(size):
        batch[i + 1, :, i, i] += 1e20
    with no_grad():
        outs = net.capture(Tensor(batch), layers)
    windows = {}
    for name, out in outs.items():
        a = out.numpy()
        n = a.shape[-1]
        diag = a[:, :, np.arange(n), np.arange(n)]                   # (size + 1, C, n)
        changed = np.abs(diag[1:] - diag[:1]) > 1e-9 * np.abs(diag[:1])
        hit = changed.any(axis=1)                                     # (size, n): pixel i moves unit u
        windows[name] = [(int(np.flatnonzero(hit[:, u])[0]), int(np.flatnonzero(hit[:, u])[-1]))
                         if hit[:, u].any() else None for u in range(n)]
    return windows


@pytest.mark.parametrize("arch, size", [("mnist_cnn", 28), ("alexnet", 95), ("vgg16", 32)])
def test_receptive_fields_match_brute_force(arch, size):
    net = _positive(models.build(arch, seed=0))
    fields = receptive_fields(net, (size, size))
    spatial = [path for path, f in fields.items() if f is not None]
    assert len(spatial) >= 10
    measured = _measured_windows(net, size, spatial)
    for path in spatial:
        field = fields[path]
        for u, got in enumerate(measured[path]):
            top, left, bottom, right = field.window(u, u, (size, size))
            assert got == (top, bottom - 1), (arch, path, u, field.describe(), got)
            assert (left, right) == (top, bottom)


def test_known_values_of_the_literature():
    """AlexNet pool5 195 px, VGG-16 pool5 212 px, jump 32 (Araujo et al. 2019, table 1)."""
    alex = receptive_fields(registry.skeleton("alexnet"))
    vgg = receptive_fields(registry.skeleton("vgg16"))
    assert alex["features.12"].size == (195, 195) and alex["features.12"].jump == (32, 32)
    assert vgg["features.30"].size == (212, 212) and vgg["features.30"].jump == (32, 32)
    assert alex["flatten"] is None
