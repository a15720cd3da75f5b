"""DGN-AM on mnist_cnn through the shipped generator: the class images are classified as their
class and are closer to real digits than plain class visualization's; the code stays in its
bound; bad generators are refused with a clear message."""
from __future__ import annotations

import numpy as np
import pytest

import models
from models.generator import Generator
from models.mnist import load_mnist_test
from visualize.methods.dgn_am import DgnAm, to_classifier_image
from visualize.methods.class_visualization import ClassVisualization

pytestmark = pytest.mark.skipif(not models.weights_path("mnist_generator").exists()
                                or not models.weights_path("mnist_cnn").exists(),
                                reason="needs the shipped mnist_cnn and mnist_generator weights")


@pytest.fixture(scope="module")
def cnn():
    return models.load("mnist_cnn")


def nearest_real_distance(images: np.ndarray, real: np.ndarray) -> np.ndarray:
    """For each image (N, 28, 28) in [0, 1], the RMS pixel difference to the nearest real digit."""
    a, b = images.reshape(len(images), -1).astype(np.float64), real.reshape(len(real), -1).astype(np.float64)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T
    return np.sqrt(np.maximum(d2.min(axis=1), 0) / a.shape[1])


def test_one_class_rises_and_the_code_stays_in_its_bound(cnn):
    result = DgnAm(cnn)(target=3, steps=25, seed=0)
    report, arrays = result.metadata["report"], result.arrays
    g = Generator.load("mnist_generator")
    assert arrays["images"].shape == (1, 1, 28, 28) and arrays["codes"].shape == (1, 256)
    assert (arrays["codes"] >= g.code_min - 1e-4).all() and (arrays["codes"] <= g.code_max + 1e-4).all()
    assert report["classes"][0]["probability"] > 0.99 and report["classes"][0]["predicted"] == "3"
    history = arrays["history"]
    assert history[-1] > history[0]
    assert report["generator"].endswith("mnist_generator.h5")


def test_a_unit_of_a_hidden_layer_rises_from_a_random_code(cnn):
    result = DgnAm(cnn)(layer="relu2_2", unit=(3,), init="random", steps=15, seed=1)
    history = result.arrays["history"]
    assert history[-1] > 2 * history[0] > 0                           # measured 0.13 -> 0.49 in 20 steps (mean code)
    assert "relu2_2 unit 3" in result.metadata["caption"] and "classes" not in result.metadata["report"]


def test_bad_generators_are_refused(cnn, tmp_path):
    with pytest.raises(ValueError, match="classifier's weights file \\(mnist_cnn\\), not a generator"):
        DgnAm(cnn)(generator=str(models.weights_path("mnist_cnn")), steps=1)
    with pytest.raises(ValueError, match="--generator: no weights for 'caffe_fc6_generator'.*convert-generator.*"
                                         "--generator mnist_generator"):
        DgnAm(models.build("alexnet", seed=0))(steps=1)
    with pytest.raises(ValueError, match="neither a registered model nor an existing file"):
        DgnAm(cnn)(generator=str(tmp_path / "missing.h5"), steps=1)


def test_generator_output_is_adapted_to_a_colour_net():
    from minigrad.tensor import Tensor
    import dataclasses
    net = models.build("alexnet", seed=0)
    net.preprocessing = dataclasses.replace(net.preprocessing, input_size=(40, 40), resize_shorter_side=40)
    gray = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    out = to_classifier_image(net, Tensor(gray)).numpy()
    assert out.shape == (2, 3, 40, 40)
    assert np.array_equal(out[:, 0], out[:, 1]) and np.array_equal(out[:, 1], out[:, 2])


@pytest.mark.slow
def test_every_class_is_confident_and_more_natural_than_class_visualization(cnn):
    """The issue's numbers: p >= 0.99 for every class, and a lower mean RMS distance to the nearest
    of the 10,000 shipped digits than plain class visualization (measured 0.273 vs 0.388, seed 0)."""
    result = DgnAm(cnn)(seed=0)
    probabilities = [c["probability"] for c in result.metadata["report"]["classes"]]
    assert min(probabilities) >= 0.99
    assert [c["predicted"] for c in result.metadata["report"]["classes"]] == [str(d) for d in range(10)]
    real = load_mnist_test()[0].astype(np.float32) / 255
    dgn = nearest_real_distance(result.arrays["images"][:, 0], real)
    plain_run = ClassVisualization(cnn)(seed=0)                  # its mnist_cnn preset, every class
    plain = nearest_real_distance(plain_run.arrays["images"][:, 0], real)
    assert dgn.mean() < plain.mean()
