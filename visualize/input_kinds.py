"""What a method takes as input, declared once: the command-line flags, the checks, the
gallery's example inputs and the metadata all follow from the declaration.

A method sets ``inputs`` to one of

* :class:`Image`         one or more images (``--image PATH [PATH ...]``, files or folders);
                         the method runs once per image and gets an (H, W, 3) float32 array in
                         [0, 1] (the default: saliency, occlusion, DeepDream, ...);
* :class:`ContentStyle`  a content image and one or more style images with blend weights
                         (``--content PATH --style PATH [PATH ...] --style-weights 0.7,0.3``);
                         the method gets a :class:`ContentStyleData`;
* :class:`Dataset`       a dataset (``--data SRC``: a folder of images, a text file of paths,
                         or ``mnist``, the 10,000 shipped test digits); the method gets a
                         :class:`DatasetSpec`;
* :class:`NoInput`       nothing (filters, class visualization); the method gets None.

Each kind turns the parsed arguments into a list of :class:`Item` (one per run: what the
method gets, the text that names it in the output file, and what the metadata records), and
names the gallery's example arguments for a model from what the demo offers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["InputKind", "Image", "ContentStyle", "Dataset", "NoInput", "Item", "ContentStyleData", "DatasetSpec",
           "DEFAULT_DATASET"]

DEFAULT_DATASET = "mnist"


@dataclass
class Item:
    """One run's input: ``data`` for ``compute``, ``name`` for the output file name (None:
    the run needs no name of its own), ``source`` for the metadata (JSON-able)."""

    data: object
    name: str | None
    source: object


@dataclass
class ContentStyleData:
    """A content image (or None when the method synthesizes from styles alone), the style
    images, their blend weights (summing to 1) and where each came from."""

    content: np.ndarray | None
    styles: list
    style_weights: tuple
    content_source: str | None = None
    style_sources: list = field(default_factory=list)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset named on the command line: ``mnist``, a folder of images (searched
    recursively) or a text file with one image path per line."""

    source: str

    def describe(self) -> str:
        return self.source


def _load_images(paths, max_pixels):
    """[(path, image)] for the files and folders in ``paths`` (ValueError/FileNotFoundError
    with a clear message on a missing path or an unreadable image)."""
    import models.images
    from visualize.inputs import find_images
    kwargs = {} if max_pixels is None else {"max_pixels": max_pixels}
    return [(path, models.images.load_image(path, **kwargs)) for path in find_images(paths)]


def _max_pixels_argument(parser):
    parser.add_argument("--max-pixels", type=int, default=None, metavar="N",
                        help="refuse images larger than N pixels (default: the loader's limit); raise it "
                             "for very large images")


class InputKind:
    """The interface every input kind implements."""

    label = ""

    def add_arguments(self, parser) -> None:
        """Add this kind's flags to the method's sub-command parser."""

    def items(self, args) -> list[Item]:
        """The runs the parsed ``args`` ask for (user mistakes: ValueError/FileNotFoundError)."""
        raise NotImplementedError

    def python_item(self, data, source) -> Item:
        """The run for ``method(data, source=...)`` in the Python API."""
        return Item(data, None if source is None else Path(str(source)).stem, None if source is None else str(source))

    def example_argv(self, demo, model: str) -> tuple:
        """The input arguments of the gallery's default example for ``model``."""
        return ()


class Image(InputKind):
    """One or more images, one run each."""

    label = "one or more images"

    def add_arguments(self, parser):
        parser.add_argument("--image", nargs="+", required=True, metavar="PATH",
                            help="image files, or folders of images (one result per image)")
        _max_pixels_argument(parser)

    def items(self, args):
        return [Item(image, str(path), str(path)) for path, image in _load_images(args.image, args.max_pixels)]

    def python_item(self, data, source):
        if data is None:
            raise ValueError("this method needs an image: an (H, W, 3) float array in [0, 1]")
        return super().python_item(data, source)

    def example_argv(self, demo, model):
        return ("--image", *[p for p, _ in demo.images(model)])


