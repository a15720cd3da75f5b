"""Fixtures of the visualization tests: small networks, MNIST digits, a weights file."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import models
from models.mnist import load_mnist_test, split


def _shrunk(net, size):
    """``net`` applied at ``size`` x ``size`` input (its adaptive pool accepts any size):
    the random ImageNet nets are tested at small sizes to keep the suite fast."""
    net.preprocessing = dataclasses.replace(net.preprocessing, input_size=(size, size), resize_shorter_side=size)
    return net


@pytest.fixture(scope="session")
def mnist_net():
    return models.build("mnist_cnn", seed=0)


@pytest.fixture(scope="session")
def trained_mnist():
    """The shipped, trained mnist_cnn (the meaningful tests need real weights)."""
    path = models.weights_path("mnist_cnn")
    if not path.exists():
        pytest.skip(f"{path} is not there yet (make train-mnist)")
    return models.load("mnist_cnn")


@pytest.fixture(scope="session")
def alexnet_small():
    return _shrunk(models.build("alexnet", seed=0), 64)


@pytest.fixture(scope="session")
def vgg_small():
    return _shrunk(models.build("vgg16", seed=0), 32)


@pytest.fixture(scope="session")
def held_out_digits():
    """The held-out MNIST digits (never trained on) as float images in [0, 1], and labels."""
    _, (images, labels) = split(*load_mnist_test())
    return images.astype(np.float32) / 255, labels.astype(int)


@pytest.fixture(scope="session")
def mnist_weights_file(tmp_path_factory, mnist_net):
    """A weights file of the random mnist_cnn, so CLI tests do not depend on the shipped one."""
    path = tmp_path_factory.mktemp("weights") / "mnist_random.h5"
    models.save(mnist_net, path)
    return path


@pytest.fixture(scope="session")
def trained_or_random_mnist(mnist_net):
    """The shipped mnist_cnn when its weights are there, else the random one (for tests that
    compare two implementations and do not need meaningful weights)."""
    path = models.weights_path("mnist_cnn")
    return models.load("mnist_cnn") if path.exists() else mnist_net


@pytest.fixture(scope="session")
def sample_input(held_out_digits):
    """``sample_input(method, net)``: an input of the kind ``method.inputs`` declares, for ``net``
    (a digit for a one-channel net, a small random photo for a colour one): the tests over all
    registered methods feed every method this way."""
    from visualize.input_kinds import ContentStyle, ContentStyleData, Dataset, Image, NoInput

    rng = np.random.default_rng(1)
    photo = rng.random((40, 50, 3)).astype(np.float32)
    painting = rng.random((48, 40, 3)).astype(np.float32)

    def make(method, net):
        gray = net.preprocessing.channel_order == "L"
        image = held_out_digits[0][0] if gray else photo
        kind = method.inputs
        if isinstance(kind, Image):
            return image
        if isinstance(kind, ContentStyle):
            style = np.repeat(held_out_digits[0][1][:, :, None], 3, axis=2) if gray else painting
            return ContentStyleData(image if kind.content else None, [style], (1.0,))
        if isinstance(kind, Dataset):
            return "mnist"
        if isinstance(kind, NoInput):
            return None
        raise AssertionError(f"no sample input for {type(kind).__name__}")

    return make


@pytest.fixture(scope="session")
def demo_gallery(tmp_path_factory, mnist_weights_file):
    """``minigrad demo`` once per session on the random mnist_cnn: the gallery's folder (the
    gallery tests and the browser test share it)."""
    from visualize import cli
    out = tmp_path_factory.mktemp("demo")
    assert cli.main(["demo", "--out", str(out), "--models", str(mnist_weights_file)]) == 0
    return out
