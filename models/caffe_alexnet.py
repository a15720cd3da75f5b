"""BVLC AlexNet as trained in Caffe (Krizhevsky, Sutskever & Hinton 2012, the two-GPU
network; weights-formats.md sections 4.3 and 4.6): 96/256/384/384/256 filters, conv2, conv4
and conv5 in two groups, local response normalization after relu1 and relu2, ceil-mode
3x3/2 max pooling, 227x227 BGR 0-255 input with the ImageNet mean pixel subtracted.

Keys follow docs/weights-format.md section 1 (torchvision-style numbering with LRN and pool slots counted):
features.0 conv1, .2 norm1, .3 pool1, .4 conv2, .6 norm2, .7 pool2, .8 conv3, .10 conv4,
.12 conv5, .14 pool5; classifier.0 fc6, .3 fc7, .6 fc8 (dropout after relu, as Caffe)."""
from __future__ import annotations

from minigrad import nn
from models.imagenet import classifier_network, fc_head
from models.network import Preprocessing
from models.registry import ArchitectureSpec, register

# BGR mean pixel of imagenet_mean.binaryproto (section 4.5)
CAFFE_ALEXNET = Preprocessing("BGR", (0.0, 255.0), (104.00698793, 116.66876762, 122.67891434),
                              (1.0, 1.0, 1.0), (227, 227), 256)


def build(rng):
    def lrn():
        return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)

    def pool():
        return nn.MaxPool2d(3, 2, ceil_mode=True)

    features = nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4, rng=rng), nn.ReLU(), lrn(), pool(),
        nn.Conv2d(96, 256, 5, padding=2, groups=2, rng=rng), nn.ReLU(), lrn(), pool(),
        nn.Conv2d(256, 384, 3, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2, rng=rng), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2, rng=rng), nn.ReLU(), pool())
    feature_names = ["conv1", "relu1", "norm1", "pool1", "conv2", "relu2", "norm2", "pool2",
                     "conv3", "relu3", "conv4", "relu4", "conv5", "relu5", "pool5"]
    aliases = {name: f"features.{i}" for i, name in enumerate(feature_names)}
    classifier, head_aliases = fc_head(256 * 6 * 6, rng)
    return classifier_network("caffe_alexnet", features, 6, classifier, {**aliases, **head_aliases},
                              CAFFE_ALEXNET)


register(ArchitectureSpec("caffe_alexnet", build,
                          "BVLC AlexNet from Caffe (96 conv1 filters, groups, LRN, 227 input)"))
