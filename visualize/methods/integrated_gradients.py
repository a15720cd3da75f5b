"""Integrated gradients (Sundararajan, Taly & Yan 2017).

The attribution of input element i for the class score F = S_c, relative to a baseline x'
(an input that means "nothing": black, blurred, noise, the dataset mean), is the path integral
of the gradient along the straight line from x' to x:

    IG_i(x) = (x_i - x'_i) * integral_0^1  dF/dx_i (x' + a (x - x'))  da

By the fundamental theorem of calculus for line integrals the attributions are *complete*:
sum_i IG_i(x) = F(x) - F(x'). The integral is a quadrature with points a_k and weights w_k,

    IG_i(x) ~ (x_i - x'_i) * sum_k w_k dF/dx_i (x' + a_k (x - x'))

either a Riemann sum (left, right or middle points of m equal intervals, w_k = 1/m; or the
trapezoid rule on m points 0, 1/(m-1), ..., 1 with w_k = 1/(m-1), halved at the ends) or the
m-point Gauss-Legendre rule on [0, 1] (exact for polynomials of degree 2m - 1). The left,
right, middle and Gauss-Legendre rules are Captum's; Captum's "riemann_trapezoid" gives its m
points weights 1/m (halved at the ends), which sum to 1 - 1/m, and is not used here. The m path points go
through the network in batches (:func:`visualize.gradients.gradient_batches`), one forward and
one backward pass per batch. The sidecar reports the completeness error

    |sum_i IG_i - (F(x) - F(x'))| / |F(x) - F(x')|

which measures how well m points integrate this path (ReLU nets are piecewise linear along
it, so the integrand jumps and a few dozen points are needed).

Attributions live in the network's input space, one per input element; since the
preprocessing is affine per channel, (x_i - x'_i) dF/dx_i is the same number whether x is
the normalized input or the pixel in [0, 1], so the map needs no conversion (only the channel
order of a BGR net is reversed).

M. Sundararajan, A. Taly, Q. Yan. "Axiomatic Attribution for Deep Networks." ICML 2017.
arXiv:1703.01365.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigrad import no_grad
from minigrad.tensor import Tensor
from visualize import faithfulness, imaging
from visualize.faithfulness import AUC_STEPS, blur
from visualize.gradients import class_info, gradient_batches, to_pixel_layout
from visualize.inputs import mean_color, prepare, resolve_class
from visualize.method import Method, Output, register
from visualize.params import BATCH_SIZE, TARGET, Choice, Int

RULES = ("gauss-legendre", "riemann-left", "riemann-right", "riemann-middle", "riemann-trapezoid")
BASELINES = ("black", "blurred", "uniform", "mean")


def quadrature(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Points a_k in [0, 1] and weights w_k (summing to 1) of the ``steps``-point ``rule``."""
    if rule not in RULES:
        raise ValueError(f"unknown quadrature rule {rule!r}; valid: {', '.join(RULES)}")
    minimum = 1 if rule == "gauss-legendre" else 2
    if steps < minimum:
        raise ValueError(f"integrated gradients needs steps >= {minimum} for the {rule} rule, got {steps}")
    if rule == "gauss-legendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)   # on [-1, 1], weights sum to 2
        return 0.5 * (1 + nodes), 0.5 * weights
    kind = rule.split("-")[1]
    if kind == "trapezoid":
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, steps), weights
    weights = np.full(steps, 1.0 / steps)
    offset = {"left": 0.0, "middle": 0.5, "right": 1.0}[kind]
    return (np.arange(steps) + offset) / steps, weights


def baseline_image(model, shown: np.ndarray, baseline, rng: np.random.Generator) -> np.ndarray:
    """The baseline as an image like ``shown`` (h, w, 3) in [0, 1]: ``"black"`` (zeros),
    ``"blurred"`` (``shown`` under a Gaussian of sigma 0.1 times the larger side),
    ``"uniform"`` (noise in [0, 1) from ``rng``), ``"mean"`` (the dataset mean colour, which the
    preprocessing maps to the all-zero input), or an array of ``shown``'s shape."""
    if isinstance(baseline, str):
        if baseline == "black":
            return np.zeros_like(shown)
        if baseline == "blurred":
            return blur(shown)
        if baseline == "uniform":
            return rng.random(shown.shape).astype(shown.dtype)
        if baseline == "mean":
            return np.broadcast_to(mean_color(model), shown.shape).astype(shown.dtype)
        raise ValueError(f"unknown baseline {baseline!r}; valid: {', '.join(BASELINES)} or an image array")
    array = np.asarray(baseline, dtype=shown.dtype)
    if array.ndim == 2 and array.shape == shown.shape[:2]:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.shape != shown.shape:
        raise ValueError(f"the baseline has shape {array.shape} but the input as the network sees it has shape "
                         f"{shown.shape} (after resizing and cropping); give an image of that shape or one of "
                         f"{', '.join(BASELINES)}")
    return array


@dataclass
class Attribution:
    """``attributions`` (C, H, W) in network-input order, float64; ``score`` F(x) and
    ``baseline_score`` F(x'); ``completeness_error`` as in the module docstring; ``passes`` the
    number of batched forward/backward passes."""

    attributions: np.ndarray
    score: float
    baseline_score: float
    completeness_error: float
    passes: int


