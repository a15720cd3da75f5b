"""PCA and t-SNE maps of a dataset in pixel space or in a network's feature space.

Each image is a point x_i (its pixels, or a layer's features); a map places it at y_i in 2-D.

* **PCA** projects onto the two directions of largest variance: y_i = V_2^T (x_i - mean), V_2
  the top two right singular vectors of the centred data.
* **t-SNE** (van der Maaten & Hinton 2008) matches neighbourhoods: with Gaussian affinities
  p_{j|i} proportional to exp(-||x_i - x_j||^2 / 2 sigma_i^2) (sigma_i set so that each point
  has the chosen *perplexity*, an effective number of neighbours), p_ij = (p_{j|i} + p_{i|j}) / 2n,
  and Student-t affinities q_ij proportional to (1 + ||y_i - y_j||^2)^-1 in the map, it
  minimizes KL(P || Q) by gradient descent (scikit-learn's Barnes-Hut implementation, PCA
  initialization, learning rate n / 12; the points are first reduced to 50 dimensions by
  PCA, the usual practice).

Each map is drawn twice: as a scatter plot coloured by class with a legend (matplotlib), and
as a thumbnail atlas in which each image is snapped to a cell of a G x G grid by its 2-D
position, with the assignment of G^2 images to G^2 cells that minimizes the total squared
distance between positions and cell centres (an optimal assignment, scipy's
``linear_sum_assignment``), as in the well-known CNN t-SNE grids. The report gives each map's
trustworthiness (Venna & Kaski 2001, scikit-learn: 1 when every map neighbour is a true
neighbour, 5 neighbours) and its time. On MNIST the lecture's figure shows pixel t-SNE
already separating most digits; the trained net's features separate them almost fully.

L. van der Maaten, G. Hinton. "Visualizing Data using t-SNE." JMLR 9, 2008.
"""
from __future__ import annotations

import time

import numpy as np

from visualize import imaging
from visualize.feature_space import (FEATURES, LIMIT, class_name, default_feature_layer, feature_file, pixels,
                                     tiles_of)
from visualize.input_kinds import Dataset
from visualize.method import Example, Method, Output, register
from visualize.params import BATCH_SIZE, Choice, Float, Int, Layer

SPACES = ("features", "pixels", "both")
SERIAL_TSNE_BELOW = 5000      # points: t-SNE on fewer runs on one OpenMP thread


def embed(x: np.ndarray, how: str, perplexity: float, seed: int) -> np.ndarray:
    """(n, d) points -> (n, 2) map by PCA or t-SNE (after PCA to 50 dimensions)."""
    from sklearn.decomposition import PCA
    x = x.astype(np.float64)
    if how == "pca":
        return PCA(2, random_state=seed).fit_transform(x)
    from sklearn.manifold import TSNE
    if x.shape[1] > 50 and len(x) > 50:
        x = PCA(50, random_state=seed).fit_transform(x)
    from threadpoolctl import threadpool_limits  # installed with scikit-learn
    tsne = TSNE(2, perplexity=min(perplexity, (len(x) - 1) / 3), init="pca", learning_rate="auto",
                random_state=seed)
    # Each Barnes-Hut iteration over a few thousand points is too short to share between
    # threads: synchronizing them costs more than it saves, most of all on a busy machine.
    with threadpool_limits(1 if len(x) < SERIAL_TSNE_BELOW else None, user_api="openmp"):
        return tsne.fit_transform(x)


