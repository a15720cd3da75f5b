"""Guided backpropagation (Springenberg et al. 2015) and the deconvnet (Zeiler & Fergus 2014).

Both reconstruct the image pattern that drives one output (a class score or one unit of an
intermediate layer) by a backward pass in which every ReLU, with forward input x and
gradient g arriving from above, passes

    backprop:         g * [x > 0]
    deconvnet:        g * [g > 0]               (Zeiler & Fergus: a "deconvnet" reverses the
                                                  ReLU with a ReLU on the signal going down)
    guided backprop:  g * [x > 0] * [g > 0]     (Springenberg et al.: both masks)

Convolutions pass the gradient through their transposed filters and max-pools route it to
the position that won the forward pass (the "switches"), exactly as in ordinary backprop.
Here these are the engine's :func:`minigrad.relu_mode` settings: the same network, not a copy.
The result, with respect to the RGB pixels, is shown as ``0.5 + 0.15 g / std`` (mid-gray =
no effect; the colour bar gives the gradient values of black and white), as in most
re-implementations of the papers' figures; a one-channel net's gradient is one signed map on
the blue-white-red scale. A unit's picture frames the unit's receptive field on the input.

J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. "Striving for Simplicity: The
All Convolutional Net." ICLR Workshop 2015. arXiv:1412.6806.
M. D. Zeiler, R. Fergus. "Visualizing and Understanding Convolutional Networks." ECCV 2014.
arXiv:1311.2901.
"""
from __future__ import annotations

import numpy as np

from models.receptive_field import receptive_fields
from visualize import faithfulness, imaging
from visualize.faithfulness import AUC_STEPS
from visualize.gradients import backprop_class, backprop_unit
from visualize.inputs import prepare
from visualize.method import Example, Method, Output, register
from visualize.params import LAYER, TARGET, UNIT, Choice


@register
class GuidedBackprop(Method):
    name = "guided-backprop"
    title = "Guided backpropagation / deconvnet"
    reference = ("J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. Striving for Simplicity: "
                 "The All Convolutional Net. ICLR Workshop 2015; M. D. Zeiler, R. Fergus. Visualizing "
                 "and Understanding Convolutional Networks. ECCV 2014")
    url = "https://arxiv.org/abs/1412.6806"
    summary = ("Backpropagate a class score or one unit to the pixels, passing only positive gradients "
               "at every ReLU (guided: also only where the input was positive).")
    example = "minigrad guided-backprop --model vgg16 --image photo.jpg --layer conv5_3 --unit 12"
    params = (
        Choice("mode", "guided", "ReLU backward rule: guided (Springenberg) or deconvnet (Zeiler & Fergus)",
               ("guided", "deconvnet")),
        TARGET.with_help("class to reconstruct (index or name) when no --layer is given; default: the predicted "
                         "class"),
        LAYER.with_help("reconstruct a unit of this layer instead of a class score"),
        UNIT.with_help("channel, or channel,y,x, of --layer; default: the most active unit (and the channel's "
                       "most active position)"),
        AUC_STEPS.with_help("points of the deletion and insertion curves of a class's map (|g|, max over "
                            "channels) whose areas the sidecar records; 0 skips them"),
    )
    smoke = {"auc_steps": 4}

    def compute(self, image, rng, mode="guided", target=None, layer=None, unit=None, auc_steps=32):
        if layer is None and unit is not None:
            raise ValueError("guided-backprop: a unit belongs to a layer; give --layer with --unit")
        if layer is not None and target is not None:
            raise ValueError("guided-backprop: reconstruct either a class (--class) or a unit of a layer "
                             "(--layer, --unit), not both")
        x, shown = prepare(self.model, image)
        if layer is None:
            back = backprop_class(self.model, x, target, relu=mode)
            t = back.target
            auc = faithfulness.score(self.model, x, np.abs(back.gradient).max(axis=2), t["index"], rng, auc_steps)
            caption = f"{mode}: class {t['name']!r} (p={t['probability']:.3f})" + (
                "; " + faithfulness.caption(auc) if auc else "")
        else:
            back = backprop_unit(self.model, x, layer, unit, relu=mode)
            t, auc = back.target, None
            where = f" at {tuple(t['position'])}" if t["position"] else ""
            caption = f"{mode}: {t['layer']} channel {t['channel']}{where} (activation {t['activation']:.3g})"
        picture = imaging.hstack([imaging.panel(_frame_receptive_field(self.model, shown, layer, t), "input"),
                                  _gradient_panel(self.model, back.gradient, mode)])
        return Output(arrays={"gradient": back.gradient, "image": shown}, picture=picture,
                      caption=caption, report={"target": t, "faithfulness": auc})

    @classmethod
    def examples(cls, demo):
        out = []
        for m in demo.models:
            images = [p for p, _ in demo.images(m)]
            out.append(Example(("--model", m, "--image", *images), f"{m}: guided backprop of the predicted class"))
            out.append(Example(("--model", m, "--image", *images, "--mode", "deconvnet"),
                               f"{m}: deconvnet of the predicted class"))
            layer = cls.presets.get(m, {}).get("layer") or demo.deep_layer(m)
            out.append(Example(("--model", m, "--image", *images, "--layer", layer),
                               f"{m}: guided backprop of the most active unit of {layer}"))
        return out


def _gradient_panel(model, gradient, mode) -> np.ndarray:
    """The signed gradient: one map on the diverging scale for a gray net, else RGB centred on
    mid-gray (0.5 + 0.15 g / std) with a gray colour bar of the values that black and white
    stand for."""
    if model.preprocessing.channel_order == "L":
        return imaging.heatmap(gradient[..., 0], f"{mode} backprop (white = 0)", signed=True)
    spread = 0.15
    std = float(gradient.std()) or 1.0
    picture = imaging.panel(np.clip(0.5 + spread * gradient / std, 0, 1), f"{mode} backprop (gray = 0)")
    edge = 0.5 / spread * std
    return imaging.hstack([picture, imaging.colorbar(-edge, edge, "gray", height=picture.shape[0] - 18)], gap=4)


def _frame_receptive_field(model, shown, layer, target) -> np.ndarray:
    """``shown`` with the receptive field of the reconstructed unit framed (a class score's
    field is the whole image, so it is left as is)."""
    field = receptive_fields(model, shown.shape[:2]).get(model.resolve(layer)) if layer is not None else None
    if field is None or not target.get("position"):
        return shown
    top, left, bottom, right = field.window(*target["position"], shown.shape[:2])
    framed = imaging.to_rgb(shown).copy()
    color = np.asarray(imaging.MARK_COLOR, dtype=np.float32)
    framed[top:bottom, [left, right - 1]] = color
    framed[[top, bottom - 1], left:right] = color
    return framed
