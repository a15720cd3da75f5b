"""``minigrad demo``: run every registered method on the shipped defaults and write an HTML
gallery (``make demo`` runs ``minigrad demo --out demo``).

Inputs: the shipped ``mnist_cnn`` on a few held-out MNIST digits, and AlexNet / VGG-16 on
the shipped photos when their weights are in the cache. Every input a run uses is first
copied into ``OUT/inputs``, and every run is made from inside ``OUT`` with paths relative to
it, so the command printed under each picture reproduces that picture byte for byte when
pasted in the gallery's folder. Each method says what to run through its
``examples(demo)`` class method, and every example goes through the same code as the command
line. A new method appears here by registering itself (:func:`visualize.method.register`),
not by editing this file.
"""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np

import models
from models.images import save_image
from models.mnist import load_mnist_test, split
from visualize import lecture
from visualize.arguments import load_model, run_method
from visualize.errors import UserError
from visualize.gallery import Entry, Section, write_gallery
from visualize.input_kinds import DEFAULT_DATASET
from visualize.inputs import default_layer, layer_label, layers_of_type

PHOTOS = ("macaque.jpg",)   # an ImageNet class ("macaque"); one photo keeps VGG-16 within the time
IMAGENET_MODELS = ("alexnet", "vgg16")
DIGIT_CLASSES = (7, 2, 9)   # the demo shows the first held-out digit of each of these classes
DATA = Path(models.__file__).resolve().parent / "data"


class DemoInputs:
    """What the methods' ``examples`` may use: ``models`` (names whose weights are present)
    and the shipped inputs, each copied into the gallery's ``inputs`` folder and named by a
    path relative to the gallery (the folder the runs are made from)."""

    def __init__(self, out: Path, model_names):
        self.models = list(model_names)
        self._out = out
        self._digits = None
        self._features = {}

    def images(self, model: str):
        """[(path, class label or None)]: digits for a one-channel (MNIST) net, the shipped
        photos for a colour net."""
        if load_model(model).preprocessing.channel_order != "L":
            return [(self._copy(DATA / "content" / name), None) for name in PHOTOS]
        if self._digits is None:
            self._digits = _write_digits(self._out, Path("inputs"))
        return self._digits

    def content_images(self) -> list:
        """The shipped content photos."""
        return [self._copy(p) for p in sorted((DATA / "content").glob("*.jpg"))]

    def style_images(self) -> list:
        """The shipped paintings."""
        return [self._copy(p) for p in sorted((DATA / "style").glob("*.jpg"))]

    def textures(self) -> list:
        """The shipped texture photos."""
        return [self._copy(p) for p in sorted((DATA / "textures").glob("*.jpg"))]

    def dataset(self, model: str) -> str:
        """The dataset a model's dataset methods run on: the shipped digits for mnist_cnn, the
        copied content photos for a colour net."""
        if load_model(model).preprocessing.channel_order == "L":
            return DEFAULT_DATASET
        self.content_images()
        return "inputs/content"

    def deep_layer(self, model: str) -> str:
        """The deepest ReLU that still has feature maps."""
        return default_layer(load_model(model), "ReLU", "last_spatial")

    def conv_layers(self, model: str) -> list:
        net = load_model(model)
        return [layer_label(net, p) for p in layers_of_type(net, "Conv2d")]

    def features(self, model: str) -> str:
        """The features file of ``model`` over :meth:`dataset` (its last hidden layer and every
        convolution, each channel's maximum and position), extracted once per demo run into
        ``features/<model>.h5`` in the gallery; the dataset methods' examples pass it with
        ``--features``."""
        if model not in self._features:
            from models.datasets import open_source
            from models.features import extract
            from visualize.feature_space import default_feature_layer
            net = load_model(model)
            rel = f"features/{Path(model).stem}.h5"
            layers = [default_feature_layer(net), *self.conv_layers(model)]
            print("$ minigrad " + shlex.join(["features", "--model", model, "--data", self.dataset(model), "--layer",
                                              *layers, "--pool", "argmax", "--batch", "512", "--out", rel,
                                              "--overwrite"]), flush=True)
            done = extract(net, open_source(self.dataset(model)), layers, rel, pool="argmax", batch_size=512,
                           overwrite=True, progress=sys.stderr.isatty())
            print(f"  {done.rows} images in {done.seconds:.1f} s ({done.images_per_second:.0f} images/s)")
            self._features[model] = rel
        return self._features[model]

    def _copy(self, source: Path) -> str:
        """``source`` copied to ``inputs/<its folder>/<its name>`` in the gallery (once)."""
        rel = Path("inputs") / source.parent.name / source.name
        target = self._out / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return rel.as_posix()