def integrated_gradients(model, x: Tensor, baseline: Tensor, index: int, alphas: np.ndarray,
                         weights: np.ndarray, batch_size: int = 64) -> Attribution:
    """Integrated gradients of logit ``index`` for one input ``x`` (1, C, H, W) against
    ``baseline`` (the same shape, a network input), with the quadrature points ``alphas`` and
    weights ``weights`` of :func:`quadrature`."""
    if tuple(baseline.shape) != tuple(x.shape):
        raise ValueError(f"the baseline input has shape {tuple(baseline.shape)} but the input has {tuple(x.shape)}")
    steps = len(alphas)
    xp = x.backend.xp
    start, delta = baseline.data, x.data - baseline.data
    path_alphas = xp.asarray(alphas, dtype=x.dtype).reshape(-1, 1, 1, 1)

    def points(lo, hi):
        return start + path_alphas[lo:hi] * delta

    total = np.zeros(x.shape[1:], np.float64)
    passes = 0
    for rows, grads, _ in gradient_batches(model, points, steps, index, batch_size):
        total += np.tensordot(weights[rows], grads, axes=1)
        passes += 1
    attributions = x.backend.to_numpy(delta).astype(np.float64)[0] * total
    with no_grad():
        ends = model(Tensor(xp.concatenate([x.data, baseline.data]))).numpy().astype(np.float64)[:, index]
    gap = ends[0] - ends[1]
    error = abs(attributions.sum() - gap) / abs(gap) if gap != 0 else float("nan")
    return Attribution(attributions, float(ends[0]), float(ends[1]), float(error), passes)


class BaselineChoice(Choice):
    """A baseline by name (the command line), or an image array (the Python API; its shape is
    checked against the input as the network sees it)."""

    def _check_value(self, value):
        return value if isinstance(value, np.ndarray) else super()._check_value(value)


@register
class IntegratedGradients(Method):
    name = "integrated-gradients"
    title = "Integrated gradients"
    reference = "M. Sundararajan, A. Taly, Q. Yan. Axiomatic Attribution for Deep Networks. ICML 2017"
    url = "https://arxiv.org/abs/1703.01365"
    summary = ("(x - baseline) times the class score's gradient averaged along the straight path from a baseline "
               "to the image; the attributions sum to F(x) - F(baseline).")
    example = "minigrad integrated-gradients --model vgg16 --image photo.jpg --baseline blurred --steps 64"
    params = (TARGET.with_help("class to explain (index or name); default: the predicted class"),
              BaselineChoice("baseline", "black", "the input that means 'nothing'", choices=BASELINES),
              Int("steps", 64, "points of the path integral", lo=1, hi=10000),
              Choice("rule", "gauss-legendre", "quadrature rule of the path integral", choices=RULES),
              BATCH_SIZE.with_help("path points per forward/backward pass"),
              AUC_STEPS)
    presets = {"vgg16": {"batch_size": 16}, "alexnet": {"batch_size": 32}}
    smoke = {"steps": 4, "auc_steps": 4}

    def compute(self, image, rng, target=None, baseline="black", steps=64, rule="gauss-legendre", batch_size=64,
                auc_steps=32):
        model = self.model
        alphas, weights = quadrature(rule, steps)
        x, shown = prepare(model, image)
        start = baseline_image(model, shown, baseline, rng)
        with no_grad():
            logits = model(x).numpy()[0].astype(np.float64)
        index = int(np.argmax(logits)) if target is None else resolve_class(model, target)
        ig = integrated_gradients(model, x, model.preprocess(start), index, alphas, weights, batch_size)
        attributions = to_pixel_layout(model, ig.attributions[None])[0]
        total = attributions.sum(axis=2)
        auc = faithfulness.score(model, x, total, index, rng, auc_steps)
        info = class_info(model, logits, index)
        name = "given image" if isinstance(baseline, np.ndarray) else baseline
        caption = (f"class {info['name']!r} (p={info['probability']:.3f}); {steps} {rule} points from the {name} "
                   f"baseline; completeness error {ig.completeness_error:.2%}")
        peak = float(np.abs(total).max()) or 1.0
        gray = model.preprocessing.channel_order == "L"
        picture = imaging.hstack([
            imaging.panel(shown, "input"), imaging.panel(start, f"baseline ({name})"),
            imaging.heatmap(total, "IG" if gray else "IG, summed over RGB", signed=True),
            imaging.panel(imaging.overlay(shown, np.clip(total / peak, 0, 1)), "positive part over the input")])
        report = {"target": info, "baseline": name, "steps": steps, "rule": rule,
                  "score": ig.score, "baseline_score": ig.baseline_score,
                  "attribution_sum": float(ig.attributions.sum()),
                  "completeness_error": ig.completeness_error, "passes": ig.passes, "faithfulness": auc}
        return Output(arrays={"attributions": attributions.astype(np.float32), "map": total.astype(np.float32),
                              "baseline": start, "image": shown},
                      picture=picture, caption=caption + ("; " + faithfulness.caption(auc) if auc else ""),
                      report=report)
