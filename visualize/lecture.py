"""The lecture's order, in one place: the gallery, ``minigrad --help`` and the README follow it.

CS231n lecture 12, "Visualizing and Understanding", walks from what the weights and units of
a trained network look like, through the dataset seen in its feature space and the pixels
that matter for one decision, to images made by gradient ascent and, last, texture synthesis
and style transfer. Each family lists its methods (registry names) in that order; Grad-CAM,
SmoothGrad and integrated gradients, which later versions of the lecture add, follow the
attribution methods they build on.
"""
from __future__ import annotations

__all__ = ["FAMILIES", "ORDER", "family_of", "position"]

FAMILIES = (
    ("weights and units", ("filters", "activations", "max-patches")),
    ("the dataset in feature space", ("nearest-neighbors", "embedding")),
    ("which pixels matter", ("occlusion", "saliency", "grabcut", "guided-backprop", "grad-cam", "smoothgrad",
                             "integrated-gradients")),
    ("images from gradients", ("class-visualization", "multifaceted", "dgn-am", "fooling", "adversarial",
                               "deepdream", "feature-inversion")),
    ("texture and style", ("efros-leung", "gram-texture", "style-transfer", "fast-style")),
)

ORDER = tuple(name for _, names in FAMILIES for name in names)


def family_of(name: str) -> str:
    """The family a method name belongs to ("other" for a method the lecture does not list)."""
    return next((family for family, names in FAMILIES if name in names), "other")


def position(name: str) -> int:
    """The method's place in the lecture; methods it does not list come after, by name."""
    return ORDER.index(name) if name in ORDER else len(ORDER)
