"""The shape of every visualization method, and the registry that finds them.

A method is a class (one per module in :mod:`visualize.methods`, as Captum has one class per
attribution method) that declares

* ``name``        the ``minigrad`` sub-command and registry key ("guided-backprop");
* ``title``, ``reference``, ``url``  what the gallery and ``--help`` show, with the paper;
* ``params``      its hyperparameters as :class:`Param` (name, default, help, CLI type);
* ``presets``     per-architecture overrides of those defaults ({"vgg16": {"layer": ...}}),
                  because AlexNet, VGG-16 and the small MNIST net want different settings;
* ``compute(image, rng, **params)``  the method itself, returning :class:`Output`.

Calling the method (``Saliency(model)(image, target=3, seed=0)``) merges defaults, the
model's preset and the caller's values, runs ``compute``, times it, and wraps everything in a
:class:`~visualize.result.Result` whose metadata records what is needed to reproduce it.
Methods reach the network only through named layers and the engine's interface
(``forward_to``, ``capture``, ``Tensor.backward`` from any layer, ``relu_mode``).

``@register`` adds a class to the registry; :func:`registered` imports every module of
:mod:`visualize.methods` and returns the classes, which is how ``minigrad demo`` and its
gallery discover new methods without being edited.
"""
from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np

import minigrad
from visualize import imaging
from visualize.inputs import model_backend
from visualize.result import Result, to_jsonable

__all__ = ["Param", "int_list", "float_list", "Output", "Method", "Example", "register", "registered", "get_method"]


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its name (a Python identifier), default, one-line help, and the
    function that parses it from the command line (None: a flag without a value is not used)."""

    name: str
    default: object
    help: str
    parse: Callable | None = str
    choices: tuple | None = None


def int_list(text) -> tuple:
    """Parse "3", "3,5,7" or "0-7,12" (ranges inclusive) into a tuple of ints."""
    if isinstance(text, (tuple, list)):
        return tuple(int(v) for v in text)
    values = []
    for part in str(text).split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            values.extend(range(int(lo), int(hi) + 1) if sep and lo else [int(part)])
        except ValueError:
            raise ValueError(f"expected integers like 3, 3,5,7 or 0-7, got {text!r}") from None
    return tuple(values)


def float_list(text) -> tuple:
    """Parse "0.5" or "0.4,0.5,0.6" into a tuple of floats."""
    if isinstance(text, (tuple, list)):
        return tuple(float(v) for v in text)
    try:
        return tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"expected numbers like 0.5 or 0.4,0.5,0.6, got {text!r}") from None


@dataclass
class Output:
    """What ``compute`` returns: the arrays, the picture as a float (H, W, 3) image in [0, 1]
    (or already uint8), a caption line for the picture, and a ``report`` dict of what the run
    found or chose (predicted class, the unit used, forward passes, ...)."""

    arrays: dict
    picture: np.ndarray
    caption: str = ""
    report: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    """One gallery entry: the arguments after ``minigrad <name>`` and a caption."""

    argv: tuple
    caption: str = ""


class Method:
    """Base class of every visualization method; see the module docstring."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    url: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    example: ClassVar[str] = ""
    needs_image: ClassVar[bool] = True
    params: ClassVar[tuple] = ()
    presets: ClassVar[dict] = {}
    order: ClassVar[int] = 100

    def __init__(self, model):
        self.model = model.eval().requires_grad_(False)   # frozen: backward computes only input grads

    # ------------------------------------------------------------------ hyperparameters
    def hyperparameters(self, **overrides) -> dict:
        """Defaults, then this architecture's preset, then ``overrides`` (None = keep)."""
        known = {p.name: p.default for p in self.params}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown hyperparameter(s) {', '.join(unknown)}; "
                            f"valid: {', '.join(known) or 'none'}")
        preset = self.presets.get(self.model.architecture, {})
        return {**known, **preset, **{k: v for k, v in overrides.items() if v is not None}}

    def resolve(self, params: dict) -> dict:
        """Fill in values that depend on the model (a default layer, say); the result is what
        the metadata records. Subclasses override; the base returns ``params`` unchanged."""
        return params

    def compute(self, image, rng, **params) -> Output:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement compute()")

    # ------------------------------------------------------------------ running
    def __call__(self, image=None, *, seed: int = 0, source=None, **overrides) -> Result:
        """Run on ``image`` ((H, W, 3) float in [0, 1], or None for methods that need none).

        ``seed`` seeds every random step (same seed, same bytes); ``source`` names where the
        image came from, for the metadata. Other keywords are hyperparameters.
        """
        if self.needs_image and image is None:
            raise ValueError(f"{type(self).__name__}: this method needs an image, "
                             "an (H, W, 3) float array in [0, 1]")
        params = self.resolve(self.hyperparameters(**overrides))
        backend = model_backend(self.model)
        start = time.perf_counter()
        out = self.compute(image, np.random.default_rng(seed), **params)
        backend.synchronize()
        elapsed = time.perf_counter() - start
        header = f"{self.title} | {self.model.architecture}" + (f" | {Path(source).name}" if source else "")
        lines = header + (f"\n{out.caption}" if out.caption else "")
        picture = imaging.to_uint8(imaging.label_above(out.picture, lines))
        metadata = {
            "method": self.name,
            "title": self.title,
            "reference": self.reference,
            "model": {"architecture": self.model.architecture,
                      "weights_sha256": self.model.weights_sha256,
                      "weights_path": None if self.model.weights_path is None else str(self.model.weights_path)},
            "image": None if source is None else str(source),
            "caption": out.caption,
            "hyperparameters": params,
            "seed": seed,
            "seconds": round(elapsed, 4),
            "backend": backend.name,
            "minigrad_version": minigrad.__version__,
            "report": out.report,
        }
        arrays = {k: _host(v) for k, v in out.arrays.items()}
        return Result(picture=picture, arrays=arrays, metadata=to_jsonable(metadata))

    # ------------------------------------------------------------------ gallery
    @classmethod
    def examples(cls, demo) -> list[Example]:
        """The runs ``minigrad demo`` shows for this method. ``demo`` offers ``models`` (names
        with weights present) and ``images(model)`` (shipped inputs as (path, class) pairs).
        Default: every model on all of its demo images."""
        return [Example(("--model", m, "--image", *[p for p, _ in demo.images(m)]), f"{m}")
                for m in demo.models]


def _host(a) -> np.ndarray:
    return np.asarray(a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a)


_REGISTRY: dict[str, type] = {}


def register(cls):
    """Class decorator: make ``cls`` a registered method (and so a gallery section)."""
    if not cls.name:
        raise ValueError(f"register: {cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> list[type]:
    """Every method class, found by importing each module of :mod:`visualize.methods`,
    in gallery order."""
    from visualize import methods
    for info in pkgutil.iter_modules(methods.__path__):
        importlib.import_module(f"visualize.methods.{info.name}")
    return sorted(_REGISTRY.values(), key=lambda c: (c.order, c.name))


def get_method(name: str) -> type:
    """The registered method called ``name``."""
    registered()
    if name not in _REGISTRY:
        raise KeyError(f"unknown method {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]
