"""Multifaceted feature visualization on mnist_cnn: the facets are k-means clusters of the
class's images, each synthesis starts from its cluster's mean image and ends classified as
the class, the facets differ, and the centre-biased projection frees the image from the centre out."""
from __future__ import annotations

import numpy as np
import pytest

import models
from models.mnist import load_mnist_test
from visualize.methods.multifaceted import CentreBias, Multifaceted

needs_cnn = pytest.mark.skipif(not models.weights_path("mnist_cnn").exists(), reason="needs the shipped mnist_cnn")


def test_centre_bias_frees_the_image_from_the_centre_out():
    start = np.zeros((1, 1, 20, 20), np.float32)
    bias = CentreBias(start, steps=10, r0=0.3)
    pixels = np.ones_like(start)
    bias(pixels, None, 0)
    assert pixels[0, 0, 10, 10] == 1 and pixels[0, 0, 0, 0] == 0          # corner reset to the start
    inside = [(bias.mask(t) > 0.5).sum() for t in range(10)]
    assert inside == sorted(inside) and inside[0] < 0.35 * 400 and inside[-1] == 400
    pixels = np.ones_like(start)
    bias(pixels, None, 9)
    assert (pixels == 1).all()                                             # the whole image by the last step


@needs_cnn
def test_facets_are_clusters_of_the_class_and_start_from_their_means():
    cnn = models.load("mnist_cnn")
    result = Multifaceted(cnn)("mnist", target=1, k=2, steps=10, limit=300, neighbours=3, seed=0)
    report, arrays = result.metadata["report"], result.arrays
    images, labels = load_mnist_test()
    ones = np.flatnonzero(labels[:300] == 1)
    assert report["images"] == len(ones) and sum(report["facet_sizes"]) == len(ones)
    assert report["facet_sizes"] == sorted(report["facet_sizes"], reverse=True)
    closest = [[int(p.split(":")[1]) for p in row] for row in report["closest"]]
    assert all(labels[i] == 1 for row in closest for i in row)
    # Each start is the mean of a cluster: the mean of all ones is their size-weighted average.
    starts = arrays["starts"][:, 0]
    mean_one = images[ones].astype(np.float64).mean(0) / 255
    weighted = np.tensordot(np.array(report["facet_sizes"], np.float64) / len(ones), starts, axes=1)
    assert np.abs(weighted - mean_one).max() < 1e-4
    assert np.abs(starts[0] - starts[1]).mean() > 0.03                    # two different kinds of 1
    assert (arrays["probabilities"] > 0.9).all()


@needs_cnn
@pytest.mark.slow
def test_facets_of_a_seven_differ_and_are_sevens():
    cnn = models.load("mnist_cnn")
    result = Multifaceted(cnn)("mnist", target=7, k=3, limit=2000, seed=0)
    p, images = result.arrays["probabilities"], result.arrays["images"][:, 0]
    assert (p >= 0.99).all()
    pairwise = [np.abs(images[i] - images[j]).mean() for i in range(3) for j in range(i + 1, 3)]
    assert min(pairwise) > 0.03           # measured 0.046, 0.077, 0.106 (seed 0)
