"""AlexNet as torchvision defines it: Krizhevsky's "One weird trick for parallelizing
convolutional neural networks" (arXiv:1404.5997) variant, with 64/192/384/256/256 filters,
no LRN and no groups (weights-formats.md section 1.1). Module indices are torchvision's, so
``features.0.weight`` is conv1 in both; the readable names are conv1..conv5, relu1..relu5,
pool1, pool2, pool5, fc6, relu6, fc7, relu7, fc8."""
from __future__ import annotations

from minigrad import nn
from models.imagenet import classifier_network
from models.network import TORCHVISION
from models.registry import ArchitectureSpec, register


def build(rng) -> "Network":
    features = nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(3, 2))
    classifier = nn.Sequential(
        nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096, rng=rng), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096, rng=rng), nn.ReLU(),
        nn.Linear(4096, 1000, rng=rng))
    feature_names = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3",
                     "conv4", "relu4", "conv5", "relu5", "pool5"]
    aliases = {name: f"features.{i}" for i, name in enumerate(feature_names)}
    aliases.update({"fc6": "classifier.1", "relu6": "classifier.2", "fc7": "classifier.4",
                    "relu7": "classifier.5", "fc8": "classifier.6"})
    return classifier_network("alexnet", features, 6, classifier, aliases, TORCHVISION)


register(ArchitectureSpec("alexnet", build, "AlexNet, torchvision variant (64 conv1 filters, 224 input)"))
