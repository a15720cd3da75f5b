"""The registered architectures: name -> how to build it, and where its weights live.

Each architecture module (``models/alexnet.py``, ``models/vgg.py``, ...) calls
:func:`register` with an :class:`ArchitectureSpec` when imported; :func:`get_spec` and
:func:`names` import the modules listed in ``ARCHITECTURE_MODULES`` first. A builder takes
``rng`` (anything with NumPy ``Generator.uniform(low, high, size)``, which the layers use for
their initialization) and returns a :class:`~models.network.Network`.

Everything else about an architecture (its weight keys and shapes, its layers' strides and
groups) is derived from the builder: :func:`skeleton` builds the network with
:class:`PlaceholderRNG`, whose "random" arrays are zero-stride views that take no memory,
so reading the layout of VGG-16 costs microseconds, not 553 MB.
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

# Modules that register architectures when imported (add yours here).
ARCHITECTURE_MODULES = ("models.alexnet", "models.vgg", "models.caffe_alexnet", "models.mnist_cnn",
                        "models.random_multiscale", "models.generator")

_SPECS: dict = {}


@dataclass(frozen=True)
class ArchitectureSpec:
    """name: registry key and the ``architecture`` attribute of weight files.
    build(rng) -> Network with random weights (torch-style initialization).
    description: one line for ``models.list()``.
    weights: where :func:`models.load` finds the weights of this name: "cache"
        ($MINIGRAD_HOME/<name>.h5), a path relative to the repository root
        ("weights/mnist_cnn.h5"), or None (no file: the network is built from a seed).
    missing_hint: what to tell a user whose weights file is missing (for "cache": run
        ``minigrad weights fetch`` or ``convert``, said by :func:`models.load`).
    """

    name: str
    build: Callable
    description: str
    weights: str | None = "cache"
    missing_hint: str = ""


def register(spec: ArchitectureSpec) -> ArchitectureSpec:
    _SPECS[spec.name] = spec
    return spec


def _import_builtin():
    for module in ARCHITECTURE_MODULES:
        importlib.import_module(module)


def names() -> list:
    _import_builtin()
    return sorted(_SPECS)


def get_spec(name: str) -> ArchitectureSpec:
    _import_builtin()
    if name not in _SPECS:
        raise KeyError(f"unknown architecture {name!r}; expected one of: {', '.join(sorted(_SPECS))}")
    return _SPECS[name]


# ---------------------------------------------------------------------- random number sources
class Float32Uniform:
    """A seeded NumPy generator whose ``uniform`` draws float32 directly (no float64
    temporary: VGG-16's 138M weights take 0.5 s instead of 1.5 s). Other methods are the
    generator's own."""

    def __init__(self, seed):
        self._gen = np.random.default_rng(seed)

    def uniform(self, low=0.0, high=1.0, size=None):
        x = self._gen.random(size, dtype=np.float32)
        x *= np.float32(high - low)
        x += np.float32(low)
        return x

    def __getattr__(self, name):
        return getattr(self._gen, name)


class _Placeholder(np.ndarray):
    """A zero-stride array of zeros that stays a view under ``astype``."""

    def astype(self, dtype, *args, **kwargs):
        return np.broadcast_to(np.zeros((), dtype=dtype), self.shape)


class PlaceholderRNG:
    """Stands in for a generator when only the layout of a network is wanted: every draw is
    a read-only zero-stride array of the requested shape (no memory, no time)."""

    def uniform(self, low=0.0, high=1.0, size=None):
        return np.broadcast_to(np.zeros((), np.float64), size).view(_Placeholder)

    normal = uniform


@functools.lru_cache(maxsize=None)
def skeleton(name: str):
    """The network ``name`` with placeholder parameters: its layout without its weights.
    Shared and cached: read it, never run or modify it."""
    return get_spec(name).build(PlaceholderRNG())
