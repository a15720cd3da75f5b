"""The shape of every visualization method, and the registry that finds them.

A method is a class, one per module in :mod:`visualize.methods` (as Captum has one class per
attribution method), that declares

* ``name``        the ``minigrad`` sub-command and registry key ("guided-backprop"); its place
                  in the gallery comes from the lecture's order (:mod:`visualize.lecture`);
* ``title``, ``reference``, ``url``, ``summary``, ``example``  what the gallery and ``--help``
                  show, with the paper;
* ``inputs``      what it takes (:mod:`visualize.input_kinds`: one or more images, a content
                  and style images, a dataset, or nothing);
* ``params``      its hyperparameters (:mod:`visualize.params`: a kind each, which brings its
                  flag, parsing, range check and checks against the model);
* ``presets``     per-architecture overrides of the defaults ({"vgg16": {"layer": ...}}),
                  because AlexNet, VGG-16 and the small MNIST net want different settings;
* ``smoke``       hyperparameters for a quick run on small random networks (the tests over
                  every registered method use them; empty for methods that are fast anyway);
* ``compute(data, rng, **params)``  the method itself, returning :class:`Output`.

Nothing else is needed: the command line builds the sub-command from the class
(:mod:`visualize.arguments`), the demo's gallery runs its ``examples`` and the tests over all
registered methods pick it up.

Calling the method (``Saliency(model)(image, target=3, seed=0)``) checks the hyperparameters
by the same rules as the command line, merges defaults, the model's preset and the caller's
values, runs ``compute``, times it, and wraps everything in a :class:`~visualize.result.Result`
whose metadata records what is needed to reproduce it. Methods reach the network only through
named layers and the engine's interface (``forward_to``, ``capture``, ``Tensor.backward`` from
any layer, ``relu_mode``).
"""
from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

import minigrad
from visualize import imaging, lecture
from visualize.input_kinds import Image, InputKind, Item
from visualize.inputs import model_backend
from visualize.result import Result, to_jsonable

__all__ = ["Output", "Method", "Example", "register", "registered", "get_method"]


