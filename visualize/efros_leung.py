"""Non-parametric texture synthesis by Efros & Leung, "Texture Synthesis by Non-parametric
Sampling", ICCV 1999.

The output grows from a small seed patch copied from a random place of the source. At each
step the unfilled pixel with the most filled pixels in its ``w x w`` window is filled: its
window ``T`` (with the mask ``M`` of known pixels) is compared with every ``w x w`` window
``S_q`` of the source by the Gaussian-weighted SSD over the known pixels

    d(q) = sum_ij  K_ij (S_q,ij - T_ij)^2,     K = G * M / sum(G * M),

with ``G`` a Gaussian of standard deviation ``w / 6.4`` (the value of Efros' own code), and
the centre of a source window drawn uniformly from those with ``d(q) <= (1 + epsilon) min d``
is copied. Pixels keep their values once filled.

All source windows are compared at once: with the windows flattened to the rows of a matrix
``P`` (one row of ``w w 3`` values per window) and their squared norms per position to the
rows of ``Q`` (``w w`` values),

    d = Q K  -  2 P (K T)  +  sum K T^2,

two matrix-vector products per pixel instead of a loop over windows (:func:`plain_distances`
is that loop, kept as the reference the tests and the speed comparison use).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

SEED_SIZE = 3


@dataclass
class Synthesis:
    """``image`` (size, size, 3) float32; ``order`` the (y, x) of each synthesized pixel in the
    order it was filled (the seed patch, ``seed_box`` = (y0, x0, size), is not in it);
    ``chosen`` the flat index of the source window copied for each, with its distance
    ``chosen_distance`` and the best distance ``best_distance`` at that time; ``pixels_per_s``
    the synthesis rate."""

    image: np.ndarray
    seed_box: tuple
    order: np.ndarray
    chosen: np.ndarray
    chosen_distance: np.ndarray
    best_distance: np.ndarray
    candidates: np.ndarray
    pixels_per_s: float
    window: int
    epsilon: float
    source_shape: tuple = field(default=())


def gaussian_window(window: int) -> np.ndarray:
    """The (w, w) Gaussian of standard deviation w / 6.4, peak 1."""
    r = np.arange(window) - window // 2
    sigma = window / 6.4
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma * sigma))
    return g / g.max()


def check_arguments(source, window: int, size: int, epsilon: float) -> np.ndarray:
    """The source as float64 (H, W, 3); clear errors for impossible settings."""
    src = np.asarray(source, dtype=np.float64)
    if src.ndim == 2:
        src = np.repeat(src[..., None], 3, axis=-1)
    if src.ndim != 3 or src.shape[-1] != 3:
        raise ValueError(f"efros-leung: the source must be an RGB image (H, W, 3), got shape {src.shape}")
    if window < 3 or window % 2 == 0:
        raise ValueError(f"efros-leung: --window must be an odd number >= 3, got {window}")
    if min(src.shape[:2]) < window:
        raise ValueError(f"efros-leung: the source texture ({src.shape[1]}x{src.shape[0]} px) is smaller than "
                         f"the {window}x{window} window; use a smaller --window or a larger source")
    if size < SEED_SIZE:
        raise ValueError(f"efros-leung: --size must be >= {SEED_SIZE}, got {size}")
    if not epsilon >= 0:
        raise ValueError(f"efros-leung: --epsilon must be >= 0, got {epsilon}")
    return src


def source_windows(src: np.ndarray, window: int):
    """P (n, w w 3), the windows of the source flattened; Q (n, w w), their squared values
    summed over the colour channels; both float64. Row q is the window whose top-left corner
    is (q // (W - w + 1), q % (W - w + 1))."""
    views = np.lib.stride_tricks.sliding_window_view(src, (window, window), axis=(0, 1))  # (h, w, 3, k, k)
    patches = np.ascontiguousarray(views.transpose(0, 1, 3, 4, 2)).reshape(-1, window * window, 3)
    return patches.reshape(len(patches), -1), (patches * patches).sum(axis=2)


def window_distances(P, Q, template, known, gauss) -> np.ndarray:
    """Gaussian-weighted SSD over the known pixels between ``template`` (w, w, 3) and every
    source window: d = Q K - 2 P (K T) + sum K T^2 (module docstring)."""
    k = gauss * known
    k = (k / k.sum()).ravel()
    t = template.reshape(-1, 3) * known.reshape(-1, 1)
    d = Q @ k - 2.0 * (P @ (k[:, None] * t).ravel()) + float((k[:, None] * t * t).sum())
    return np.maximum(d, 0.0)


def plain_distances(src, template, known, gauss) -> np.ndarray:
    """The same distances by a plain loop over the source windows (the reference)."""
    window = template.shape[0]
    k = gauss * known
    k = k / k.sum()
    h, w = src.shape[0] - window + 1, src.shape[1] - window + 1
    out = np.empty(h * w)
    for i in range(h):
        for j in range(w):
            diff = src[i:i + window, j:j + window] - template
            out[i * w + j] = float((k[..., None] * diff * diff).sum())
    return out


def synthesize(source, size: int = 64, window: int = 11, epsilon: float = 0.1, rng=None,
               progress: bool = True, distances=None) -> Synthesis:
    """Grow a ``size`` x ``size`` texture from ``source`` (H, W, 3) in [0, 1].

    ``rng`` (numpy Generator) draws the seed patch and every choice among the close matches.
    ``distances``: None for the vectorized comparison, or :func:`plain_distances` (the loop;
    only for comparisons, it is slow).
    """
    src = check_arguments(source, int(window), int(size), float(epsilon))
    rng = rng if rng is not None else np.random.default_rng(0)
    half = window // 2
    gauss = gaussian_window(window)
    P, Q = source_windows(src, window)
    ncols = src.shape[1] - window + 1
    # canvas padded by half a window on every side: the padding stays unknown
    n = size + 2 * half
    canvas = np.zeros((n, n, 3))
    known = np.zeros((n, n), dtype=bool)
    y0, x0 = (size - SEED_SIZE) // 2, (size - SEED_SIZE) // 2
    sy = int(rng.integers(0, src.shape[0] - SEED_SIZE + 1))
    sx = int(rng.integers(0, src.shape[1] - SEED_SIZE + 1))
    canvas[half + y0:half + y0 + SEED_SIZE, half + x0:half + x0 + SEED_SIZE] = src[sy:sy + SEED_SIZE, sx:sx + SEED_SIZE]
    known[half + y0:half + y0 + SEED_SIZE, half + x0:half + x0 + SEED_SIZE] = True
    # count[y, x]: known pixels in the window of output pixel (y, x), lowered by size^4 once
    # (y, x) is filled, so that argmax picks the unfilled pixel with the most known neighbours
    count = np.zeros((size, size), dtype=np.int64)
    for y in range(y0, y0 + SEED_SIZE):
        for x in range(x0, x0 + SEED_SIZE):
            count[max(0, y - half):y + half + 1, max(0, x - half):x + half + 1] += 1
    filled_mark = size ** 4
    count[y0:y0 + SEED_SIZE, x0:x0 + SEED_SIZE] -= filled_mark
    total = size * size - SEED_SIZE * SEED_SIZE
    order = np.empty((total, 2), dtype=np.int64)
    chosen = np.empty(total, dtype=np.int64)
    chosen_d, best_d = np.empty(total), np.empty(total)
    ncand = np.empty(total, dtype=np.int64)
    start = time.perf_counter()
    with tqdm(total=total, desc="efros-leung", unit="px", disable=None if progress else True, leave=False) as bar:
        for step in range(total):
            y, x = np.unravel_index(int(np.argmax(count)), count.shape)
            template = canvas[y:y + window, x:x + window]
            mask = known[y:y + window, x:x + window]
            if distances is None:
                d = window_distances(P, Q, template, mask, gauss)
            else:
                d = distances(src, template, mask, gauss)
            best = float(d.min())
            candidates = np.flatnonzero(d <= best * (1.0 + epsilon))
            q = int(candidates[rng.integers(len(candidates))])
            cy, cx = q // ncols + half, q % ncols + half
            canvas[y + half, x + half] = src[cy, cx]
            known[y + half, x + half] = True
            count[max(0, y - half):y + half + 1, max(0, x - half):x + half + 1] += 1
            count[y, x] -= filled_mark
            order[step], chosen[step], chosen_d[step], best_d[step], ncand[step] = (y, x), q, d[q], best, len(candidates)
            bar.update(1)
    elapsed = time.perf_counter() - start
    image = canvas[half:half + size, half:half + size].astype(np.float32)
    return Synthesis(image, (y0, x0, SEED_SIZE), order, chosen, chosen_d, best_d, ncand,
                     total / max(elapsed, 1e-9), int(window), float(epsilon), tuple(src.shape))
