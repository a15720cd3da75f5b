"""SmoothGrad (Smilkov, Thorat, Kim, Viegas & Wattenberg 2017).

A gradient map M_c(x) (saliency, guided backprop, integrated gradients) is noisy because the
score's gradient fluctuates sharply at small scales. SmoothGrad averages the map over n noisy
copies of the input,

    M^_c(x) = (1/n) sum_{j=1..n} M_c(x + e_j),      e_j ~ N(0, sigma^2 (x_max - x_min)^2)

with sigma a fraction of the image's value range (the paper finds 10-20% best), and the
squared variant averages M_c(x + e_j)^2 instead (element by element). The noise is added to
the pixels in [0, 1], so in the network's input it is scaled per channel by the preprocessing
((hi - lo) / std). The copies go through the network in chunks of ``batch_size``: for the
gradient methods one forward and one backward pass per chunk; integrated gradients runs its
path for each copy (its own batches over the path points).

D. Smilkov, N. Thorat, B. Kim, F. Viegas, M. Wattenberg. "SmoothGrad: removing noise by adding
noise." ICML Workshop on Visualization for Deep Learning 2017. arXiv:1706.03825.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigrad.tensor import Tensor
from visualize import faithfulness, imaging
from visualize.faithfulness import AUC_STEPS
from visualize.gradients import backprop_class, gradient_batches, to_pixel_layout
from visualize.inputs import pixel_gradient, prepare
from visualize.method import Method, Output, register
from visualize.methods.integrated_gradients import integrated_gradients, quadrature
from visualize.params import BATCH_SIZE, TARGET, Choice, Flag, Float, Int

UNDERLYING = ("saliency", "guided-backprop", "integrated-gradients")


def noise_scale(model, x: Tensor, sigma: float) -> np.ndarray:
    """Standard deviation of the noise in network-input units, per channel (C, 1, 1): sigma
    times the image's value range in [0, 1] pixel units, through the preprocessing."""
    if not sigma >= 0:
        raise ValueError(f"SmoothGrad's sigma is a fraction of the input range and must be >= 0, got {sigma}")
    p = model.preprocessing
    lo, hi = p.input_range
    image = model.deprocess(x)
    spread = float(image.max() - image.min())
    return sigma * spread * (hi - lo) / np.asarray(p.std, np.float64).reshape(-1, 1, 1)


@dataclass
class Smoothed:
    """``mean`` (H, W, C) the average map (of squares when squared), ``passes`` the batched
    forward/backward passes run."""

    mean: np.ndarray
    passes: int


def noise_generators(rng: np.random.Generator, n: int) -> list:
    """One generator per noisy copy, seeded from ``rng``: copy j's noise depends only on the
    seed and j, so the chunk size does not change the result."""
    return [np.random.default_rng(int(s)) for s in rng.integers(2 ** 63, size=n)]


def smoothgrad(model, x: Tensor, index: int, n: int, sigma: float, rng: np.random.Generator,
               underlying: str = "saliency", squared: bool = False, batch_size: int = 16,
               baseline: Tensor | None = None, alphas=None, weights=None) -> Smoothed:
    """The mean over ``n`` noisy copies of ``x`` (1, C, H, W) of the ``underlying`` map of
    logit ``index`` (of its square when ``squared``), in pixel layout (H, W, channels):

    * saliency, guided-backprop: dS/dpixel (H, W, 3), ReLUs in the normal or guided rule;
    * integrated-gradients: the attributions (H, W, C) against ``baseline`` with the
      quadrature ``alphas``, ``weights`` (the baseline stays fixed; only x is perturbed).
    """
    if underlying not in UNDERLYING:
        raise ValueError(f"unknown underlying method {underlying!r}; valid: {', '.join(UNDERLYING)}")
    if n < 1:
        raise ValueError(f"SmoothGrad needs at least one noisy copy, got n={n}")
    scale = x.backend.xp.asarray(noise_scale(model, x, sigma), dtype=x.dtype)
    gens = noise_generators(rng, n)

    def noisy(lo, hi):
        e = np.stack([g.standard_normal(x.shape[1:]) for g in gens[lo:hi]])
        return x.data + scale * x.backend.xp.asarray(e, dtype=x.dtype)

    total, passes = 0.0, 0
    if underlying == "integrated-gradients":
        for j in range(n):
            ig = integrated_gradients(model, Tensor(noisy(j, j + 1)), baseline, index, alphas, weights, batch_size)
            m = to_pixel_layout(model, ig.attributions[None])[0]
            total, passes = total + (m * m if squared else m), passes + ig.passes
    else:
        relu = "guided" if underlying == "guided-backprop" else "normal"
        for _, grads, _ in gradient_batches(model, noisy, n, index, batch_size, relu):
            m = np.stack([pixel_gradient(model, g[None]) for g in grads]).astype(np.float64)
            total, passes = total + (m * m if squared else m).sum(axis=0), passes + 1
    return Smoothed(total / n, passes)