@dataclass
class Output:
    """What ``compute`` returns: the arrays, the picture as a float (H, W, 3) image in [0, 1]
    (or already uint8), a caption line for the picture, a ``report`` dict of what the run
    found or chose (predicted class, the unit used, forward passes, ...), and
    ``attachments``, extra files written beside the picture ({"frames.gif": bytes})."""

    arrays: dict
    picture: np.ndarray
    caption: str = ""
    report: dict = field(default_factory=dict)
    attachments: dict = field(default_factory=dict)


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
    inputs: ClassVar[InputKind] = Image()
    params: ClassVar[tuple] = ()
    presets: ClassVar[dict] = {}
    smoke: ClassVar[dict] = {}

    def __init__(self, model):
        self.model = model.eval().requires_grad_(False)   # frozen: backward computes only input grads

    # ------------------------------------------------------------------ hyperparameters
    def hyperparameters(self, **overrides) -> dict:
        """Defaults, then this architecture's preset, then ``overrides`` (None = keep), each
        override checked by its parameter's kind (ValueError naming the valid range)."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown hyperparameter(s) {', '.join(unknown)}; "
                            f"valid: {', '.join(known) or 'none'}")
        given = {k: known[k].validate(v) for k, v in overrides.items() if v is not None}
        preset = self.presets.get(self.model.architecture, {})
        return {**{k: p.default for k, p in known.items()}, **preset, **given}

    def check(self, params: dict) -> None:
        """The checks that need the model (a layer it has, a class it knows), before any work.
        Raises KeyError or ValueError with the message a user reads."""
        for p in self.params:
            p.check(self.model, params.get(p.name), params)

    def resolve(self, params: dict) -> dict:
        """Fill in values that depend on the model (a default layer, say); the result is what
        the metadata records. Subclasses override; the base returns ``params`` unchanged."""
        return params

    def compute(self, data, rng, **params) -> Output:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement compute()")

    # ------------------------------------------------------------------ running
    def __call__(self, data=None, *, seed: int = 0, source=None, **overrides) -> Result:
        """Run on ``data``, as ``inputs`` declares: an (H, W, 3) float image in [0, 1] for
        image methods, a :class:`~visualize.input_kinds.ContentStyleData`, a dataset name or
        :class:`~visualize.input_kinds.DatasetSpec`, or nothing.

        ``seed`` seeds every random step (same seed, same bytes); ``source`` names where the
        input came from, for the metadata. Other keywords are hyperparameters.
        """
        return self.run(self.inputs.python_item(data, source), seed=seed, **overrides)

    def run(self, item: Item, *, seed: int = 0, **overrides) -> Result:
        """Run on one :class:`~visualize.input_kinds.Item` (what the command line makes of
        its arguments; :meth:`__call__` makes one from Python values)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        params = self.hyperparameters(**overrides)
        self.check(params)
        params = self.resolve(params)
        backend = model_backend(self.model)
        start = time.perf_counter()
        out = self.compute(item.data, np.random.default_rng(seed), **params)
        backend.synchronize()
        elapsed = time.perf_counter() - start
        header = f"{self.title} | {self.model.architecture}" + (f" | {Path(item.name).name}" if item.name else "")
        lines = header + (f"\n{out.caption}" if out.caption else "")
        picture = imaging.to_uint8(imaging.label_above(out.picture, lines))
        metadata = {
            "method": self.name,
            "title": self.title,
            "reference": self.reference,
            "model": {"architecture": self.model.architecture,
                      "weights_sha256": self.model.weights_sha256,
                      "weights_path": None if self.model.weights_path is None else str(self.model.weights_path)},
            "input": item.source,
            "caption": out.caption,
            "hyperparameters": params,
            "seed": int(seed),
            "seconds": round(elapsed, 4),
            "backend": backend.name,
            "minigrad_version": minigrad.__version__,
            "report": out.report,
        }
        arrays = {k: _host(v) for k, v in out.arrays.items()}
        return Result(picture=picture, arrays=arrays, metadata=to_jsonable(metadata),
                      attachments=dict(out.attachments))

    # ------------------------------------------------------------------ gallery
    @classmethod
    def examples(cls, demo) -> list[Example]:
        """The runs ``minigrad demo`` shows for this method. ``demo`` offers ``models`` (names
        with weights present) and the shipped inputs (see :class:`visualize.commands.demo.DemoInputs`).
        Default: every model on its demo inputs, as ``inputs`` declares them."""
        return [Example(("--model", m, *cls.inputs.example_argv(demo, m)), m) for m in demo.models]


def _host(a) -> np.ndarray:
    return np.asarray(a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a)


_REGISTRY: dict[str, type] = {}


def register(cls):
    """Class decorator: make ``cls`` a registered method (a sub-command and a gallery section)."""
    if not cls.name:
        raise ValueError(f"register: {cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name].__qualname__ != cls.__qualname__:
        raise ValueError(f"register: two methods are called {cls.name!r} "
                         f"({_REGISTRY[cls.name].__qualname__} and {cls.__qualname__})")
    names = [p.name for p in cls.params]
    if len(set(names)) != len(names):
        raise ValueError(f"register: {cls.__name__} declares a parameter twice: {names}")
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> list[type]:
    """Every method class, found by importing each module of :mod:`visualize.methods`, in the
    lecture's order (:mod:`visualize.lecture`)."""
    from visualize import methods
    for info in pkgutil.iter_modules(methods.__path__):
        importlib.import_module(f"visualize.methods.{info.name}")
    return sorted(_REGISTRY.values(), key=lambda c: (lecture.position(c.name), c.name))


def get_method(name: str) -> type:
    """The registered method called ``name``."""
    registered()
    if name not in _REGISTRY:
        raise KeyError(f"unknown method {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]
