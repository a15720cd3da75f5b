"""Activation maps: what every channel of one layer responds to in one image.

The output A of a layer for one image is C maps of H x W (AlexNet conv5: 256 x 13 x 13). Each
map is a grayscale tile; by default all tiles share the layer's scale,

    tile_c = (A_c - min A) / (max A - min A)    (normalize="layer": brightness comparable
                                                  across channels; after a ReLU, A_c / max A)

or each is scaled to its own range (normalize="channel", shows weak channels' structure).
Channels that are exactly zero everywhere on *this* image are framed in red: after a ReLU
they are common, and are not the same as dead units (zero on the whole dataset).

This is the view of Yosinski et al.'s Deep Visualization Toolbox and CS231n lecture 12.
J. Yosinski, J. Clune, A. Nguyen, T. Fuchs, H. Lipson. "Understanding Neural Networks Through
Deep Visualization." ICML Deep Learning Workshop 2015. arXiv:1506.06579.
"""
from __future__ import annotations

import numpy as np

from minigrad import no_grad
from visualize import imaging
from visualize.inputs import default_layer, prepare
from visualize.method import Method, Output, register
from visualize.params import LAYER, Choice, Int


@register
class Activations(Method):
    name = "activations"
    title = "Activation maps"
    reference = ("J. Yosinski, J. Clune, A. Nguyen, T. Fuchs, H. Lipson. Understanding Neural Networks "
                 "Through Deep Visualization. ICML Deep Learning Workshop 2015")
    url = "https://arxiv.org/abs/1506.06579"
    summary = "Every channel of a layer for one image as a grid; channels zero everywhere are framed red."
    example = "minigrad activations --model alexnet --image photo.jpg --layer relu5"
    params = (
        LAYER.with_help("layer with feature maps; default: the deepest ReLU before the classifier"),
        Choice("normalize", "layer", "scale tiles by the layer's maximum or each by its own range",
               ("layer", "channel")),
        Int("tile", 32, "enlarge each map to at least this many pixels", lo=1, hi=512),
    )
    presets = {"alexnet": {"layer": "relu5"}, "vgg16": {"layer": "relu5_3", "tile": 28}}

    def resolve(self, params):
        if params["layer"] is None:
            params = {**params, "layer": default_layer(self.model, "ReLU", "last_spatial")}
        return params

    def compute(self, image, rng, layer, normalize="layer", tile=32):
        x, shown = prepare(self.model, image)
        with no_grad():
            act = self.model.forward_to(x, layer)
        a = act.numpy()[0]
        if a.ndim != 3:
            raise ValueError(f"activations: layer {layer!r} has output shape {act.shape}, not feature maps "
                             "(1, C, H, W); choose a convolution, ReLU or pooling layer")
        zero = np.all(a == 0, axis=(1, 2))
        tiles = imaging.normalize(a, axis=(1, 2) if normalize == "channel" else None)
        c = a.shape[0]
        grid = imaging.tile_grid(np.stack([imaging.upscale(t, tile) for t in tiles]), marked=zero,
                                 labels=[str(i) for i in range(c)] if c <= 64 else None)
        caption = (f"{layer}: {c} channels of {a.shape[1]}x{a.shape[2]}; {int(zero.sum())} are zero "
                   f"everywhere on this image (red frame)")
        lo, hi = float(a.min()), float(a.max())
        scale = (imaging.colorbar(lo, hi, "gray", label="value") if normalize == "layer"
                 else imaging.text_block("each tile:\nits own\nmin..max", size=10))
        picture = imaging.hstack([imaging.panel(shown, "input"), imaging.label_above(grid, f"{layer}"), scale],
                                 gap=6)
        return Output(arrays={"activations": a, "zero_channels": zero}, picture=picture, caption=caption,
                      report={"layer": layer, "shape": list(a.shape), "zero_channels": np.flatnonzero(zero),
                              "max": float(a.max())})
