"""The embedded digit classifier: shipped weights, their accuracy, and reproducible training."""
from pathlib import Path

import h5py
import numpy as np
import pytest

import models
from models import mnist, mnist_cnn, training
from models.hdf5_weights import validate

WEIGHTS = Path(models.__file__).resolve().parent.parent / "weights" / "mnist_cnn.h5"


@pytest.fixture(scope="module")
def held_out():
    return mnist.split(*mnist.load_mnist_test())[1]


def test_shipped_weights_classify_held_out_digits(held_out):
    validate(WEIGHTS, "mnist_cnn")
    net = models.load("mnist_cnn")
    assert net.architecture == "mnist_cnn" and net.class_names == [str(d) for d in range(10)]
    assert WEIGHTS.stat().st_size < 4_000_000
    images, labels = held_out
    accuracy = training.evaluate(net, images, labels)
    assert accuracy >= 0.985, f"held-out accuracy {accuracy:.4f} < 0.985"
    with h5py.File(WEIGHTS, "r") as f:
        attrs = dict(f.attrs)
    assert attrs["training_command"].startswith("minigrad train mnist")
    assert attrs["held_out_note"] == training.HELD_OUT_NOTE
    assert attrs["training_duration_s"] > 0
    assert abs(attrs["held_out_accuracy"] - accuracy) < 1e-9  # the file reports what it achieves


def test_layer_names_follow_vgg_convention():
    net = mnist_cnn.build(np.random.default_rng(0))
    names = net.layer_names()
    for name in ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1", "relu2_2", "pool2",
                 "fc1", "relu_fc1", "dropout", "fc2"]:
        assert name in names
    x = net.preprocess(np.zeros((2, 28, 28), np.float32))
    assert x.shape == (2, 1, 28, 28)
    assert net.forward_to(x, "pool2").shape == (2, 32, 7, 7)
    assert net(x).shape == (2, 10)


def test_training_is_reproducible_from_the_seed():
    def run(seed, steps):
        return training.train_mnist(seed, epochs=1, batch_size=32, max_steps=steps, progress=False,
                                    evaluate_held_out=False)
    first, second, other = run(3, 12), run(3, 12), run(4, 2)
    assert len(first.losses) == 12
    assert first.losses == second.losses
    for (k, a), b in zip(first.net.state_dict().items(), second.net.state_dict().values()):
        assert a.tobytes() == b.tobytes(), k
    assert other.losses != first.losses[:2]
    assert np.mean(first.losses[-3:]) < np.mean(first.losses[:3])  # it learns


def test_shift_images():
    imgs = np.zeros((50, 6, 6), np.uint8)
    imgs[:, 2:4, 2:4] = 9
    shifted = training.shift_images(imgs, 2, np.random.default_rng(0))
    assert shifted.shape == imgs.shape and shifted.dtype == np.uint8
    assert (shifted.sum(axis=(1, 2)) == 36).all()       # a 2x2 blob moved by <= 2 stays inside
    ys, xs = np.nonzero(shifted[:, :, :].max(axis=0))
    assert ys.min() == 0 and ys.max() == 5 and xs.min() == 0 and xs.max() == 5  # every shift occurs
    assert training.shift_images(imgs, 0, np.random.default_rng(0)) is imgs
