"""``minigrad demo``: run every registered method on the embedded defaults and write an HTML
gallery (``make demo`` runs ``minigrad demo --out demo``).

Inputs: the shipped ``mnist_cnn`` on a few held-out MNIST digits (written as PNGs to
``OUT/inputs`` so the commands can name them), and AlexNet / VGG-16 on the shipped photos
when their weights are in the cache. Each method says what to run through its
``examples(demo)`` class method; every example goes through the same code as the command
line, so the command printed under each picture reproduces it exactly. A new method appears
here by registering itself (:func:`visualize.method.register`), not by editing this file.
"""
from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import models
from models.images import save_image
from models.mnist import load_mnist_test, split
from visualize.arguments import load_model, run_method
from visualize.gallery import Entry, Section, write_gallery
from visualize.inputs import default_layer, layer_label, layers_of_type

PHOTOS = ("macaque.jpg",)   # an ImageNet class ("macaque"); one photo keeps VGG-16 within the time
IMAGENET_MODELS = ("alexnet", "vgg16")
DIGIT_CLASSES = (7, 2, 9)   # the demo shows the first held-out digit of each of these classes


class DemoInputs:
    """What the methods' ``examples`` may use: ``models`` (names whose weights are present),
    ``images(model)`` -> [(path, class label or None)], and layer names per model. Models
    are registered names or weight-file paths."""

    def __init__(self, out: Path, model_names):
        self.models = list(model_names)
        self._out = out
        self._digits = None

    def images(self, model: str):
        """Digits for a one-channel (MNIST) net, the shipped photos for a colour net."""
        if load_model(model).preprocessing.channel_order != "L":
            content = Path(models.__file__).resolve().parent / "data" / "content"
            return [(_shown_path(content / name), None) for name in PHOTOS]
        if self._digits is None:
            self._digits = _write_digits(self._out / "inputs")
        return self._digits

    def deep_layer(self, model: str) -> str:
        """The deepest ReLU that still has feature maps."""
        return default_layer(load_model(model), "ReLU", "last_spatial")

    def conv_layers(self, model: str) -> list:
        net = load_model(model)
        return [layer_label(net, p) for p in layers_of_type(net, "Conv2d")]


def _shown_path(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it (shorter commands)."""
    rel = os.path.relpath(path)
    return path.as_posix() if rel.startswith("..") else Path(rel).as_posix()


def _write_digits(folder: Path):
    images, labels = load_mnist_test()
    _, (held_images, held_labels) = split(images, labels)
    out = []
    for label in DIGIT_CLASSES:
        i = int(np.flatnonzero(held_labels == label)[0])
        path = folder / f"digit{i}_label{label}.png"
        save_image(path, held_images[i].astype(np.float32) / 255)
        out.append((_shown_path(path), label))
    return out


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
    p.set_defaults(func=run)


def run(args) -> int:
    from visualize.cli import UserError, build_parser
    from visualize.method import registered

    out = Path(args.out)
    names = args.models or available_models()
    if not names:
        raise UserError("no model weights found: weights/mnist_cnn.h5 ships with the repository; "
                        "run `make train-mnist` to recreate it")
    demo = DemoInputs(out, names)
    parser = build_parser()
    sections, failures, start = [], 0, time.perf_counter()
    for method in registered():
        section = Section(method.name, method.title, method.summary, method.reference, method.url)
        for i, example in enumerate(method.examples(demo)):
            argv = [method.name, *example.argv, "--out", (out / method.name / f"{i:02d}").as_posix()]
            command = "minigrad " + shlex.join(argv)
            print(f"$ {command}", flush=True)
            entry = Entry(command, example.caption)
            t0 = time.perf_counter()
            try:
                entry.pictures = [p for p in run_method(parser.parse_args(argv), method) if p.suffix == ".png"]
            except (Exception, SystemExit) as exc:  # show the failure in the gallery, keep going
                entry.error = f"{type(exc).__name__}: {exc}"
                failures += 1
                print(f"  failed: {entry.error}", file=sys.stderr)
            entry.seconds = time.perf_counter() - t0
            section.entries.append(entry)
        sections.append(section)
    total = time.perf_counter() - start
    index = write_gallery(out / "index.html", sections,
                          intro=f"Every method of the 'Visualizing and Understanding' lecture on "
                                f"{', '.join(names)}; made by `minigrad demo` in {total:.0f} s.")
    print(f"wrote {index} ({sum(len(s.entries) for s in sections)} runs, {failures} failed, {total:.0f} s)")
    return 1 if failures else 0
