"""How faithful is an attribution map? Deletion and insertion curves (Petsiuk, Das & Saenko 2018).

A map that ranks pixels by importance for class c makes a prediction: removing the top-ranked
pixels first should make the class probability fall fastest. With the pixels ordered by the
map (highest first; ties in random order from the seed) and fractions f_k = k / steps,

    deletion:   p_k = P(c | x with its top f_k of pixels set to black)        AUC: lower is better
    insertion:  p_k = P(c | a blurred x with its top f_k of pixels restored)   AUC: higher is better

and the score is the area under p over f in [0, 1] (trapezoid rule). A pixel is a position
(all its channels move together). The black image is the paper's "removed" state; the
insertion canvas is the image under a Gaussian blur of sigma 0.1 x its larger side, which
keeps the colours but little of the shape. The steps + 1 images of each curve go through the
network in batches (no gradients).

Two reference maps give the scale: a random map (uniform noise from the seed: its deletion
curve falls as the pixels' mean share of the evidence) and an edge detector (the Sobel
gradient magnitude of the gray image: the map of a method that only looks at the image).
Every attribution method records :func:`faithfulness` in its sidecar; ``minigrad
attribution-score`` ranks the methods on many images against these two maps.

V. Petsiuk, A. Das, K. Saenko. "RISE: Randomized Input Sampling for Explanation of Black-box
Models." BMVC 2018, section 4.1. arXiv:1806.07421.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from minigrad.tensor import Tensor
from visualize.inputs import predict
from visualize.params import Int

AUC_STEPS = Int("auc_steps", 32, "points of the deletion and insertion curves whose areas (Petsiuk et al. 2018) "
                                 "the sidecar records; 0 skips them", lo=0, hi=4096)


def blur(image: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    """``image`` (h, w, 3) under a Gaussian of sigma ``fraction`` times its larger side (edges
    extended): the insertion canvas, and integrated gradients' "blurred" baseline."""
    sigma = fraction * max(image.shape[:2])
    return ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest").astype(image.dtype)


def pixel_order(heat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rank of every pixel of ``heat`` (h, w): 0 for the largest value; ties in random order."""
    heat = np.asarray(heat, np.float64)
    if not np.all(np.isfinite(heat)):
        raise ValueError("the attribution map holds NaN or infinite values; it cannot rank pixels")
    order = np.lexsort((rng.permutation(heat.size), -heat.ravel()))
    rank = np.empty(heat.size, np.int64)
    rank[order] = np.arange(heat.size)
    return rank.reshape(heat.shape)


def curve(model, x: Tensor, start: Tensor, rank: np.ndarray, index: int, steps: int, batch_size: int) -> np.ndarray:
    """P(index) on the images that take the pixels of rank < round(f_k h w) from ``x`` and the
    others from ``start`` (both (1, C, h, w) inputs; for deletion ``x`` is the black image and
    ``start`` the input), for f_k = k / steps, k = 0..steps."""
    xp = x.backend.xp
    counts = np.rint(np.linspace(0, 1, steps + 1) * rank.size).astype(np.int64)
    rank = xp.asarray(rank)
    probs = []
    for lo in range(0, steps + 1, batch_size):
        n = xp.asarray(counts[lo:lo + batch_size])
        keep = (rank[None] < n[:, None, None])[:, None]                       # (b, 1, h, w)
        probs.append(predict(model, Tensor(xp.where(keep, x.data, start.data)))[:, index])
    return np.concatenate(probs).astype(np.float64)


def auc(p: np.ndarray) -> float:
    """Area under p over [0, 1] for p sampled at len(p) evenly spaced points (trapezoid rule)."""
    return float((p[:-1] + p[1:]).sum() / (2 * (len(p) - 1)))


def faithfulness(model, x: Tensor, heat: np.ndarray, index: int, rng: np.random.Generator,
                 steps: int = 32, batch_size: int = 32) -> dict:
    """Deletion and insertion AUCs (and curves) of the map ``heat`` (h, w, the input's size)
    for logit ``index`` of input ``x`` (1, C, h, w). JSON-able."""
    if steps < 1:
        raise ValueError(f"the deletion/insertion curves need at least 1 step, got {steps}")
    if tuple(np.shape(heat)) != tuple(x.shape[2:]):
        raise ValueError(f"the attribution map has shape {np.shape(heat)} but the input is {tuple(x.shape[2:])}")
    shown = model.deprocess(x)
    black = model.preprocess(np.zeros_like(shown))
    blurred = model.preprocess(blur(shown))
    rank = pixel_order(heat, rng)
    deletion = curve(model, black, x, rank, index, steps, batch_size)
    insertion = curve(model, x, blurred, rank, index, steps, batch_size)
    return {"deletion_auc": auc(deletion), "insertion_auc": auc(insertion), "steps": steps,
            "deletion_curve": [round(float(p), 6) for p in deletion],
            "insertion_curve": [round(float(p), 6) for p in insertion]}


def score(model, x: Tensor, heat: np.ndarray, index: int, rng: np.random.Generator, steps: int) -> dict | None:
    """What an attribution method puts in its report under "faithfulness": the result of
    :func:`faithfulness` with ``steps`` points per curve (one batch per curve), None when 0."""
    return faithfulness(model, x, heat, index, rng, steps, batch_size=steps + 1) if steps else None


def caption(report: dict | None) -> str:
    """The AUCs in words for a picture's caption ("" when not computed)."""
    if not report:
        return ""
    return f"deletion AUC {report['deletion_auc']:.3f} (lower = faithful), insertion AUC {report['insertion_auc']:.3f}"


def random_map(shape, rng: np.random.Generator) -> np.ndarray:
    """The reference map that knows nothing: uniform noise."""
    return rng.random(shape)


def edge_map(image: np.ndarray) -> np.ndarray:
    """The reference map that only looks at the image: the Sobel gradient magnitude of its
    gray level (h, w, 3) -> (h, w)."""
    gray = np.asarray(image, np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.hypot(ndimage.sobel(gray, axis=0), ndimage.sobel(gray, axis=1))
