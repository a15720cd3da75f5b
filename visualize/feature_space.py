"""The dataset in a network's feature space: what the dataset methods (nearest neighbours, the
PCA / t-SNE maps, maximally activating patches) share.

* :func:`feature_file` gives the features file of a model over a dataset: the one the user
  named with ``--features`` (made by ``minigrad features``; checked: same weights, same image
  list, the layer is in it), or one extracted by :func:`models.features.extract` for this
  run only;
* :func:`held_out_split`: which images are queries and which form the index. On the shipped
  digits it is the split ``mnist_cnn`` was trained with (first 8,000 / last 2,000, so the
  held-out digits were never seen in training); elsewhere a seeded random fifth;
* :func:`knn_accuracy`: k-nearest-neighbour classification of the held-out images by the
  majority label of their k nearest index images (ties: the nearest of the tied labels);
* :func:`default_feature_layer`: the last hidden layer (the input of the last Linear, after
  its ReLU: fc7 on AlexNet and VGG-16, relu_fc1 on mnist_cnn), the lecture's feature space;
* the parameters the three methods share (``--features``, ``--limit``) and the drawing of
  thumbnails (:func:`tiles_of`) with their class names (:func:`class_name`).
"""
from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import numpy as np

from models import datasets
from models.features import FeatureFile, extract, weights_fingerprint
from models.mnist import N_HELD_OUT, N_TRAIN
from visualize.inputs import layer_label
from visualize.params import Int, Text

__all__ = ["feature_file", "dataset_source", "held_out_split", "knn_accuracy", "neighbours", "default_feature_layer",
           "pixels", "tiles_of", "class_name", "FEATURES", "LIMIT"]


def default_feature_layer(model) -> str:
    """The output of the last hidden layer: the ReLU after the second-to-last Linear (or
    that Linear when no ReLU follows it)."""
    layers = model.layers()
    linear = [i for i, (_, m) in enumerate(layers) if type(m).__name__ == "Linear"]
    if len(linear) < 2:
        raise ValueError(f"{model.architecture} has no hidden fully connected layer; give --layer")
    i = linear[-2]
    if i + 1 < len(layers) and type(layers[i + 1][1]).__name__ == "ReLU":
        i += 1
    return layer_label(model, layers[i][0])


def dataset_source(data_source: str, limit=None) -> datasets.Source:
    """The images of ``data_source``; with ``limit``, only its first ``limit`` images."""
    source = datasets.open_source(data_source)
    return source if limit is None else source.subset(0, limit)


@contextlib.contextmanager
def feature_file(model, data_source: str, layers, pool: str, path=None, batch_size: int = 64, limit=None):
    """``with feature_file(...) as f``: the opened features file of ``model`` over
    ``data_source`` holding ``layers``: the file ``path`` when given (checked: ValueError
    naming the mismatch when it was made for another model or image list, KeyError when it
    lacks a layer), else one extracted now into a temporary folder, removed afterwards."""
    source = dataset_source(data_source, limit)
    with tempfile.TemporaryDirectory(prefix="minigrad-features-") as tmp:
        if path is None:
            path = Path(tmp) / "features.h5"
            extract(model, source, layers, path, pool=pool, batch_size=batch_size, progress=sys.stderr.isatty())
        with FeatureFile(path) as f:
            if f.weights_sha256 != weights_fingerprint(model):
                raise ValueError(f"--features {str(path)!r} was computed with other weights ({f.architecture}, "
                                 f"SHA-256 {f.weights_sha256[:12]}...), not the {model.architecture} of --model")
            if f.identity["list_sha256"] != source.sha256():
                raise ValueError(f"--features {str(path)!r} holds another image list ({f.identity['source']!r}, "
                                 f"{f.identity['images_listed']} images) than --data {data_source!r}"
                                 + (f" --limit {limit}" if limit is not None else ""))
            for layer in layers:
                f.layer_info(layer)                          # KeyError naming the layers it has
                if pool == "argmax":
                    f.positions(layer)
            yield f


def pixels(f: FeatureFile) -> np.ndarray:
    """The thumbnails as float vectors in [0, 1] (N, h * w * c): the pixel space (for the
    shipped digits exactly their 784 pixels)."""
    t = f.thumbnails()
    return t.reshape(len(t), -1).astype(np.float32) / np.float32(255)


def held_out_split(f: FeatureFile, rng, fraction: float = 0.2):
    """(index rows, held-out rows) of the file's images (see the module docstring)."""
    n = len(f)
    if f.identity["source"] == datasets.MNIST and n == f.identity["images_listed"] == N_TRAIN + N_HELD_OUT:
        rows = np.arange(n)
        return rows[:N_TRAIN], rows[N_TRAIN:]
    if n < 2:
        raise ValueError(f"the dataset has {n} readable image(s): a query and an index need at least 2")
    order = rng.permutation(n)
    cut = max(1, min(n - 1, round(n * fraction)))
    return np.sort(order[cut:]), np.sort(order[:cut])


def neighbours(index_x, query_x, k: int, metric: str):
    """(distances, rows) of the ``k`` nearest index rows of each query (scikit-learn's exact
    brute-force search; ``metric`` "l2" or "cosine")."""
    from sklearn.neighbors import NearestNeighbors
    nn = NearestNeighbors(n_neighbors=min(k, len(index_x)), metric="euclidean" if metric == "l2" else "cosine",
                          algorithm="brute")
    nn.fit(index_x)
    return nn.kneighbors(query_x)


def knn_accuracy(index_x, index_y, query_x, query_y, k: int, metric: str) -> float:
    """Fraction of queries whose majority label among their ``k`` nearest index images is
    their own label (a tie goes to the tied label with the nearest member)."""
    _, rows = neighbours(index_x, query_x, k, metric)
    votes = np.asarray(index_y)[rows]                     # (queries, k), nearest first
    predicted = []
    for row in votes:
        labels, counts = np.unique(row, return_counts=True)
        tied = set(labels[counts == counts.max()])
        predicted.append(next(v for v in row if v in tied))
    return float(np.mean(np.asarray(predicted) == np.asarray(query_y)))


FEATURES = Text("features", None, "a features file made by `minigrad features` for this --model and --data "
                                  "(default: extract the features for this run only)")
LIMIT = Int("limit", None, "use only the first N images of --data (default: all)", lo=2)


def tiles_of(thumbnails: np.ndarray, side: int = 56) -> np.ndarray:
    """uint8 thumbnails (N, h, w, c) -> float tiles enlarged by pixel repetition to about ``side``."""
    factor = max(1, side // thumbnails.shape[1])
    t = thumbnails.astype(np.float32) / np.float32(255)
    return np.repeat(np.repeat(t, factor, axis=1), factor, axis=2)


def class_name(f, label) -> str:
    """The class name of ``label`` in features file ``f`` ("?" for an unlabelled image)."""
    return f.class_names[label] if 0 <= label < len(f.class_names) else "?"
