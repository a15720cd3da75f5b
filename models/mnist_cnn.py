"""``mnist_cnn``: a small VGG-style network for 28 x 28 handwritten digits, trained by minigrad.

The same design as VGG-16 (3x3 convolutions with padding 1, each followed by ReLU, 2x2 max
pooling between blocks, a fully connected head), scaled down to two blocks::

    conv1_1 3x3 1->16, relu1_1, conv1_2 3x3 16->16, relu1_2, pool1      28x28 -> 14x14
    conv2_1 3x3 16->32, relu2_1, conv2_2 3x3 32->32, relu2_2, pool2     14x14 -> 7x7
    flatten, fc1 1568->256, relu_fc1, dropout (p=0.5), fc2 256->10

It is a :class:`~models.network.Network` chain like the ImageNet models (``features``,
``flatten``, ``classifier``), so every visualization method runs on it unchanged. Input: one
luminance channel in [0, 1], normalized with the MNIST mean 0.1307 and std 0.3081.

The shipped weights ``weights/mnist_cnn.h5`` were trained with ``minigrad train mnist`` (see
:mod:`models.training`) on the first 8,000 images of the MNIST test set; their accuracy is
measured on the last 2,000 (held out), the only MNIST images minigrad ships.
"""
from __future__ import annotations

from collections import OrderedDict

from minigrad import nn
from models.mnist import MEAN, STD
from models.network import Network, Preprocessing
from models.registry import ArchitectureSpec, register

CLASS_NAMES = [str(d) for d in range(10)]
PREPROCESSING = Preprocessing("L", (0.0, 1.0), (MEAN,), (STD,), (28, 28), None)
WIDTHS = (16, 32)     # channels of block 1 and block 2
HIDDEN = 256          # units of fc1

FEATURE_NAMES = ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
                 "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2"]
CLASSIFIER_NAMES = ["fc1", "relu_fc1", "dropout", "fc2"]


def build(rng) -> Network:
    """``mnist_cnn`` with random torch-style weights drawn from ``rng`` (evaluation mode)."""
    c1, c2 = WIDTHS
    features = nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(c1, c1, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(c1, c2, 3, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(c2, c2, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2, 2))
    classifier = nn.Sequential(nn.Linear(c2 * 7 * 7, HIDDEN, rng=rng), nn.ReLU(), nn.Dropout(0.5),
                               nn.Linear(HIDDEN, len(CLASS_NAMES), rng=rng))
    aliases = {name: f"features.{i}" for i, name in enumerate(FEATURE_NAMES)}
    aliases.update({name: f"classifier.{i}" for i, name in enumerate(CLASSIFIER_NAMES)})
    net = Network(OrderedDict(features=features, flatten=nn.Flatten(), classifier=classifier),
                  aliases=aliases, architecture="mnist_cnn", class_names=CLASS_NAMES,
                  preprocessing=PREPROCESSING)
    return net.eval()


register(ArchitectureSpec(
    "mnist_cnn", build,
    "Small VGG-style digit classifier (28x28 gray), trained by minigrad on the first 8,000 MNIST "
    "test images; accuracy on the last 2,000 (held out) in the weights' metadata",
    weights="weights/mnist_cnn.h5"))
