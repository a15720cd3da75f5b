"""Objectives: what the loop ascends, as values you can add and scale.

An :class:`Objective` is a weighted sum of named terms. Each term is a function of the
activations of the layers it names, ``fn(acts) -> scalar Tensor``, where ``acts`` maps each
requested layer name (an alias such as ``"relu2_2"`` or a dotted path) to its output tensor;
two names are special:

* ``IMAGE`` ("image"): the parameterized image (N, C, H, W) in [0, 1], before the transforms
  (the regularizers of :mod:`visualize.optvis.regularizers` read it);
* ``LOGITS`` ("logits"): the network's output.

The loop runs the network once per step, up to the deepest layer any term names, and serves
every term from that one pass. Objectives combine as numbers do::

    obj = objectives.class_logit(3) - 1e-3 * regularizers.l2() - 0.5 * regularizers.total_variation()
    obj.parts(acts)   # {"class_logit[3]": ..., "l2": ..., "total_variation(beta=2)": ...}, weighted

Everything here is a value to maximize; a loss L enters as ``-L`` (feature inversion is
``-feature_distance(...)``). Every term sums over the images of a batch, so a batch of N
images is N independent optimizations (ten class visualizations in one run). A new objective is ``Objective(fn, layers, name)``, e.g. the
Gram-matrix style loss of Gatys et al. (2015) over several layers.
"""
from __future__ import annotations

import numbers

import numpy as np

from minigrad import functional as F
from minigrad.tensor import Tensor

IMAGE = "image"
LOGITS = "logits"


class Objective:
    """``Objective(fn, layers, name)``: one term ``fn(acts)`` over ``layers``; sums and
    multiples of objectives are objectives (see the module docstring)."""

    def __init__(self, fn, layers, name: str):
        self.terms = ((1.0, str(name), fn, tuple(layers)),)

    @classmethod
    def _of_terms(cls, terms) -> "Objective":
        obj = cls.__new__(cls)
        obj.terms = tuple(terms)
        return obj

    @property
    def layers(self) -> tuple:
        """Every layer name the terms read, in order, once."""
        return tuple(dict.fromkeys(layer for *_, layers in self.terms for layer in layers))

    def parts(self, acts) -> dict:
        """{term name: weight * term value} (scalar tensors); repeated names get #2, #3, ..."""
        out = {}
        for weight, name, fn, _ in self.terms:
            key, k = name, 2
            while key in out:
                key, k = f"{name}#{k}", k + 1
            value = fn(acts)
            if not isinstance(value, Tensor) or value.size != 1:
                raise ValueError(f"objective term {name!r} must return a one-element tensor, got "
                                 f"{type(value).__name__} {getattr(value, 'shape', '')}")
            out[key] = value.reshape(()) * weight if weight != 1.0 else value.reshape(())
        return out

    def __call__(self, acts) -> Tensor:
        total = None
        for value in self.parts(acts).values():
            total = value if total is None else total + value
        return total

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        if isinstance(other, numbers.Number) and other == 0:
            return self          # sum() starts from 0
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective._of_terms(self.terms + other.terms)

    __radd__ = __add__

    def __mul__(self, factor):
        if not isinstance(factor, numbers.Real):
            return NotImplemented
        return Objective._of_terms([(w * float(factor), n, fn, ls) for w, n, fn, ls in self.terms])

    __rmul__ = __mul__

    def __truediv__(self, divisor):
        if not isinstance(divisor, numbers.Real):
            return NotImplemented
        return self * (1.0 / float(divisor))

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other) if isinstance(other, Objective) else NotImplemented

    def __repr__(self):
        def term(w, n):
            return n if w == 1.0 else f"-{n}" if w == -1.0 else f"{w:g} * {n}"
        return " + ".join(term(w, n) for w, n, *_ in self.terms).replace("+ -", "- ")


def _rows_and_classes(logits, classes, name):
    """Indices (rows, classes) of one class per image: ``classes`` is one int for every
    image or a sequence of one int per image; checked against the logits."""
    n, k = logits.shape
    c = np.broadcast_to(np.asarray(classes, dtype=np.int64).reshape(-1), (n,)) if np.ndim(classes) == 0 \
        else np.asarray(classes, dtype=np.int64)
    if c.shape != (n,):
        raise ValueError(f"{name}: {len(c)} classes for a batch of {n} images")
    if c.min() < 0 or c.max() >= k:
        raise ValueError(f"{name}: class {int(c.max() if c.max() >= k else c.min())} is out of range; "
                         f"the network has {k} classes, 0 to {k - 1}")
    return np.arange(n), c


def class_logit(classes) -> Objective:
    """The unnormalized score S_c summed over the batch (Simonyan et al. 2014 ascend the
    score, not the softmax, which can rise by lowering the other classes)."""
    def fn(acts):
        logits = acts[LOGITS]
        return F.getitem(logits, _rows_and_classes(logits, classes, "class_logit")).sum()
    return Objective(fn, (LOGITS,), f"class_logit[{_label(classes)}]")


