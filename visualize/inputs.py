"""What every method needs from the model and the user's inputs, written once.

* images: :func:`find_images` expands files and folders; pixels are read by
  :func:`models.images.load_image` and brought to the network's input by
  ``Network.preprocess`` (resize, crop, channel order, range, mean, std from the weights'
  metadata), so no method hard-codes a normalization;
* :func:`prepare`: one image -> (input tensor, the image as the network sees it);
* :func:`pixel_gradient`: a gradient with respect to the network input, carried back to the
  RGB pixels in [0, 1] (the chain rule through the preprocessing);
* :func:`mean_color`: the dataset mean as an RGB colour (the neutral fill for occlusion);
* :func:`resolve_class`, :func:`top_k`: class indices and names;
* :func:`layers_of_type`, :func:`default_layer`: layers found by type, for presets of nets
  whose layer names are not known in advance.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
from PIL import Image

from minigrad import functional as F
from minigrad import no_grad
from minigrad.tensor import Tensor

__all__ = ["find_images", "model_backend", "prepare", "pixel_gradient", "mean_color", "resolve_class", "top_k",
           "predict", "layers_of_type", "default_layer", "layer_label"]


def find_images(paths) -> list[Path]:
    """The image files named by ``paths``: files as given, folders expanded to the image files
    directly inside them (by suffix, sorted). Raises FileNotFoundError for a missing path and
    ValueError for a folder without images."""
    suffixes = set(Image.registered_extensions())
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in suffixes)
            if not inside:
                raise ValueError(f"the folder {str(p)!r} holds no image files "
                                 f"(looked for {', '.join(sorted({'.png', '.jpg', '.jpeg'}))}, ...)")
            found.extend(inside)
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {str(p)!r}")
    return found


def model_backend(model):
    """The backend the model's parameters live on (where its inputs must be)."""
    return model.parameters()[0].backend


def prepare(model, image) -> tuple[Tensor, np.ndarray]:
    """``image`` (H, W, 3) in [0, 1] -> (input tensor (1, C, h, w), the (h, w, 3) image the
    network actually sees, after resizing and cropping)."""
    x = model.preprocess(image)
    return x, model.deprocess(x)


def pixel_gradient(model, grad) -> np.ndarray:
    """dL/dI for the RGB image I in [0, 1] from dL/dx for the network input x (1, C, H, W).

    The preprocessing is ``x_c = (lo + (hi - lo) I_{order(c)} - mean_c) / std_c``, so
    ``dL/dI_{order(c)} = dL/dx_c (hi - lo) / std_c``. A one-channel "L" net sees the gray
    level ``Y = luma . I``; its result is dL/dY (the derivative for a gray image, whose R, G
    and B move together, since the luma weights sum to 1), repeated in the three channels.
    Returns (H, W, 3) float32 on the host.
    """
    p = model.preprocessing
    g = np.asarray(grad.get() if hasattr(grad, "get") else grad, dtype=np.float32)[0].transpose(1, 2, 0)
    lo, hi = p.input_range
    g = g * (np.float32(hi - lo) / np.asarray(p.std, dtype=np.float32))
    if p.channel_order == "BGR":
        return np.ascontiguousarray(g[..., ::-1])
    if p.channel_order == "L":
        return np.repeat(g, 3, axis=2)
    return g


def mean_color(model) -> np.ndarray:
    """The training-set mean of the model's preprocessing as an RGB colour in [0, 1] (3,):
    the image that ``preprocess`` maps to an all-zero input."""
    p = model.preprocessing
    lo, hi = p.input_range
    mean = (np.asarray(p.mean, dtype=np.float32) - lo) / np.float32(hi - lo)
    if p.channel_order == "L":
        return np.repeat(mean, 3)
    return mean[::-1].copy() if p.channel_order == "BGR" else mean


def require_classes(model) -> None:
    """Refuse a network without a classifier (``vgg16_features``) where class scores are needed."""
    if not model.class_names:
        raise ValueError(f"{model.architecture} has no classifier (a headless network), so it has no class "
                         "scores; use a network with classes (vgg16, alexnet, mnist_cnn) or, where the method "
                         "has them, --layer and --unit to target a feature")


def resolve_class(model, spec) -> int:
    """The logit index of class ``spec``: an index (int or digit string) or a class name
    (case-insensitive). Unknown names raise KeyError listing the closest names."""
    require_classes(model)
    names = list(model.class_names)
    if isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        if not 0 <= index < len(names):
            raise KeyError(f"class index {index} is out of range: {model.architecture} has "
                           f"{len(names)} classes, 0 to {len(names) - 1}")
        return index
    wanted = str(spec).strip().lower()
    lowered = [n.lower() for n in names]
    if wanted in lowered:
        return lowered.index(wanted)
    close = difflib.get_close_matches(wanted, lowered, n=5, cutoff=0.5)
    hint = (f"closest: {', '.join(repr(names[lowered.index(c)]) for c in close)}" if close
            else f"valid: {', '.join(names)}" if len(names) <= 20 else "no close match")
    raise KeyError(f"unknown class {spec!r} for {model.architecture} ({hint}); "
                   f"give a name or an index 0 to {len(names) - 1}")


def predict(model, x) -> np.ndarray:
    """Softmax probabilities (N, classes) of input ``x`` on the host, without a graph."""
    require_classes(model)
    with no_grad():
        return F.softmax(model(x), axis=1).numpy()


def top_k(model, probabilities, k: int = 5) -> list[dict]:
    """The ``k`` most probable classes of one probability vector: [{index, name, probability}]."""
    p = np.asarray(probabilities).ravel()
    order = np.argsort(-p, kind="stable")[:k]
    return [{"index": int(i), "name": model.class_names[i], "probability": float(p[i])} for i in order]


def layers_of_type(model, *type_names) -> list[str]:
    """Dotted paths of the layers whose class name is one of ``type_names``, in chain order."""
    return [path for path, m in model.layers() if type(m).__name__ in type_names]


def layer_label(model, path: str) -> str:
    """The readable alias of a dotted path when the network declares one, else the path."""
    return next((alias for alias, p in model.aliases.items() if p == path), path)


def default_layer(model, type_name: str, which: str = "last_spatial") -> str:
    """A layer chosen by type for nets without a preset: ``which="first"`` the first layer of
    ``type_name``; ``"last_spatial"`` the last one before the first Flatten (the deepest
    layer that still has feature maps). Returned as the readable alias when there is one."""
    paths = [p for p, _ in model.layers()]
    flat = next((i for i, (p, m) in enumerate(model.layers()) if type(m).__name__ == "Flatten"), len(paths))
    candidates = [p for p in layers_of_type(model, type_name) if paths.index(p) < flat]
    if not candidates:
        raise ValueError(f"{model.architecture} has no {type_name} layer before its classifier")
    return layer_label(model, candidates[0] if which == "first" else candidates[-1])