@register
class SmoothGrad(Method):
    name = "smoothgrad"
    title = "SmoothGrad"
    reference = ("D. Smilkov, N. Thorat, B. Kim, F. Viegas, M. Wattenberg. SmoothGrad: removing noise by adding "
                 "noise. ICML Workshop on Visualization for Deep Learning 2017")
    url = "https://arxiv.org/abs/1706.03825"
    summary = ("A gradient map (saliency, guided backprop or integrated gradients) averaged over noisy copies "
               "of the image.")
    example = "minigrad smoothgrad --model vgg16 --image photo.jpg --samples 50 --sigma 0.15"
    params = (TARGET.with_help("class to explain (index or name); default: the predicted class"),
              Choice("underlying", "saliency", "the map that is averaged", choices=UNDERLYING),
              Int("samples", 50, "noisy copies", lo=1, hi=10000),
              Float("sigma", 0.15, "noise standard deviation as a fraction of the image's value range", lo=0.0,
                    hi=10.0),
              Flag("squared", False, "average the squared maps (SmoothGrad-squared)"),
              Int("steps", 16, "integration points for --underlying integrated-gradients (Gauss-Legendre, "
                               "black baseline)", lo=1, hi=10000),
              BATCH_SIZE.with_default(25).with_help("noisy copies per forward/backward pass"),
              AUC_STEPS)
    presets = {"vgg16": {"batch_size": 10}}
    smoke = {"samples": 3, "steps": 2, "auc_steps": 4}

    def compute(self, image, rng, target=None, underlying="saliency", samples=50, sigma=0.15, squared=False,
                steps=16, batch_size=25, auc_steps=32):
        model = self.model
        x, shown = prepare(model, image)
        plain = backprop_class(model, x, target)
        index = plain.target["index"]
        alphas, weights = quadrature("gauss-legendre", steps)
        smooth = smoothgrad(model, x, index, samples, sigma, rng, underlying, squared, batch_size,
                            baseline=model.preprocess(np.zeros_like(shown)), alphas=alphas, weights=weights)
        heat = np.abs(smooth.mean).max(axis=2)
        saliency = np.abs(plain.gradient).max(axis=2)
        auc = faithfulness.score(model, x, heat, index, rng, auc_steps)
        gray = model.preprocessing.channel_order == "L"
        over = "" if gray else ", max over RGB"
        label = f"{'squared ' if squared else ''}SmoothGrad of {underlying}, n={samples}, sigma={sigma:g}"
        peak = float(heat.max())
        picture = imaging.hstack([imaging.panel(shown, "input"),
                                  imaging.heatmap(saliency, f"one gradient |dS/dI|{over}", lo=0),
                                  imaging.heatmap(heat, label + over, lo=0),
                                  imaging.panel(imaging.overlay(shown, heat / peak if peak > 0 else heat),
                                                "over the input")])
        t = plain.target
        caption = (f"class {t['name']!r} (p={t['probability']:.3f}); {label}; {smooth.passes} batched passes"
                   + ("; " + faithfulness.caption(auc) if auc else ""))
        report = {"target": t, "underlying": underlying, "samples": samples, "sigma": sigma, "squared": squared,
                  "passes": smooth.passes, "faithfulness": auc}
        return Output(arrays={"smoothgrad": smooth.mean.astype(np.float32), "map": heat.astype(np.float32),
                              "saliency": saliency, "image": shown},
                      picture=picture, caption=caption, report=report)