def class_log_probability(classes) -> Objective:
    """log p_c = S_c - log sum_k exp S_k summed over the batch: rises only by beating the
    other classes (fooling images, targeted attacks; its negative is the cross-entropy)."""
    def fn(acts):
        logits = acts[LOGITS]
        return F.getitem(F.log_softmax(logits, axis=1), _rows_and_classes(logits, classes, "class_log_probability")).sum()
    return Objective(fn, (LOGITS,), f"log_p[{_label(classes)}]")


def _label(classes):
    return str(int(classes)) if np.ndim(classes) == 0 else "per-image"


def _check_channel(a, layer, channel):
    if not 0 <= channel < a.shape[1]:
        raise ValueError(f"channel {channel} is out of range: layer {layer!r} has {a.shape[1]} channels "
                         f"(0 to {a.shape[1] - 1})")


def channel(layer: str, index: int) -> Objective:
    """The mean activation of channel ``index`` of ``layer`` over its positions; for a flat
    layer (N, K), unit ``index``."""
    def fn(acts):
        a = acts[layer]
        _check_channel(a, layer, index)
        return F.getitem(a, (slice(None), index)).mean() * a.shape[0]
    return Objective(fn, (layer,), f"channel[{layer}:{index}]")


def neuron(layer: str, index: int, y: int | None = None, x: int | None = None) -> Objective:
    """One unit: channel ``index`` of ``layer`` at position (y, x) (default: the centre)."""
    def fn(acts):
        a = acts[layer]
        _check_channel(a, layer, index)
        if a.ndim == 2:
            return F.getitem(a, (slice(None), index)).sum()
        h, w = a.shape[2:]
        yy, xx = (h // 2 if y is None else y), (w // 2 if x is None else x)
        if not (0 <= yy < h and 0 <= xx < w):
            raise ValueError(f"position ({yy}, {xx}) is outside the {h}x{w} maps of layer {layer!r}")
        return F.getitem(a, (slice(None), index, yy, xx)).sum()
    where = "" if y is None and x is None else f"@{y},{x}"
    return Objective(fn, (layer,), f"neuron[{layer}:{index}{where}]")


def dream(layer: str, channel_index: int | None = None) -> Objective:
    """DeepDream's objective (Mordvintsev et al. 2015): half the mean square of the layer's
    activation (or one channel's), whose gradient at the layer is the activation itself
    (divided by its size): every feature the image already excites is amplified."""
    def fn(acts):
        a = acts[layer]
        if channel_index is not None:
            _check_channel(a, layer, channel_index)
            a = F.getitem(a, (slice(None), channel_index))
        return (a * a).mean() * (0.5 * a.shape[0])
    return Objective(fn, (layer,), f"dream[{layer}{'' if channel_index is None else f':{channel_index}'}]")


def guided_dream(layer: str, guide) -> Objective:
    """DeepDream towards a guide image (Mordvintsev et al. 2015): with X (C, P) the layer's
    features and Y (C, Q) the guide's, each position i follows the guide feature it matches
    best, sum_i <x_i, y_j(i)> with j(i) = argmax_j <x_i, y_j> (chosen anew each step, a
    constant for the gradient), divided by P (summed over the batch)."""
    def fn(acts):
        a = acts[layer]
        c = a.shape[1]
        xp = a.backend.xp
        if guide.shape[0] != c:
            raise ValueError(f"guided_dream: the guide has {guide.shape[0]} channels at {layer!r}, the image {c}")
        y = xp.asarray(guide.reshape(c, -1), dtype=a.dtype)
        x = F.reshape(a, (a.shape[0], c, -1))                          # (N, C, P)
        best = xp.argmax(xp.einsum("ncp,cq->npq", x.data, y), axis=2)  # (N, P)
        return (x * F.permute(Tensor(y[:, best]), 1, 0, 2)).sum() / x.shape[2]
    return Objective(fn, (layer,), f"guided_dream[{layer}]")


def feature_distance(layer: str, target) -> Objective:
    """Mahendran & Vedaldi's (2015) normalized reconstruction loss at ``layer``:
    ||phi(x) - phi_0||^2 / ||phi_0||^2 with phi_0 = ``target`` (an array shaped like the
    layer's output). Its square root is the relative feature error. Ascend its negative."""
    target = np.asarray(target) if not hasattr(target, "get") else target
    norm = float((target.astype(np.float64) ** 2).sum())
    if norm == 0:
        raise ValueError(f"feature_distance: the target features at {layer!r} are all zero; "
                         "choose another layer or image")

    def fn(acts):
        a = acts[layer]
        if tuple(a.shape) != tuple(target.shape):
            raise ValueError(f"feature_distance: layer {layer!r} gives {tuple(a.shape)}, the target {target.shape}")
        d = a - a.backend.xp.asarray(target, dtype=a.dtype)
        return (d * d).sum() / norm
    return Objective(fn, (layer,), f"feature_distance[{layer}]")