class ContentStyle(InputKind):
    """A content image and style images with blend weights; ``content=False`` for methods
    that synthesize from the styles alone."""

    label = "a content image and style images"

    def __init__(self, content: bool = True):
        self.content = content

    def add_arguments(self, parser):
        if self.content:
            parser.add_argument("--content", required=True, metavar="PATH", help="the content image")
        parser.add_argument("--style", nargs="+", required=True, metavar="PATH",
                            help="one or more style images (blended by --style-weights)")
        from visualize.params import FloatList
        weights = FloatList("style_weights", None, "", lo=0.0)
        parser.add_argument("--style-weights", type=weights.argparse_type(), default=None, metavar="W,W,...",
                            help="blend weights of the style images, one per image, not all zero "
                                 "(normalized to sum to 1; default: equal)")
        _max_pixels_argument(parser)

    def items(self, args):
        styles = _load_images(args.style, args.max_pixels)
        content = _load_images([args.content], args.max_pixels)[0] if self.content else (None, None)
        weights = normalized_style_weights(args.style_weights, len(styles))
        data = ContentStyleData(content[1], [s for _, s in styles], weights,
                                None if content[0] is None else str(content[0]), [str(p) for p, _ in styles])
        name = "+".join(([str(content[0])] if content[0] is not None else []) + [str(p) for p, _ in styles])
        source = {"content": data.content_source, "styles": data.style_sources, "style_weights": list(weights)}
        return [Item(data, name, source)]

    def python_item(self, data, source):
        if not isinstance(data, ContentStyleData):
            raise TypeError("this method takes a visualize.input_kinds.ContentStyleData (content, styles, "
                            "style_weights)")
        data.style_weights = normalized_style_weights(data.style_weights or None, len(data.styles))
        return Item(data, None if source is None else Path(str(source)).stem,
                    {"content": data.content_source, "styles": data.style_sources,
                     "style_weights": list(data.style_weights)})

    def example_argv(self, demo, model):
        content = ("--content", demo.content_images()[0]) if self.content else ()
        return (*content, "--style", demo.style_images()[0])


def normalized_style_weights(weights, n: int) -> tuple:
    """Blend weights for ``n`` styles: equal when None, else non-negative, one per style, not
    all zero, scaled to sum to 1."""
    if weights is None:
        return tuple([1.0 / n] * n)
    weights = tuple(float(w) for w in weights)
    if len(weights) != n:
        raise ValueError(f"--style-weights: {len(weights)} weights for {n} style images; give one per image")
    if any(not np.isfinite(w) or w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError(f"--style-weights: {weights} must be non-negative numbers, not all zero")
    total = sum(weights)
    return tuple(w / total for w in weights)


class Dataset(InputKind):
    """A dataset: ``mnist``, a folder of images or a text file of image paths."""

    label = "a dataset"

    def add_arguments(self, parser):
        parser.add_argument("--data", default=DEFAULT_DATASET, metavar="SRC",
                            help="a folder of images (searched recursively), a text file with one image path "
                                 f"per line, or 'mnist' (the shipped test digits) (default: {DEFAULT_DATASET})")

    def items(self, args):
        return [Item(self.spec(args.data), Path(args.data).name, args.data)]

    @staticmethod
    def spec(source) -> DatasetSpec:
        """``source`` checked by listing its images (:func:`models.datasets.open_source`): a
        missing path, a folder without images or an empty list is a clear error before any work."""
        from models.datasets import open_source
        source = str(source)
        try:
            open_source(source)
        except (FileNotFoundError, ValueError) as exc:
            raise type(exc)(f"--data: {exc}") from None
        return DatasetSpec(source)

    def python_item(self, data, source):
        spec = data if isinstance(data, DatasetSpec) else self.spec(DEFAULT_DATASET if data is None else data)
        return Item(spec, Path(spec.source).name, spec.source)

    def example_argv(self, demo, model):
        return ("--data", demo.dataset(model))


class NoInput(InputKind):
    """No input: the method works from the model alone."""

    label = "no input"

    def items(self, args):
        return [Item(None, None, None)]

    def python_item(self, data, source):
        if data is not None:
            raise TypeError("this method takes no input; call it as method(**hyperparameters)")
        return Item(None, None, None)

