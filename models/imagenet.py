"""What the ImageNet classifiers share: the 1000 class names and the network assembly.

The class names and WordNet ids ship in ``models/data/imagenet/`` (see SOURCES.md there;
WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.). Index i is
logit i in the standard ILSVRC-2012 order that torchvision, Keras and Caffe share.
"""
from __future__ import annotations

import functools
import json
from collections import OrderedDict
from pathlib import Path

from minigrad import nn
from models.network import Network

DATA = Path(__file__).resolve().parent / "data" / "imagenet"


@functools.lru_cache(maxsize=None)
def class_names() -> tuple:
    """The 1000 human-readable names ("tench", "goldfish", ...), in logit order."""
    return tuple((DATA / "imagenet_classes.txt").read_text(encoding="utf-8").splitlines())


@functools.lru_cache(maxsize=None)
def class_wnids() -> tuple:
    """The 1000 WordNet ids ("n01440764", ...), in logit order."""
    index = json.loads((DATA / "imagenet_class_index.json").read_text(encoding="utf-8"))
    return tuple(index[str(i)][0] for i in range(len(index)))


def fc_head(in_features: int, rng, num_classes: int = 1000):
    """fc6 - relu6 - drop6 - fc7 - relu7 - drop7 - fc8 (VGG's and Caffe AlexNet's classifier,
    torchvision indices 0..6) and its aliases."""
    head = nn.Sequential(nn.Linear(in_features, 4096, rng=rng), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(4096, 4096, rng=rng), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(4096, num_classes, rng=rng))
    names = ["fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]
    return head, {name: f"classifier.{i}" for i, name in enumerate(names)}


def classifier_network(architecture, features, pool_size, classifier, aliases, preprocessing) -> Network:
    """features -> AdaptiveAvgPool2d(pool_size) -> flatten -> classifier, in evaluation mode,
    with the ImageNet class names. The adaptive pool is the identity at the native input size
    and lets the network run on other sizes (weights-formats.md section 1.3)."""
    stages = OrderedDict(features=features, avgpool=nn.AdaptiveAvgPool2d(pool_size),
                         flatten=nn.Flatten(), classifier=classifier)
    net = Network(stages, aliases=aliases, architecture=architecture, class_names=class_names(),
                  preprocessing=preprocessing)
    return net.eval()
