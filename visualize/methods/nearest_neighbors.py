"""Nearest neighbours in feature space against pixel space (Krizhevsky, Sutskever & Hinton 2012).

For a query image q and the images x_i of a dataset, the k nearest neighbours under a distance
d are the k images with the smallest d(phi(q), phi(x_i)). In *pixel space* phi is the image
itself (here the image as the network sees it, shrunk to at most 32 pixels a side: the 784
pixels for a digit); in *feature space* phi is a layer's activation, classically the last
hidden layer (AlexNet's fc7, 4096-d). d is the L2 distance ||a - b|| or the cosine distance
1 - a.b / (||a|| ||b||). Krizhevsky et al. (figure 4) show that fc7 neighbours share the
query's class across poses and colours where pixel neighbours share only colour and layout.

Queries come from a held-out split (on the shipped digits, the 2,000 mnist_cnn never trained
on; the index is the other 8,000); on labelled data every held-out image is also classified by
the majority label of its k nearest index images, in each space (k-NN accuracy). The search is
scikit-learn's exact brute-force ``NearestNeighbors``.

A. Krizhevsky, I. Sutskever, G. E. Hinton. "ImageNet Classification with Deep Convolutional
Neural Networks." NIPS 2012.
"""
from __future__ import annotations

import numpy as np

from visualize import imaging
from visualize.feature_space import (FEATURES, LIMIT, class_name, default_feature_layer, feature_file, held_out_split,
                                     knn_accuracy, neighbours, tiles_of)
from visualize.feature_space import pixels as pixel_space
from visualize.input_kinds import Dataset
from visualize.method import Example, Method, Output, register
from visualize.params import BATCH_SIZE, Choice, Int, Layer

@register
class NearestNeighbors(Method):
    name = "nearest-neighbors"
    title = "Nearest neighbours: features vs pixels"
    reference = ("A. Krizhevsky, I. Sutskever, G. E. Hinton. ImageNet Classification with Deep Convolutional "
                 "Neural Networks. NIPS 2012")
    url = "https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks"
    summary = ("the k nearest dataset images of held-out queries in a layer's feature space beside the k nearest "
               "in pixel space, with the k-NN accuracy of each space")
    example = "minigrad nearest-neighbors --model mnist_cnn --data mnist --k 8"
    inputs = Dataset()
    params = (Layer("layer", None, "feature layer; default: the last hidden layer (fc7 / relu_fc1)"),
              Int("k", 8, "neighbours shown and voting in the k-NN accuracy", lo=1, hi=100),
              Int("queries", 4, "held-out query images shown", lo=1, hi=32),
              Choice("metric", "l2", "distance", ("l2", "cosine")),
              FEATURES, LIMIT, BATCH_SIZE)
    smoke = {"limit": 120}
    presets = {"alexnet": {"layer": "relu7"}, "vgg16": {"layer": "relu7"}, "mnist_cnn": {"layer": "relu_fc1"}}

    def resolve(self, params):
        return {**params, "layer": params["layer"] or default_feature_layer(self.model)}

    def compute(self, data, rng, layer=None, k=8, queries=4, metric="l2", features=None, limit=None,
                batch_size=64):
        with feature_file(self.model, data.source, [layer], "avg", features, batch_size, limit) as f:
            feats, pix, labels = f.features(layer), pixel_space(f), f.labels
            index, held = held_out_split(f, rng)
            shown = np.sort(rng.choice(held, size=min(queries, len(held)), replace=False))
            report = {"layer": layer, "metric": metric, "k": k, "index_images": len(index),
                      "held_out_images": len(held), "queries": [f.paths[i] for i in shown]}
            rows, found = [], {}
            for space, x in (("features", feats), ("pixels", pix)):
                dist, near = neighbours(x[index], x[shown], k, metric)
                found[space] = (dist, index[near])
                report[f"neighbours_{space}"] = [[f.paths[j] for j in r] for r in index[near]]
            labelled = bool((labels[index] >= 0).all() and (labels[held] >= 0).all())
            if labelled:
                for space, x in (("features", feats), ("pixels", pix)):
                    report[f"knn_accuracy_{space}"] = knn_accuracy(x[index], labels[index], x[held], labels[held],
                                                                   k, metric)
            for q, query in enumerate(shown):
                lines = []
                for space, title in (("features", f"{layer} features"), ("pixels", "pixels")):
                    dist, near = found[space][0][q], found[space][1][q]
                    names = [f"{class_name(f, labels[j])} {d:.2g}" if labelled else f"{d:.2g}"
                             for j, d in zip(near, dist)]
                    grid = imaging.tile_grid(tiles_of(f.thumbnails(near)), columns=len(near), labels=names,
                                             marked=[labels[j] != labels[query] for j in near] if labelled else None)
                    lines.append(imaging.label_above(grid, title))
                query_tile = imaging.label_above(tiles_of(f.thumbnails([query]))[0],
                                                 f"query: {class_name(f, labels[query])}" if labelled else "query")
                rows.append(imaging.hstack([query_tile, imaging.vstack(lines)]))
        caption = f"{k} nearest of {len(index)} by {metric} distance (red frame: another class)"
        if labelled:
            caption += (f"; held-out {k}-NN accuracy: features {report['knn_accuracy_features']:.3f}, "
                        f"pixels {report['knn_accuracy_pixels']:.3f}")
        return Output(arrays={"query_rows": shown, "feature_neighbours": found["features"][1],
                              "pixel_neighbours": found["pixels"][1]},
                      picture=imaging.vstack(rows, gap=12), caption=caption, report=report)

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", m, "--data", demo.dataset(m), "--features", demo.features(m)),
                        f"{m}: held-out queries, neighbours in feature and pixel space") for m in demo.models]
