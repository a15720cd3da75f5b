"""GrabCut: foreground segmentation by iterated graph cuts (Rother, Kolmogorov & Blake 2004).

Every pixel p of the image (colour z_p) gets a label a_p in {background 0, foreground 1}. The
labelling minimizes the Gibbs energy

    E(a) = sum_p D_p(a_p) + sum_{(p,q) neighbours} [a_p != a_q] V_pq

* unary term: D_p(a) = -log sum_k pi_k N(z_p; mu_k, Sigma_k), the colour likelihood under the
  Gaussian mixture (K = 5 components, full covariances) of region a, fitted with
  scikit-learn's GaussianMixture to the pixels currently labelled a;
* pairwise term (contrast-sensitive Potts): V_pq = gamma / dist(p, q) exp(-beta ||z_p - z_q||^2)
  over the 8-neighbourhood, gamma = 50, beta = 1 / (2 <||z_p - z_q||^2>) (the mean over all
  neighbouring pairs), so a cut is cheap along colour edges and dear inside smooth regions.

The minimum of E over a is a minimum s-t cut of the graph with one node per pixel, an edge
source -> p of capacity D_p(background) (paid when p is cut to the background side), p ->
sink of capacity D_p(foreground), and edges p <-> q of capacity V_pq. Pixels the user (here:
the seeds) marked as sure background or foreground are held there by an edge of capacity
9 gamma, larger than any pairwise sum, and zero on the other side. The minimum cut equals the
maximum flow (Ford-Fulkerson): scipy.sparse.csgraph.maximum_flow computes it on integer
capacities (the energies scaled and rounded); the source side is what the source still
reaches in the residual graph. GrabCut iterates: fit the two mixtures to the current
labelling, cut, relabel the uncertain pixels; the energy does not increase.

The mask follows OpenCV's cv2.grabCut convention: 0 sure background, 1 sure foreground,
2 probable background, 3 probable foreground; sure pixels never change.

C. Rother, V. Kolmogorov, A. Blake. "GrabCut: Interactive Foreground Extraction using Iterated
Graph Cuts." ACM SIGGRAPH 2004. Y. Boykov, M.-P. Jolly. "Interactive Graph Cuts for Optimal
Boundary & Region Segmentation of Objects in N-D Images." ICCV 2001.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

BGD, FGD, PR_BGD, PR_FGD = 0, 1, 2, 3
GAMMA = 50.0
COMPONENTS = 5
EM_STEPS = 5          # EM steps of each colour model per GrabCut iteration
# (dy, dx) of the four "forward" neighbours; with their mirror images the 8-neighbourhood
OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))


def seeds_from_map(heat: np.ndarray, foreground: float = 0.95, background: float = 0.3) -> np.ndarray:
    """A GrabCut mask from an attribution map (Simonyan et al. 2014, section 6): pixels above the
    ``foreground`` quantile are sure foreground, below the ``background`` quantile sure
    background; the others probable foreground above the quantile halfway between, probable
    background below it."""
    if not 0 <= background < foreground <= 1:
        raise ValueError(f"seed quantiles must satisfy 0 <= background < foreground <= 1, "
                         f"got background {background}, foreground {foreground}")
    heat = np.asarray(heat, np.float64)
    lo, mid, hi = np.quantile(heat, [background, (background + foreground) / 2, foreground])
    mask = np.where(heat >= mid, PR_FGD, PR_BGD).astype(np.uint8)
    mask[heat > hi] = FGD
    mask[heat < lo] = BGD
    return mask


def _pairs(h: int, w: int):
    """Indices (p, q) of every neighbouring pair in an h x w grid, and each pair's distance."""
    ys, xs = np.mgrid[0:h, 0:w]
    ps, qs, dist = [], [], []
    for dy, dx in OFFSETS:
        inside = (ys + dy < h) & (xs + dx >= 0) & (xs + dx < w)
        ps.append((ys * w + xs)[inside])
        qs.append(((ys + dy) * w + xs + dx)[inside])
        dist.append(np.full(int(inside.sum()), np.hypot(dy, dx)))
    return np.concatenate(ps), np.concatenate(qs), np.concatenate(dist)


def pairwise_weights(image: np.ndarray):
    """(p, q, V_pq) for every neighbouring pair of ``image`` (h, w, 3), as in the module docstring."""
    h, w, _ = image.shape
    p, q, dist = _pairs(h, w)
    z = image.reshape(-1, image.shape[2]).astype(np.float64)
    d2 = ((z[p] - z[q]) ** 2).sum(axis=1)
    mean = d2.mean()
    beta = 1.0 / (2 * mean) if mean > 0 else 0.0
    return p, q, GAMMA / dist * np.exp(-beta * d2)


