"""VGG-16 and VGG-19 (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for
Large-Scale Image Recognition", configurations D and E, no batch norm) with torchvision's
module indices (weights-formats.md section 1.2): 3x3 convolutions with padding 1, each
followed by ReLU, 2x2 max pooling between blocks. Readable names follow the papers:
conv<block>_<i>, relu<block>_<i>, pool<block>, fc6, relu6, drop6, fc7, relu7, drop7, fc8.

``vgg16_features`` is VGG-16's convolutional part alone (``features.0`` ... ``features.30``,
conv1_1 ... relu5_3, pool5; output: pool5, (512, 7, 7) at 224 x 224), the architecture of the
Keras file without the top (weights-formats.md section 3.2). A headless network has no
classes: ``class_names`` is empty and its weights files say ``num_classes = 0`` with an empty
``class_names`` dataset; its preprocessing is still ImageNet's (torchvision's for random
weights, Caffe's BGR mean-pixel convention when converted from Keras). It suits every method
that reads or optimizes feature maps (Gram/style/texture losses, feature inversion, unit
visualization); class-score methods need a network with classes."""
from __future__ import annotations

from collections import OrderedDict

from minigrad import nn
from models.imagenet import classifier_network, fc_head
from models.network import TORCHVISION, Network
from models.registry import ArchitectureSpec, register

# filters per convolution, "M" for a max pool
CONFIGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def vgg_features(config, rng):
    """The convolutional part for ``config`` and its readable aliases."""
    layers, aliases = [], {}
    block, conv, channels = 1, 0, 3
    for v in config:
        if v == "M":
            aliases[f"pool{block}"] = f"features.{len(layers)}"
            layers.append(nn.MaxPool2d(2, 2))
            block, conv = block + 1, 0
        else:
            conv += 1
            aliases[f"conv{block}_{conv}"] = f"features.{len(layers)}"
            aliases[f"relu{block}_{conv}"] = f"features.{len(layers) + 1}"
            layers += [nn.Conv2d(channels, v, 3, padding=1, rng=rng), nn.ReLU()]
            channels = v
    return nn.Sequential(*layers), aliases


def _builder(name):
    def build(rng):
        features, aliases = vgg_features(CONFIGS[name], rng)
        classifier, head_aliases = fc_head(512 * 7 * 7, rng)
        return classifier_network(name, features, 7, classifier, {**aliases, **head_aliases}, TORCHVISION)
    build.__doc__ = f"{name} with random torch-style weights drawn from ``rng``."
    return build


register(ArchitectureSpec("vgg16", _builder("vgg16"), "VGG-16 (configuration D), torchvision layout"))
register(ArchitectureSpec("vgg19", _builder("vgg19"), "VGG-19 (configuration E), torchvision layout"))


def build_vgg16_features(rng):
    """VGG-16's features (configuration D, conv1_1 ... pool5) with random torch-style weights
    drawn from ``rng``; no classes (see the module docstring)."""
    features, aliases = vgg_features(CONFIGS["vgg16"], rng)
    return Network(OrderedDict(features=features), aliases=aliases, architecture="vgg16_features",
                   class_names=[], preprocessing=TORCHVISION).eval()


register(ArchitectureSpec("vgg16_features", build_vgg16_features,
                          "VGG-16 convolutional part only (conv1_1 ... pool5, no classes), e.g. Keras VGG16 without top"))