def _write_digits(out: Path, folder: Path):
    images, labels = load_mnist_test()
    _, (held_images, held_labels) = split(images, labels)
    written = []
    for label in DIGIT_CLASSES:
        i = int(np.flatnonzero(held_labels == label)[0])
        rel = folder / f"digit{i}_label{label}.png"
        save_image(out / rel, held_images[i].astype(np.float32) / 255)
        written.append((rel.as_posix(), label))
    return written


def available_models() -> list:
    """mnist_cnn, and AlexNet / VGG-16 when their weights are present."""
    present = {m["name"]: m["weights_present"] for m in models.list()}
    return [m for m in ("mnist_cnn",) + IMAGENET_MODELS if present.get(m)]


def register(subparsers):
    p = subparsers.add_parser(
        "demo", help="run every method on the shipped defaults and write an HTML gallery",
        description="Run every registered method on the shipped defaults (mnist_cnn on MNIST digits; "
                    "AlexNet and VGG-16 on the shipped photos when their weights are cached) and "
                    "write OUT/index.html.",
        epilog="example:\n  minigrad demo --out demo && open demo/index.html")
    p.add_argument("--out", default="demo", help="output folder (default: demo)")
    p.add_argument("--models", nargs="+", default=None, metavar="NAME",
                   help="only these models (default: every one whose weights are present)")
    p.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                   help="only these methods (default: every registered one)")
    p.set_defaults(func=run)


@contextlib.contextmanager
def _inside(folder: Path):
    """Run with ``folder`` as the working folder (the gallery's commands are relative to it)."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _model_argument(name: str) -> str:
    """A registered name as it is; a weights file by its absolute path (the runs are made from
    inside the gallery's folder)."""
    return name if Path(name).suffix != ".h5" else str(Path(name).resolve())


def run(args) -> int:
    from visualize.cli import build_parser
    from visualize.method import registered

    out = Path(args.out)
    names = [_model_argument(m) for m in (args.models or available_models())]
    if not names:
        raise UserError("no model weights found: weights/mnist_cnn.h5 ships with the repository; "
                        "run `make train-mnist` to recreate it")
    methods = registered()
    if args.methods:
        unknown = sorted(set(args.methods) - {m.name for m in methods})
        if unknown:
            raise UserError(f"unknown method(s) {', '.join(unknown)}; registered: "
                            f"{', '.join(m.name for m in methods)}")
        methods = [m for m in methods if m.name in args.methods]
    out.mkdir(parents=True, exist_ok=True)
    demo = DemoInputs(out, names)
    parser = build_parser()
    sections, failures, start = [], 0, time.perf_counter()
    for method in methods:
        section = Section(method.name, method.title, method.summary, method.reference, method.url,
                          lecture.family_of(method.name), method.inputs.label)
        with _inside(out):
            examples = method.examples(demo)
        for i, example in enumerate(examples):
            argv = [method.name, *example.argv, "--out", f"{method.name}/{i:02d}", "--overwrite"]
            command = "minigrad " + shlex.join(argv)
            print(f"$ {command}", flush=True)
            entry = Entry(command, example.caption)
            t0 = time.perf_counter()
            try:
                with _inside(out):
                    files = run_method(parser.parse_args(argv), method)
                pictures = [p for p in files if p.suffix == ".png" and p.with_suffix(".json") in files]
                entry.pictures = [out / p for p in pictures]       # (attachments such as x.frames.png aside)
                entry.sidecars = [json.loads((out / p).with_suffix(".json").read_text()) for p in pictures]
            except (Exception, SystemExit) as exc:  # show the failure in the gallery, keep going
                entry.error = f"{type(exc).__name__}: {exc}"
                failures += 1
                print(f"  failed: {entry.error}", file=sys.stderr)
            entry.seconds = time.perf_counter() - t0
            section.entries.append(entry)
        sections.append(section)
    total = time.perf_counter() - start
    missing = [m for m in IMAGENET_MODELS if m not in names]
    index = write_gallery(out / "index.html", sections, models_run=names, models_missing=missing,
                          seconds=total)
    print(f"wrote {index} ({sum(len(s.entries) for s in sections)} runs, {failures} failed, {total:.0f} s)")
    return 1 if failures else 0
