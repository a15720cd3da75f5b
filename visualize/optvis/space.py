"""The image space the loop works in, and the way from it to the network's input.

Every parameterization produces an image ``I`` (N, C, H, W) with values in [0, 1]: RGB for
colour networks (C = 3, whatever channel order their weights expect), the gray level for
the one-channel networks (C = 1). The network input is the weights' preprocessing
(:class:`models.network.Preprocessing`) applied to it, written with differentiable ops:

    x_c = (lo + (hi - lo) I_{order(c)} - mean_c) / std_c

so objectives, transforms and regularizers never see the normalization, step sizes and
epsilons are in pixel units of [0, 1], and the loop's result is a picture.
"""
from __future__ import annotations

import numpy as np

from minigrad import functional as F
from minigrad.tensor import Tensor
from visualize.inputs import model_backend, predict


def channels(model) -> int:
    """C of the image space: 1 for a gray ("L") network, else 3."""
    return model.preprocessing.channels


def _affine(model):
    """Per-channel (scale, shift) of the preprocessing in the network's channel order."""
    p = model.preprocessing
    lo, hi = p.input_range
    std, mean = np.asarray(p.std, np.float64), np.asarray(p.mean, np.float64)
    return (hi - lo) / std, (lo - mean) / std


def to_input(model, image: Tensor) -> Tensor:
    """The network input for ``image`` (N, C, H, W) in the image space (differentiable)."""
    if image.ndim != 4 or image.shape[1] != channels(model):
        raise ValueError(f"to_input: {model.architecture} takes images (N, {channels(model)}, H, W), "
                         f"got shape {tuple(image.shape)}")
    if model.preprocessing.channel_order == "BGR":
        image = F.getitem(image, (slice(None), np.array([2, 1, 0])))
    scale, shift = _affine(model)
    xp = image.backend.xp
    return image * xp.asarray(scale.reshape(-1, 1, 1), dtype=image.dtype) + \
        xp.asarray(shift.reshape(-1, 1, 1), dtype=image.dtype)


def from_input(model, x) -> np.ndarray:
    """The inverse of :func:`to_input` on raw arrays: the image (N, C, H, W) of input ``x``."""
    x = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    scale, shift = _affine(model)
    image = (x - shift.reshape(-1, 1, 1)) / scale.reshape(-1, 1, 1)
    if model.preprocessing.channel_order == "BGR":
        image = image[:, ::-1]
    return np.ascontiguousarray(image, dtype=x.dtype)


def image_of(model, picture) -> np.ndarray:
    """A picture (H, W, 3) or (H, W) in [0, 1] (or a batch (N, H, W, 3) at the input size) as
    the image space (N, C, h, w) float32 at the network's input size (its preprocessing's
    resize and crop; gray for one-channel networks)."""
    return from_input(model, model.preprocess(picture)).astype(np.float32)


def mean_image_value(model) -> np.ndarray:
    """The dataset mean in the image space, (C,): the image the network sees as all zeros."""
    scale, shift = _affine(model)
    mean = -shift / scale
    return mean[::-1].copy() if model.preprocessing.channel_order == "BGR" else mean


def picture(image) -> np.ndarray:
    """The first image of ``image`` (N, C, H, W) as an (H, W, 3) float32 picture clipped to [0, 1]."""
    a = image.numpy() if isinstance(image, Tensor) else np.asarray(image)
    if hasattr(a, "get"):
        a = a.get()
    a = np.clip(np.asarray(a[0], dtype=np.float32).transpose(1, 2, 0), 0.0, 1.0)
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a


def probabilities(model, image) -> np.ndarray:
    """Softmax probabilities (N, classes) of the images (N, C, H, W) in the image space."""
    return predict(model, to_input(model, tensor(model, image)))


def tensor(model, array, requires_grad=False) -> Tensor:
    """``array`` as a tensor on the model's backend in its dtype."""
    backend = model_backend(model)
    dtype = model.parameters()[0].dtype
    return Tensor(backend.asarray(np.asarray(array), dtype=dtype), requires_grad=requires_grad)