def grid_assignment(y: np.ndarray, side: int) -> np.ndarray:
    """The row of ``y`` (n >= side^2 points in 2-D) placed in each cell of a side x side grid
    (row-major, the first row at the top of the map): an optimal assignment of the first
    side^2 points to the cells by squared distance between scaled positions and cell centres."""
    from scipy.optimize import linear_sum_assignment
    pts = y[:side * side]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scaled = (pts - lo) / np.where(hi > lo, hi - lo, 1)
    centres = (np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="xy"), -1).reshape(-1, 2) + 0.5) / side
    centres[:, 1] = 1 - centres[:, 1]                      # grid rows run downwards, the map's y upwards
    cost = ((scaled[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    points, cells = linear_sum_assignment(cost)
    out = np.empty(side * side, dtype=np.int64)
    out[cells] = points
    return out


def scatter(y: np.ndarray, labels: np.ndarray, names, title: str) -> np.ndarray:
    """A scatter plot of the map coloured by class, with a legend, as an RGB array."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4.6, 4.2), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    unlabelled = labels < 0
    if unlabelled.any():
        ax.scatter(y[unlabelled, 0], y[unlabelled, 1], s=5, c="0.6", label="no label")
    for c in np.unique(labels[~unlabelled]):
        at = labels == c
        ax.scatter(y[at, 0], y[at, 1], s=5, color=colors(int(c) % colors.N), label=names[c])
    if len(names) <= 20:
        ax.legend(markerscale=3, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(np.float32) / np.float32(255)


@register
class Embedding(Method):
    name = "embedding"
    title = "PCA and t-SNE maps"
    reference = "L. van der Maaten, G. Hinton. Visualizing Data using t-SNE. JMLR 9, 2008"
    url = "https://www.jmlr.org/papers/v9/vandermaaten08a.html"
    summary = ("2-D maps (t-SNE or PCA) of a dataset in pixel space and in a layer's feature space: a scatter plot "
               "by class and a thumbnail atlas snapped to a grid by optimal assignment")
    example = "minigrad embedding --model mnist_cnn --data mnist --space both --points 2000"
    inputs = Dataset()
    params = (Choice("space", "both", "what is mapped: the features, the pixels, or both side by side", SPACES),
              Choice("map", "tsne", "the 2-D map", ("tsne", "pca")),
              Layer("layer", None, "feature layer; default: the last hidden layer (fc7 / relu_fc1)"),
              Int("points", 1000, "images mapped (a seeded random sample of the dataset)", lo=10, hi=100000),
              Float("perplexity", 30.0, "t-SNE perplexity (effective number of neighbours)", lo=2.0, hi=500.0),
              Int("grid", 16, "the atlas is GRID x GRID thumbnails", lo=2, hi=100),
              FEATURES, LIMIT, BATCH_SIZE)
    smoke = {"limit": 120, "points": 100, "grid": 6}
    presets = {"alexnet": {"layer": "relu7"}, "vgg16": {"layer": "relu7"}, "mnist_cnn": {"layer": "relu_fc1"}}

    def resolve(self, params):
        return {**params, "layer": params["layer"] or default_feature_layer(self.model)}

    def compute(self, data, rng, space="both", map="tsne", layer=None, points=1000, perplexity=30.0, grid=16,
                features=None, limit=None, batch_size=64):
        with feature_file(self.model, data.source, [layer], "avg", features, batch_size, limit) as f:
            rows = np.sort(rng.choice(len(f), size=min(points, len(f)), replace=False))
            seed = int(rng.integers(2 ** 31))
            spaces = {"features": lambda: f.features(layer)[rows], "pixels": lambda: pixels(f)[rows]}
            chosen = ("pixels", "features") if space == "both" else (space,)
            labels = f.labels[rows]
            side = min(grid, int(np.sqrt(len(rows))))
            columns, report, arrays = [], {"layer": layer, "map": map, "points": len(rows), "grid": side}, {}
            for name in chosen:
                x = spaces[name]()
                t0 = time.perf_counter()
                y = embed(x, map, perplexity, seed)
                seconds = time.perf_counter() - t0
                from sklearn.manifold import trustworthiness
                trust = float(trustworthiness(x, y, n_neighbors=min(5, len(x) // 2 - 1)))
                cells = grid_assignment(y, side)
                what = f"{layer} features ({x.shape[1]}-d)" if name == "features" else f"pixels ({x.shape[1]}-d)"
                title = f"{map.upper() if map == 'pca' else 't-SNE'} of {what}; trustworthiness {trust:.3f}"
                atlas = imaging.tile_grid(tiles_of(f.thumbnails(rows[cells]), 28), columns=side, gap=0)
                columns.append(imaging.vstack([scatter(y, labels, f.class_names, title),
                                               imaging.label_above(atlas, f"atlas: {side}x{side} images on a grid")]))
                report[name] = {"trustworthiness": trust, "seconds": round(seconds, 3), "dimensions": x.shape[1]}
                arrays[f"map_{name}"] = y.astype(np.float32)
                arrays[f"atlas_rows_{name}"] = rows[cells]
            arrays["rows"] = rows
            classes = ", ".join(class_name(f, c) for c in np.unique(labels) if c >= 0)
        caption = (f"{len(rows)} images" + (f" of classes {classes}" if classes else "") + "; " +
                   "; ".join(f"{n}: trustworthiness {report[n]['trustworthiness']:.3f}"
                             for n in chosen))
        return Output(arrays=arrays, picture=imaging.hstack(columns, gap=16), caption=caption, report=report)

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", m, "--data", demo.dataset(m), "--features", demo.features(m), "--space", "both"),
                        f"{m}: t-SNE of pixels and of features side by side") for m in demo.models]