def _mixture(rng: np.random.Generator):
    """A colour model (scikit-learn's GaussianMixture, imported here: the command line loads
    every method module at start) that each fit continues from its last state (warm start):
    the first fit starts from k-means, later ones take a few EM steps from the previous
    mixture, as GrabCut re-estimates its models once per iteration."""
    from sklearn.mixture import GaussianMixture
    return GaussianMixture(COMPONENTS, covariance_type="full", reg_covar=1e-4, max_iter=EM_STEPS,
                           warm_start=True, random_state=int(rng.integers(2 ** 31)))


def _fit(model, pixels: np.ndarray):
    from sklearn.exceptions import ConvergenceWarning
    if len(pixels) < COMPONENTS:
        raise ValueError(f"grabcut: a region has {len(pixels)} pixels, fewer than its {COMPONENTS} colour "
                         "components; give larger seed regions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # a few EM steps per iteration, by design
        return model.fit(pixels)


def min_cut(source_caps: np.ndarray, sink_caps: np.ndarray, p, q, v) -> np.ndarray:
    """Boolean array: True for the nodes on the source side of the minimum cut of the graph
    with terminal edges ``source_caps`` / ``sink_caps`` (per node) and undirected edges
    (p, q) of capacity v. Capacities are scaled to integers for scipy's maximum_flow."""
    n = len(source_caps)
    # Subtracting min(s, t) from both terminal edges of a node changes every cut by the same amount.
    shift = np.minimum(source_caps, sink_caps)
    s_caps, t_caps = source_caps - shift, sink_caps - shift
    total = s_caps.sum() + 2 * v.sum()
    scale = min(1000.0, 2.0 ** 30 / max(total, 1e-12))
    caps = np.rint(np.concatenate([s_caps, t_caps, v, v]) * scale).astype(np.int32)
    source, sink = n, n + 1
    rows = np.concatenate([np.full(n, source), np.arange(n), p, q])
    cols = np.concatenate([np.arange(n), np.full(n, sink), q, p])
    graph = sparse.csr_matrix((caps, (rows, cols)), shape=(n + 2, n + 2))
    flow = maximum_flow(graph, source, sink).flow
    residual = (graph - flow).tocsr()
    residual.data = np.maximum(residual.data, 0)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    side = np.zeros(n + 2, bool)
    side[reached] = True
    return side[:n]


def grabcut(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, iterations: int = 5) -> np.ndarray:
    """Run ``iterations`` rounds of GrabCut on ``image`` (h, w, 3) in [0, 1] from ``mask``
    (h, w; values 0-3 as in the module docstring); returns the new mask (sure pixels kept)."""
    image = np.asarray(image, np.float64)
    mask = np.asarray(mask).copy()
    if image.ndim != 3 or mask.shape != image.shape[:2]:
        raise ValueError(f"grabcut: the mask has shape {mask.shape} but the image has shape {image.shape}; "
                         "expected an (h, w, 3) image and an (h, w) mask")
    if not np.isin(mask, (BGD, FGD, PR_BGD, PR_FGD)).all():
        raise ValueError("grabcut: mask values must be 0 (background), 1 (foreground), 2 (probable background) "
                         "or 3 (probable foreground)")
    if iterations < 1:
        raise ValueError(f"grabcut: iterations must be at least 1, got {iterations}")
    z = image.reshape(-1, image.shape[2])
    flat = mask.reshape(-1)
    p, q, v = pairwise_weights(image)
    hold = 9 * GAMMA
    models = (_mixture(rng), _mixture(rng))
    for _ in range(iterations):
        fg = np.isin(flat, (FGD, PR_FGD))
        if fg.all() or not fg.any():
            raise ValueError("grabcut: the mask must have both foreground and background pixels")
        d_fg = -_fit(models[0], z[fg]).score_samples(z)
        d_bg = -_fit(models[1], z[~fg]).score_samples(z)
        source_caps = np.where(flat == FGD, hold, np.where(flat == BGD, 0.0, d_bg))
        sink_caps = np.where(flat == BGD, hold, np.where(flat == FGD, 0.0, d_fg))
        foreground = min_cut(source_caps, sink_caps, p, q, v)
        unsure = (flat == PR_BGD) | (flat == PR_FGD)
        flat[unsure] = np.where(foreground[unsure], PR_FGD, PR_BGD)
    return flat.reshape(mask.shape)


def foreground(mask: np.ndarray) -> np.ndarray:
    """Boolean foreground of a GrabCut mask (sure or probable foreground)."""
    return (mask == FGD) | (mask == PR_FGD)
