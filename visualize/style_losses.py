"""The style and content distances of Gatys, Ecker & Bethge, as objectives of the
optimization loop (:class:`visualize.optvis.objectives.Objective`), and the colour space of
luminance-only transfer.

Style (Gatys et al. 2015, "Texture Synthesis Using Convolutional Neural Networks"): with
F_l the (C, H W) features of layer l, the Gram matrix

    G_l = F_l F_l^T / (C H W)

(the engine's :func:`minigrad.functional.gram_matrix`, which divides by H W, further divided
by C as neural-style does) keeps which features occur together and drops where. The style
distance is the relative squared Gram error

    E_style = sum_l w_l ||G_l - A_l||^2 / ||A_l||^2,      A_l = sum_s b_s G_l(style image s)

with per-layer weights w_l and the blend weights b_s of several style images (normalized to
sum 1, as neural-style does). The content distance (Gatys, Ecker & Bethge 2016, "Image Style
Transfer Using Convolutional Neural Networks") is the relative squared feature error
E_content = sum_l w_l ||F_l - P_l||^2 / ||P_l||^2. Dividing by the target's norm (as
Mahendran & Vedaldi's reconstruction loss does) makes both 1 for an all-zero image, so the
weights mean the same for every network, layer and input range; neural-style's weights are
for unnormalized squared errors in Caffe's 0-255 range and do not carry over.

Both are distances, so the loop (which maximizes) gets ``-weight * distance``.
``normalize=True`` is neural-style's ``-normalize_gradients``: the gradient that leaves
each layer's term is divided by its L1 norm (:class:`NormalizeGradient`), so every layer
pushes equally whatever its scale; the reported values stay the distances.

Colour (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer"): in the
YIQ space (NTSC 1953) Y is the luminance and I, Q the chrominance. Luminance-only transfer
stylizes the luminance and keeps the content's I and Q (:func:`keep_colors`).
"""
from __future__ import annotations

import numbers

import numpy as np

from backends import get_array_module
from minigrad import functional as F
from minigrad.function import Function
from minigrad.tensor import Tensor
from visualize.optvis.objectives import Objective

# rows: Y, I, Q from R, G, B (FCC NTSC coefficients)
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                       [0.595716, -0.274453, -0.321263],
                       [0.211456, -0.522591, 0.311135]])
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


# ---------------------------------------------------------------------------------- colour
def to_yiq(rgb) -> np.ndarray:
    """(..., 3) RGB -> (..., 3) YIQ (float64)."""
    return np.asarray(rgb, dtype=np.float64) @ RGB_TO_YIQ.T


def from_yiq(yiq) -> np.ndarray:
    """(..., 3) YIQ -> (..., 3) RGB (float64), the exact inverse of :func:`to_yiq`."""
    return np.asarray(yiq, dtype=np.float64) @ YIQ_TO_RGB.T


def luminance(rgb) -> np.ndarray:
    """The Y of (..., 3) RGB as a gray RGB image (..., 3), the network's input in
    luminance-only transfer."""
    y = to_yiq(rgb)[..., :1]
    return np.repeat(y, 3, axis=-1)


def match_luminance(style_rgb, content_rgb) -> np.ndarray:
    """The style's luminance shifted and scaled to the content's mean and standard deviation
    (Gatys et al. 2017, section 5.1: L_s' = sigma_c / sigma_s (L_s - mu_s) + mu_c), as a gray
    RGB image clipped to [0, 1]."""
    ys, yc = to_yiq(style_rgb)[..., 0], to_yiq(content_rgb)[..., 0]
    y = (ys - ys.mean()) * (yc.std() / max(ys.std(), 1e-8)) + yc.mean()
    return np.repeat(np.clip(y, 0.0, 1.0)[..., None], 3, axis=-1)


def keep_colors(output_rgb, content_rgb) -> np.ndarray:
    """The output's luminance with the content's chrominance: Y from ``output_rgb``, I and Q
    from ``content_rgb`` (both (H, W, 3) in [0, 1]).

    Y is clamped per pixel to the interval where Y + (I, Q) maps into the RGB cube (it holds
    the content's own Y, so it is never empty); the result is in [0, 1] without clipping the
    channels, so its I and Q are exactly the content's.
    """
    yiq_c = to_yiq(content_rgb)
    y = to_yiq(output_rgb)[..., 0]
    # RGB = Y (1, 1, 1) + YIQ_TO_RGB[:, 1:] (I, Q): each channel c bounds Y to [-off_c, 1 - off_c]
    offset = yiq_c[..., 1:] @ YIQ_TO_RGB[:, 1:].T
    y = np.clip(y, (-offset).max(axis=-1), (1.0 - offset).min(axis=-1))
    return from_yiq(np.concatenate([y[..., None], yiq_c[..., 1:]], axis=-1)).astype(np.float32)


