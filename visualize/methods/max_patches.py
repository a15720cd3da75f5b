"""Maximally activating patches (Zeiler & Fergus 2014; Springenberg et al. 2015).

For a unit, channel c of a convolutional layer, run the whole dataset and keep for each image
n its strongest response m_n = max_{y,x} A_c(n)[y, x] and where it occurs (y_n, x_n) (the
feature file's ``argmax`` reduction). The top-k images by m_n, each cropped to the receptive
field of position (y_n, x_n),

    rows [start + y_n * jump, start + y_n * jump + size),  columns likewise,

(size, jump and start from the chain of convolutions and pools, :mod:`models.receptive_field`;
the part of a field outside the image, its padding, is drawn gray) show what the unit
responds to: Yosinski et al.'s toolbox shows the top 9. With ``--guided`` each patch has
beside it the guided-backpropagation picture of the same unit at the same position
(Springenberg et al.: the ReLUs pass back only positive gradients where the input was
positive), which shows the pixels of the patch that drive the unit.

M. D. Zeiler, R. Fergus. "Visualizing and Understanding Convolutional Networks." ECCV 2014.
J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. "Striving for Simplicity: The All
Convolutional Net." ICLR Workshop 2015.
"""
from __future__ import annotations

import numpy as np

from models.datasets import load_path
from models.receptive_field import receptive_fields
from visualize import imaging
from visualize.feature_space import FEATURES, LIMIT, feature_file
from visualize.gradients import backprop_unit
from visualize.input_kinds import Dataset
from visualize.inputs import default_layer
from visualize.method import Example, Method, Output, register
from visualize.params import BATCH_SIZE, Flag, Int, IntList, Layer

PATCH_SIDE = 72      # patches are drawn at about this size (enlarged or shrunk)


def crop_field(image: np.ndarray, field, row: int, col: int) -> np.ndarray:
    """The receptive field of position (row, col) cut out of ``image`` (H, W, C), at the full
    field size: the part outside the image (the padding the unit saw) is gray (0.5)."""
    h, w = image.shape[:2]
    top, left, bottom, right = field.window(row, col, (h, w))
    out = np.full((*field.size, image.shape[2]), 0.5, dtype=np.float32)
    first_row = field.start[0] + row * field.jump[0]
    first_col = field.start[1] + col * field.jump[1]
    out[top - first_row:bottom - first_row, left - first_col:right - first_col] = image[top:bottom, left:right]
    return out


def _sized(patch: np.ndarray) -> np.ndarray:
    """A patch enlarged by pixel repetition (or shrunk bilinearly) to about PATCH_SIDE pixels."""
    side = max(patch.shape[:2])
    if side < PATCH_SIDE:
        factor = PATCH_SIDE // side
        return np.repeat(np.repeat(patch, factor, axis=0), factor, axis=1)
    scale = PATCH_SIDE / side
    return imaging.resize_to(patch, (round(patch.shape[0] * scale), round(patch.shape[1] * scale)))


