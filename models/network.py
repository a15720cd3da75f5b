"""A network: a chain of layers plus what it needs to be used on images.

:class:`Network` is a :class:`minigrad.nn.Sequential` (so ``forward_to``, ``capture`` and
readable layer aliases work on it) that also carries

* ``architecture``  the registered name (``"vgg16"``), which fixes the weight layout;
* ``class_names``   one name per output logit, in logit order;
* ``preprocessing`` how an image becomes the input the weights were trained on
  (:class:`Preprocessing`);
* ``weights_path``, ``weights_sha256``, ``metadata``  where the weights came from
  (``None`` / ``{}`` for a randomly initialized network).

Preprocessing maps an RGB image ``I`` in [0, 1] to the network input

    x_c = (lo + (hi - lo) * I_{order(c)} - mean_c) / std_c

where ``order`` is the channel order the weights expect (RGB, BGR, or luminance "L"),
``(lo, hi)`` the input range (``(0, 1)`` for torchvision, ``(0, 255)`` for Caffe) and
``mean``/``std`` are per input channel. :meth:`Network.deprocess` is the exact inverse.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import backends
from minigrad.nn.sequential import Sequential
from minigrad.tensor import Tensor

CHANNEL_ORDERS = ("RGB", "BGR", "L")
#: The largest input side and resize a weights file may ask for (VGG-16 at 4096 x 4096 needs
#: ~10 GB of activations; the shipped conventions use 28 to 256).
MAX_INPUT_SIDE = 4096
# ITU-R 601-2 luma, the weights Pillow's convert("L") uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Preprocessing:
    """The input convention of a set of weights (stored as root attributes of the HDF5 file).

    channel_order:  "RGB", "BGR" or "L" (one luminance channel, for the small gray nets)
    input_range:    (lo, hi) that image values 0 and 1 map to
    mean, std:      per input channel, in ``channel_order`` and in ``input_range`` units
    input_size:     (h, w) the network is applied at
    resize_shorter_side:  resize the shorter side to this, then centre-crop ``input_size``;
                    None: resize the whole image to ``input_size``
    """

    channel_order: str
    input_range: tuple
    mean: tuple
    std: tuple
    input_size: tuple
    resize_shorter_side: int | None = None

    @property
    def channels(self) -> int:
        return 1 if self.channel_order == "L" else 3

    def to_attrs(self) -> dict:
        """The HDF5 root attributes (docs/weights-format.md section 2) that record this preprocessing;
        ``resize_shorter_side`` None is stored as 0."""
        return {
            "input_channel_order": self.channel_order,
            "input_range": np.asarray(self.input_range, dtype=np.float64),
            "input_mean": np.asarray(self.mean, dtype=np.float64),
            "input_std": np.asarray(self.std, dtype=np.float64),
            "input_size": np.asarray(self.input_size, dtype=np.int64),
            "resize_shorter_side": np.int64(self.resize_shorter_side or 0),
        }

    @classmethod
    def from_attrs(cls, attrs) -> "Preprocessing":
        """Inverse of :meth:`to_attrs` (attributes already validated by the loader)."""
        resize = int(attrs["resize_shorter_side"])
        return cls(channel_order=str(attrs["input_channel_order"]),
                   input_range=tuple(float(v) for v in np.ravel(attrs["input_range"])),
                   mean=tuple(float(v) for v in np.ravel(attrs["input_mean"])),
                   std=tuple(float(v) for v in np.ravel(attrs["input_std"])),
                   input_size=tuple(int(v) for v in np.ravel(attrs["input_size"])),
                   resize_shorter_side=resize or None)

    def describe(self) -> str:
        resize = (f"shorter side {self.resize_shorter_side}, centre crop" if self.resize_shorter_side
                  else "resize")
        size = "x".join(str(v) for v in self.input_size)
        return (f"{self.channel_order}, range {list(self.input_range)}, mean {list(self.mean)}, "
                f"std {list(self.std)}, {resize} {size}")


# torchvision's ImageNet convention (weights-formats.md section 1.5)
TORCHVISION = Preprocessing("RGB", (0.0, 1.0), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225),
                            (224, 224), 256)


class Network(Sequential):
    """A chain of named stages (``features``, ``avgpool``, ``flatten``, ``classifier`` for the
    ImageNet models) with readable ``aliases`` and the metadata described in the module
    docstring. Build one with :func:`models.build` or :func:`models.load`."""

    def __init__(self, stages, *, aliases, architecture: str, class_names, preprocessing: Preprocessing):
        super().__init__(stages, aliases=aliases)
        self.architecture = architecture
        self.class_names = list(class_names)
        self.preprocessing = preprocessing
        self.weights_path = None
        self.weights_sha256 = None
        self.metadata = {}

    def num_parameters(self) -> int:
        return sum(int(p.size) for p in self.parameters())

    # ------------------------------------------------------------------ images <-> inputs
    def preprocess(self, image) -> Tensor:
        """Image(s) in [0, 1] RGB -> network input (N, C, H, W) on the network's backend.

        ``image``: (H, W, 3) or (H, W) gray, any size: resized and centre-cropped as
        :class:`Preprocessing` says; or a batch (N, H, W, 3) / (N, H, W) already at
        ``input_size``.

        Values must be finite floats in [0, 1] (:func:`image_pixels`): NaN/Inf, integer arrays
        (a uint8 photo: pass ``image / 255``) and floats outside [0, 1] are refused with a
        ValueError saying which.
        """
        p = self.preprocessing
        img = image_pixels(f"{self.architecture}.preprocess", image)
        if img.ndim in (2, 3) and not (img.ndim == 3 and img.shape[-1] not in (1, 3)):
            img = _resize_to_input(img, p)[None]
        elif img.ndim in (3, 4):
            if tuple(img.shape[1:3]) != tuple(p.input_size):
                raise ValueError(f"{self.architecture}.preprocess: a batch of shape {img.shape} must "
                                 f"already be at input size {p.input_size}; pass single images "
                                 f"(H, W, 3) to have them resized")
        else:
            raise ValueError(f"{self.architecture}.preprocess: expected an image (H, W, 3), (H, W) or a "
                             f"batch (N, H, W, 3), got shape {img.shape}")
        if img.ndim == 3:
            img = img[..., None]
        if img.shape[-1] not in (1, 3):
            raise ValueError(f"{self.architecture}.preprocess: images must have 1 or 3 channels, "
                             f"got shape {img.shape}")
        img = _to_channel_order(img, p.channel_order)
        lo, hi = p.input_range
        x = (lo + (hi - lo) * img - np.asarray(p.mean, np.float32)) / np.asarray(p.std, np.float32)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=self._dtype())
        return Tensor(self._backend().asarray(x))

    def deprocess(self, x) -> np.ndarray:
        """Network input (1, C, H, W) or (C, H, W) -> (H, W, 3) RGB float32 image clipped to
        [0, 1]: the inverse of the normalization in :meth:`preprocess` (no resize)."""
        p = self.preprocessing
        arr = _host_array(x.data if isinstance(x, Tensor) else x)
        if arr.ndim == 4 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim != 3 or arr.shape[0] != p.channels:
            raise ValueError(f"{self.architecture}.deprocess: expected one input ({p.channels}, H, W) or "
                             f"(1, {p.channels}, H, W), got shape {arr.shape}")
        img = arr.transpose(1, 2, 0).astype(np.float32)
        lo, hi = p.input_range
        img = (img * np.asarray(p.std, np.float32) + np.asarray(p.mean, np.float32) - lo) / (hi - lo)
        if p.channel_order == "BGR":
            img = img[..., ::-1]
        elif p.channel_order == "L":
            img = np.repeat(img, 3, axis=-1)
        return np.clip(img, 0.0, 1.0)

    def _backend(self):
        params = self.parameters()
        return params[0].backend if params else backends.current()

    def _dtype(self):
        params = self.parameters()
        return params[0].dtype if params else np.dtype(backends.default_dtype())


def image_pixels(where: str, image) -> np.ndarray:
    """``image`` (a NumPy/CuPy array or Tensor) as a host float32 array, refusing what cannot be
    an image in [0, 1]: NaN or Inf (the first one's index named), integer or bool arrays, and
    floats outside [0, 1] (with the hint ``image / 255`` for values that look like 0-255)."""
    if isinstance(image, Tensor):
        image = image.data
    if type(image).__module__.startswith("cupy"):
        image = backends.backend_of(image).to_numpy(image)
    raw = np.asarray(image)
    if raw.dtype.kind in "biu":
        span = f" {raw.min()}..{raw.max()}" if raw.size and raw.dtype.kind != "b" else ""
        hint = {"uint8": "pass image / 255", "uint16": "pass image / 65535"}.get(
            raw.dtype.name, "pass a float array scaled to [0, 1]")
        raise ValueError(f"{where}: got {raw.dtype.name} values{span}; images are float arrays with values "
                         f"in [0, 1]: {hint}")
    if raw.dtype.kind != "f":
        raise ValueError(f"{where}: got an array of {raw.dtype}; images are float arrays with values in [0, 1]")
    img = raw.astype(np.float32, copy=False)
    finite = np.isfinite(img)
    if not finite.all():
        first = tuple(int(i) for i in np.unravel_index(int(np.argmin(finite.reshape(-1))), img.shape))
        counts = " and ".join(f"{n} {name}" for n, name in ((int(np.isnan(img).sum()), "NaN"),
                                                             (int(np.isinf(img).sum()), "Inf")) if n)
        raise ValueError(f"{where}: the image has {counts} values (the first at index {first}); "
                         f"pass finite values in [0, 1]")
    if img.size and (img.min() < 0 or img.max() > 1):
        low, high = float(img.min()), float(img.max())
        hint = ("values up to 255 look like 8-bit pixels: pass image / 255" if low >= 0 and high <= 255
                else "rescale it to [0, 1] (e.g. (image - image.min()) / (image.max() - image.min()))")
        raise ValueError(f"{where}: got {raw.dtype.name} values {low:g}..{high:g} outside [0, 1]; "
                         f"images are floats in [0, 1]: {hint}")
    return img


def _host_array(a) -> np.ndarray:
    if isinstance(a, Tensor):
        a = a.data
    if type(a).__module__.startswith("cupy"):
        a = backends.backend_of(a).to_numpy(a)
    return np.asarray(a, dtype=np.float32)


def _resize_to_input(img, p: Preprocessing):
    from models import images  # the data helpers' resize/crop (imported lazily)
    if p.resize_shorter_side:
        return images.center_crop(images.resize_shorter_side(img, p.resize_shorter_side), p.input_size)
    return images.resize(img, p.input_size)


def _to_channel_order(img, order):
    """(N, H, W, 1 or 3) RGB/gray -> (N, H, W, C) in ``order``."""
    if order == "L":
        return img if img.shape[-1] == 1 else (img @ _LUMA)[..., None]
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    return img[..., ::-1] if order == "BGR" else img
