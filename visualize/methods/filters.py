"""Filters: the weights of a convolution layer as pictures.

First layer (Krizhevsky et al. 2012, Fig. 3; Zeiler & Fergus 2014, Fig. 2): filter k of a
layer whose input is the image has weights W_k of shape (C, kh, kw) with C = 3 colour
channels (1 for gray nets), so it is itself a small image. Each is shown min-max normalized
on its own,

    tile_k = (W_k - min W_k) / (max W_k - min W_k),

in RGB order whatever order the weights expect (a BGR net's filters are flipped back), in a
square grid: oriented edges, colour blobs and gratings on a trained AlexNet. Each tile keeps
its zero point: ``tile_k = 0.5 + W_k / (2 max |W_k|)``, so mid-gray is a zero weight and a
tile's colours show the sign of its weights (plain min-max scaling would move zero from tile
to tile).

Deeper layers: a filter of conv2 has 64 or 192 input channels, not colours; each input
channel's kh x kw slice is shown as its own tile (one row per chosen filter, one column per
input channel), each on the blue-white-red scale with zero white, scaled by its own largest
magnitude. They are not interpretable, which is
the point: only the first layer looks at pixels.

A. Krizhevsky, I. Sutskever, G. E. Hinton. "ImageNet Classification with Deep Convolutional
Neural Networks." NeurIPS 2012. M. D. Zeiler, R. Fergus. "Visualizing and Understanding
Convolutional Networks." ECCV 2014. arXiv:1311.2901.
"""
from __future__ import annotations

import numpy as np

from visualize import imaging
from visualize.inputs import default_layer, layer_label, layers_of_type
from visualize.input_kinds import NoInput
from visualize.method import Example, Method, Output, register
from visualize.params import LAYER, Int, IntList


@register
class Filters(Method):
    name = "filters"
    title = "Filters"
    reference = ("A. Krizhevsky, I. Sutskever, G. E. Hinton. ImageNet Classification with Deep "
                 "Convolutional Neural Networks. NeurIPS 2012; M. D. Zeiler, R. Fergus. Visualizing and "
                 "Understanding Convolutional Networks. ECCV 2014")
    url = "https://arxiv.org/abs/1311.2901"
    summary = ("First-layer filters as RGB (or gray) tiles, each scaled by its own max |w| (gray = 0); a deeper layer's "
               "filters as one grayscale tile per input channel.")
    example = "minigrad filters --model alexnet --layer conv2 --filters 0-7"
    inputs = NoInput()
    params = (
        LAYER.with_help("convolution layer; default: the first one"),
        IntList("filters", None, "filters (output channels) to show, e.g. 0-7 or 3,9; default: all of the first "
                                 "layer, the first 8 of a deeper one", lo=0),
        Int("channels", 32, "deeper layers: show at most this many input channels per filter", lo=1, hi=4096),
        Int("tile", 36, "enlarge each tile to at least this many pixels", lo=1, hi=512),
    )

    def resolve(self, params):
        if params["layer"] is None:
            params = {**params, "layer": default_layer(self.model, "Conv2d", "first")}
        return params

    def compute(self, image, rng, layer, filters=None, channels=32, tile=36):
        path = self.model.resolve(layer)
        module = self.model.get_submodule(path)
        weight = getattr(module, "weight", None)
        if type(module).__name__ != "Conv2d" or weight is None:
            convs = ", ".join(layer_label(self.model, p) for p in layers_of_type(self.model, "Conv2d"))
            raise ValueError(f"filters: layer {layer!r} is a {type(module).__name__}, not a convolution; "
                             f"choose one of {convs}")
        w = weight.numpy()
        first = path == layers_of_type(self.model, "Conv2d")[0] and w.shape[1] == self.model.preprocessing.channels
        chosen = tuple(range(w.shape[0] if first else min(8, w.shape[0]))) if filters is None else filters
        bad = [f for f in chosen if not 0 <= f < w.shape[0]]
        if bad:
            raise ValueError(f"filters: filter(s) {bad} out of range; {layer} has {w.shape[0]} filters (0 to {w.shape[0] - 1})")
        w = w[list(chosen)]
        if first:
            tiles = w.transpose(0, 2, 3, 1)                      # (N, kh, kw, C) in the net's order
            if self.model.preprocessing.channel_order == "BGR":
                tiles = tiles[..., ::-1]
            tiles, _ = imaging.signed_unit(tiles, axis=(1, 2, 3))
            if tiles.shape[-1] == 1:                             # a gray net: one signed map per filter
                tiles = imaging.colormap(tiles[..., 0], "diverging")
            grid = imaging.tile_grid(np.stack([imaging.upscale(t, tile) for t in tiles]), gap=4)
            if w.shape[1] == 1:
                grid = imaging.hstack([grid, imaging.colorbar(-1, 1, "diverging", label="w / max|w|")], gap=6)
            caption = (f"{layer}: {len(chosen)} filters of {w.shape[1]}x{w.shape[2]}x{w.shape[3]}, "
                       f"each scaled by its own max |w|; {'white' if w.shape[1] == 1 else 'mid-gray'} = 0")
        else:
            shown = min(channels, w.shape[1])
            scaled, _ = imaging.signed_unit(w[:, :shown], axis=(2, 3))
            tiles = imaging.colormap(scaled.reshape(-1, w.shape[2], w.shape[3]), "diverging")
            labels = [f"f{f}" if c == 0 else "" for f in chosen for c in range(shown)]
            grid = imaging.tile_grid(np.stack([imaging.upscale(t, tile) for t in tiles]), gap=4,
                                     columns=shown, labels=labels if tile >= 20 else None)
            grid = imaging.hstack([grid, imaging.colorbar(-1, 1, "diverging", label="w / max|w|")], gap=6)
            caption = (f"{layer}: rows = filters {_short(chosen)}, columns = input channels 0-{shown - 1} "
                       f"of {w.shape[1]}; each {w.shape[2]}x{w.shape[3]} tile scaled by its own max |w|, white = 0")
        return Output(arrays={"weights": w}, picture=grid, caption=caption,
                      report={"layer": layer, "first_layer": bool(first), "filters": list(chosen),
                              "weight_shape": list(weight.shape)})

    @classmethod
    def examples(cls, demo):
        out = []
        for m in demo.models:
            out.append(Example(("--model", m), f"{m}: first-layer filters"))
            convs = demo.conv_layers(m)
            if len(convs) > 1:
                out.append(Example(("--model", m, "--layer", convs[1], "--filters", "0-7", "--channels", "16"),
                                   f"{m}: {convs[1]}, one gray tile per input channel"))
        return out


def _short(values) -> str:
    values = list(values)
    if values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
        return f"{values[0]}-{values[-1]}"
    return ",".join(map(str, values))