@register
class MaxPatches(Method):
    name = "max-patches"
    title = "Maximally activating patches"
    reference = ("M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks. ECCV 2014; "
                 "J. T. Springenberg et al. Striving for Simplicity: The All Convolutional Net. ICLR-W 2015")
    url = "https://arxiv.org/abs/1311.2901"
    summary = ("for units of a conv layer, the top-k dataset patches (each cropped to the unit's receptive field) "
               "by the unit's maximum activation, optionally with their guided-backprop pictures")
    example = "minigrad max-patches --model mnist_cnn --data mnist --layer conv2_2 --units 0-5 --k 9"
    inputs = Dataset()
    params = (Layer("layer", None, "a layer with feature maps; default: the last one (its ReLU)"),
              IntList("units", None, "channels to show; default: the --count channels with the strongest "
                                     "maximum over the dataset", lo=0),
              Int("count", 6, "channels shown when --units is not given", lo=1, hi=64),
              Int("k", 9, "patches per unit", lo=1, hi=64),
              Flag("guided", False, "show each patch's guided-backprop picture beside it"),
              FEATURES, LIMIT, BATCH_SIZE)
    smoke = {"limit": 60, "count": 2, "k": 4, "guided": True}
    presets = {"alexnet": {"layer": "conv5"}, "vgg16": {"layer": "conv5_3"}, "mnist_cnn": {"layer": "conv2_2"}}

    def resolve(self, params):
        layer = params["layer"] or default_layer(self.model, "ReLU", "last_spatial")
        if receptive_fields(self.model).get(self.model.resolve(layer)) is None:
            raise ValueError(f"layer {layer!r} has no feature maps (it comes after the network flattens them); "
                             f"choose a convolution, ReLU or pool before the classifier")
        return {**params, "layer": layer}

    def compute(self, data, rng, layer=None, units=None, count=6, k=9, guided=False, features=None, limit=None,
                batch_size=64):
        field = receptive_fields(self.model)[self.model.resolve(layer)]
        with feature_file(self.model, data.source, [layer], "argmax", features, batch_size, limit) as f:
            values, positions, paths = f.features(layer), f.positions(layer), list(f.paths)
        channels = values.shape[1]
        if units is None:
            units = tuple(int(c) for c in np.argsort(-values.max(axis=0), kind="stable")[:count])
        bad = [u for u in units if u >= channels]
        if bad:
            raise ValueError(f"--units {bad[0]} is out of range: layer {layer!r} has {channels} channels, 0 to "
                             f"{channels - 1}")
        grids, report, top_rows = [], {"layer": layer, "receptive_field": field.describe(), "units": {}}, []
        for unit in units:
            rows = np.argsort(-values[:, unit], kind="stable")[:k]
            tiles, found = [], []
            for n in rows:
                y, x = (int(v) for v in positions[n, unit])
                net_input = self.model.preprocess(load_path(paths[n]))
                seen = self.model.deprocess(net_input)
                tile = _sized(crop_field(seen, field, y, x))
                if guided:
                    grad = backprop_unit(self.model, net_input, layer, (unit, y, x), relu="guided").gradient
                    shown, _ = imaging.signed_unit(crop_field(grad, field, y, x))
                    tile = np.concatenate([tile, np.full((tile.shape[0], 2, 3), 1.0, np.float32),
                                           _sized(shown)], axis=1)
                tiles.append(tile)
                found.append({"image": paths[n], "activation": float(values[n, unit]), "position": [y, x]})
            columns = int(np.ceil(np.sqrt(len(tiles))))
            grid = imaging.tile_grid(np.stack(tiles), columns=columns, labels=[f"{v['activation']:.3g}" for v in found])
            grids.append(imaging.label_above(grid, f"unit {unit}"))
            report["units"][str(unit)] = found
            top_rows.append(rows)
        per_row = 3
        picture = imaging.vstack([imaging.hstack(grids[i:i + per_row], gap=16) for i in range(0, len(grids), per_row)],
                                 gap=12)
        caption = (f"{layer}: top {k} of {len(values)} images per unit, patches = receptive field ({field.describe()})"
                   + ("; beside each: guided backprop" if guided else ""))
        return Output(arrays={"units": np.asarray(units), "top_rows": np.stack(top_rows)}, picture=picture,
                      caption=caption, report=report)

    @classmethod
    def examples(cls, demo):
        out = []
        for m in demo.models:
            convs = demo.conv_layers(m)
            out.append(Example(("--model", m, "--data", demo.dataset(m), "--features", demo.features(m),
                                "--layer", convs[-1], "--count", "6", "--guided"),
                               f"{m}: top-9 patches of the six strongest units of {convs[-1]}, with guided backprop"))
            out.append(Example(("--model", m, "--data", demo.dataset(m), "--features", demo.features(m),
                                "--layer", convs[1], "--count", "6"),
                               f"{m}: the same for {convs[1]}, whose receptive field is smaller"))
        return out