# ---------------------------------------------------------------------------------- checks
def check_layers(model, layers, what: str) -> tuple:
    """``layers`` as a tuple of names the model has; a KeyError naming the bad one, the
    option and the model's layers otherwise."""
    layers = tuple(layers)
    if not layers:
        raise ValueError(f"{what}: give at least one layer")
    known = model.layer_names()
    for name in layers:
        if name not in known:
            raise KeyError(f"{what}: {model.architecture} has no layer {name!r}; its layers are "
                           f"{', '.join(n for n in known if '.' not in n) or ', '.join(known)}")
    return layers


def check_weights(weights, count: int, what: str) -> tuple:
    """``weights`` (one number, or ``count`` numbers) as a tuple of ``count`` finite floats."""
    values = (weights,) * count if isinstance(weights, numbers.Number) else tuple(weights)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ValueError(f"{what}: weights must be finite numbers, got {v!r}")
    if len(values) != count:
        raise ValueError(f"{what}: {len(values)} weights for {count} entries; give one weight or one per entry")
    return tuple(float(v) for v in values)


def blend_weights(weights, count: int) -> tuple:
    """Blend weights of ``count`` style images, normalized to sum 1 (default: equal)."""
    values = check_weights((1.0,) * count if weights is None else weights, count, "--style-weights")
    if min(values) < 0 or sum(values) <= 0:
        raise ValueError(f"--style-weights: blend weights must be >= 0 with a positive sum, got {list(values)}")
    total = sum(values)
    return tuple(v / total for v in values)


# ---------------------------------------------------------------------------------- terms
class NormalizeGradient(Function):
    """Identity forward; backward divides the gradient by its L1 norm (plus 1e-8), neural-style's
    ``-normalize_gradients``. Deliberately not a derivative, so it has no gradient check."""

    def forward(self, x):
        return x

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy / (xp.abs(gy).sum() + gy.dtype.type(1e-8))


def gram(features: Tensor) -> Tensor:
    """G = F F^T / (C H W) of features (N, C, H, W): (N, C, C)."""
    return F.gram_matrix(features) * (1.0 / features.shape[1])


def _maybe_normalized(a, normalize):
    return NormalizeGradient()(a) if normalize else a


def _as_backend(a, target):
    return a.backend.xp.asarray(target, dtype=a.dtype)


def _norms(targets, what):
    norms = {}
    for layer, t in targets.items():
        norms[layer] = float((t.astype("float64") ** 2).sum())
        if norms[layer] == 0:
            raise ValueError(f"{what}: the target's features at layer {layer!r} are all zero (nothing to match); "
                             "choose another layer or image")
    return norms


def gram_distance(targets: dict, weights: dict | None = None, normalize: bool = False,
                  name: str = "style") -> Objective:
    """E_style over the layers of ``targets`` ({layer: A_l (C, C)}) with ``weights``
    ({layer: w_l}, default 1 each); an Objective named ``name`` (negate it to minimize)."""
    layers = tuple(targets)
    weights = {layer: 1.0 for layer in layers} if weights is None else dict(weights)
    norms = _norms(targets, "style distance")

    def fn(acts):
        total = None
        for layer in layers:
            a = _maybe_normalized(acts[layer], normalize)
            d = gram(a) - _as_backend(a, targets[layer])
            term = (d * d).sum() * (weights[layer] / norms[layer])
            total = term if total is None else total + term
        return total
    return Objective(fn, layers, name)


def content_distance(targets: dict, weights: dict | None = None, normalize: bool = False,
                     name: str = "content") -> Objective:
    """E_content over the layers of ``targets`` ({layer: P_l (1, C, H, W)}); an Objective."""
    layers = tuple(targets)
    weights = {layer: 1.0 for layer in layers} if weights is None else dict(weights)
    norms = _norms(targets, "content distance")

    def fn(acts):
        total = None
        for layer in layers:
            a = _maybe_normalized(acts[layer], normalize)
            if tuple(a.shape) != tuple(targets[layer].shape):
                raise ValueError(f"content distance: layer {layer!r} gives {tuple(a.shape)} but the content "
                                 f"image gave {tuple(targets[layer].shape)}; the output and content sizes differ")
            d = a - _as_backend(a, targets[layer])
            term = (d * d).sum() * (weights[layer] / norms[layer])
            total = term if total is None else total + term
        return total
    return Objective(fn, layers, name)
