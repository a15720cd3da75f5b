"""Backpropagating one output to the pixels: the step saliency, guided backprop, deconvnet
and the later gradient methods (Grad-CAM, SmoothGrad, integrated gradients) share.

Both functions run the network forward on an input that requires a gradient, seed the
backward pass with a one-hot gradient at the chosen output (a class score, or one unit of a
named layer), let the engine's ReLUs pass it back in the requested :func:`minigrad.relu_mode`,
and return the gradient with respect to the RGB pixels (:func:`visualize.inputs.pixel_gradient`).
The model should be frozen (``requires_grad_(False)``, as :class:`~visualize.method.Method`
does), so the backward pass computes nothing but the input gradient.

The later methods need the same gradient for many inputs (integrated gradients: the points of
a path; SmoothGrad: noisy copies). :func:`gradient_batches` runs them in chunks: in
evaluation mode the samples of a batch do not interact, so one backward pass from
``sum_n S_c(x_n)`` gives every sample its own gradient ``dS_c(x_n)/dx_n``, one forward and
one backward pass per chunk. :func:`layer_gradient` splits the network at a layer (Grad-CAM
needs the activation there and the score's gradient with respect to it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigrad import no_grad, relu_mode
from minigrad.tensor import Tensor
from visualize.inputs import layer_label, pixel_gradient, require_classes, resolve_class

__all__ = ["Backprop", "backprop_class", "class_info", "backprop_unit", "gradient_batches", "layer_gradient",
           "to_pixel_layout"]


@dataclass
class Backprop:
    """``gradient`` (H, W, 3) float32 dL/dpixel; ``target`` describes what was backpropagated
    (JSON-able); ``scores`` the raw output the seed was placed in (logits, or the layer)."""

    gradient: np.ndarray
    target: dict
    scores: np.ndarray


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _leaf(x: Tensor) -> Tensor:
    return Tensor(x.data, requires_grad=True)


def backprop_class(model, x: Tensor, target=None, relu: str = "normal") -> Backprop:
    """d score_target / d pixels for input ``x`` (1, C, H, W). ``target`` is a class index or
    name; None takes the predicted class. The score is the unnormalized logit (Simonyan et
    al. 2014 use it rather than the softmax, which also depends on the other classes)."""
    require_classes(model)
    x = _leaf(x)
    logits = model(x)
    scores = logits.numpy()[0]
    index = int(np.argmax(scores)) if target is None else resolve_class(model, target)
    seed = x.backend.xp.zeros(logits.shape, dtype=logits.dtype)
    seed[0, index] = 1
    with relu_mode(relu):
        logits.backward(seed)
    return Backprop(pixel_gradient(model, x.grad), class_info(model, scores, index), scores)


def class_info(model, scores: np.ndarray, index: int) -> dict:
    """What a class-score method reports about its target (JSON-able): the class, its score
    and probability, and the predicted class, from the logits ``scores`` (classes,)."""
    probabilities = _softmax(np.asarray(scores, np.float64))
    predicted = int(np.argmax(scores))
    return {"kind": "class", "index": index, "name": model.class_names[index],
            "score": float(scores[index]), "probability": float(probabilities[index]),
            "predicted": predicted, "predicted_name": model.class_names[predicted],
            "predicted_probability": float(probabilities.max())}


def backprop_unit(model, x: Tensor, layer: str, unit=None, relu: str = "normal") -> Backprop:
    """d activation / d pixels for one unit of ``layer``.

    ``unit`` is ``(channel,)`` or ``(channel, y, x)``; without a position the channel's most
    active position is used; without ``unit`` at all, the most active unit of the layer (the
    channel with the largest activation, at its maximum). For a flat layer (fc6, (1, 4096))
    the unit is just an index.
    """
    path = model.resolve(layer)
    x = _leaf(x)
    act = model.forward_to(x, path)
    a = act.numpy()[0]
    unit = tuple(int(u) for u in unit) if unit is not None else ()
    if a.ndim == 3:
        if len(unit) not in (0, 1, 3):
            raise ValueError(f"unit for layer {layer!r} must be (channel,) or (channel, y, x), got {unit}")
        channel = unit[0] if unit else int(np.argmax(a.reshape(a.shape[0], -1).max(axis=1)))
        if not 0 <= channel < a.shape[0]:
            raise ValueError(f"channel {channel} is out of range: layer {layer!r} has {a.shape[0]} channels")
        if len(unit) == 3:
            position = unit[1:]
            if not (0 <= position[0] < a.shape[1] and 0 <= position[1] < a.shape[2]):
                raise ValueError(f"position {position} is outside layer {layer!r}'s {a.shape[1]}x{a.shape[2]} maps")
        else:
            position = tuple(int(v) for v in np.unravel_index(np.argmax(a[channel]), a.shape[1:]))
        index = (0, channel) + position
    elif a.ndim == 1:
        if len(unit) > 1:
            raise ValueError(f"layer {layer!r} is flat ({a.shape[0]} units): give one index, got {unit}")
        channel, position = (unit[0] if unit else int(np.argmax(a))), ()
        if not 0 <= channel < a.shape[0]:
            raise ValueError(f"unit {channel} is out of range: layer {layer!r} has {a.shape[0]} units")
        index = (0, channel)
    else:
        raise ValueError(f"layer {layer!r} has output shape {act.shape}; expected (1, C, H, W) or (1, C)")
    seed = x.backend.xp.zeros(act.shape, dtype=act.dtype)
    seed[index] = 1
    with relu_mode(relu):
        act.backward(seed)
    info = {"kind": "unit", "layer": layer_label(model, path), "channel": channel,
            "position": list(position), "activation": float(a[index[1:]])}
    return Backprop(pixel_gradient(model, x.grad), info, a)


def gradient_batches(model, make_batch, n: int, index: int, batch_size: int, relu: str = "normal"):
    """Yield ``(rows, gradients, logits)`` for ``n`` inputs in chunks of ``batch_size``.

    ``make_batch(start, stop)`` returns the network inputs of samples ``start:stop`` (an array
    (b, C, H, W) on the model's backend); ``gradients`` are d logit_index / d input of each
    sample (b, C, H, W, in network-input space, on the host) and ``logits`` (b, classes), both
    float64 on the host; ``rows`` is the slice of samples. One forward and one backward pass
    per chunk (the seed is ``index``'s one-hot in every row).
    """
    require_classes(model)
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    for start in range(0, n, batch_size):
        rows = slice(start, min(start + batch_size, n))
        x = Tensor(make_batch(rows.start, rows.stop), requires_grad=True)
        logits = model(x)
        seed = x.backend.xp.zeros(logits.shape, dtype=logits.dtype)
        seed[:, index] = 1
        with relu_mode(relu):
            logits.backward(seed)
        yield (rows, x.backend.to_numpy(x.grad).astype(np.float64),
               logits.numpy().astype(np.float64))


def layer_gradient(model, x: Tensor, layer: str, index: int):
    """The activation ``A`` of ``layer`` for input ``x`` (1, C, H, W) and d logit_index / dA,
    both on the host: the network is run to the layer, cut there (A becomes a leaf) and run on
    to the logits, so the backward pass stops at ``A``. Returns ``(A, dS/dA, logits)``."""
    require_classes(model)
    path = model.resolve(layer)
    paths = [p for p, _ in model.layers()]
    with no_grad():
        a = model.forward_to(x, path)
    a = Tensor(a.data, requires_grad=True)
    out = a
    for _, m in model.layers()[paths.index(path) + 1:]:
        out = m(out)
    seed = a.backend.xp.zeros(out.shape, dtype=out.dtype)
    seed[0, index] = 1
    out.backward(seed)
    return a.numpy(), a.backend.to_numpy(a.grad), out.numpy()[0]


def to_pixel_layout(model, a: np.ndarray) -> np.ndarray:
    """A per-input-element quantity (N, C, H, W) in network-input order -> (N, H, W, C) with the
    channels in RGB order (a "BGR" net's reversed; a gray "L" net keeps its one channel).
    No scaling: for attributions such as x * dS/dx the affine preprocessing cancels."""
    a = np.moveaxis(np.asarray(a), 1, -1)
    return np.ascontiguousarray(a[..., ::-1]) if model.preprocessing.channel_order == "BGR" else a
