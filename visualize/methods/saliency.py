"""Saliency maps (Simonyan, Vedaldi & Zisserman 2014).

For an image I and the unnormalized score S_c(I) of class c, the network is locally linear,
S_c(I) ~ w^T I + b with w = dS_c/dI at I. The saliency of pixel (i, j) is the largest
magnitude of that derivative over the colour channels:

    M_ij = max_k | dS_c / dI_ijk |

one backward pass, from the class score to the pixels (taken as RGB in [0, 1], through the
model's preprocessing). Bright pixels are those whose change would change the score most.

K. Simonyan, A. Vedaldi, A. Zisserman. "Deep Inside Convolutional Networks: Visualising
Image Classification Models and Saliency Maps." ICLR Workshop 2014. arXiv:1312.6034.
"""
from __future__ import annotations

import numpy as np

from visualize import faithfulness, imaging
from visualize.faithfulness import AUC_STEPS
from visualize.gradients import backprop_class
from visualize.inputs import prepare
from visualize.method import Method, Output, register
from visualize.params import TARGET


@register
class Saliency(Method):
    name = "saliency"
    title = "Saliency map"
    reference = ("K. Simonyan, A. Vedaldi, A. Zisserman. Deep Inside Convolutional Networks: Visualising "
                 "Image Classification Models and Saliency Maps. ICLR Workshop 2014")
    url = "https://arxiv.org/abs/1312.6034"
    summary = "|d score / d pixel|, the maximum over colour channels, for the predicted or a given class."
    example = "minigrad saliency --model alexnet --image photo.jpg --class 'tabby'"
    params = (TARGET.with_help("class to explain (index or name); default: the predicted class"), AUC_STEPS)
    smoke = {"auc_steps": 4}

    def compute(self, image, rng, target=None, auc_steps=32):
        x, shown = prepare(self.model, image)
        back = backprop_class(self.model, x, target)
        saliency = np.abs(back.gradient).max(axis=2)
        peak = float(saliency.max())
        heat = saliency / peak if peak > 0 else saliency
        t = back.target
        auc = faithfulness.score(self.model, x, saliency, t["index"], rng, auc_steps)
        caption = (f"class {t['name']!r} (p={t['probability']:.3f}); "
                   f"predicted {t['predicted_name']!r} (p={t['predicted_probability']:.3f})"
                   + ("; " + faithfulness.caption(auc) if auc else ""))
        gray = self.model.preprocessing.channel_order == "L"
        picture = imaging.hstack([imaging.panel(shown, "input"),
                                  imaging.heatmap(saliency, "|dS/dI|" if gray else "|dS/dI|, max over RGB", lo=0),
                                  imaging.panel(imaging.overlay(shown, heat), "over the input")])
        return Output(arrays={"saliency": saliency, "gradient": back.gradient, "image": shown},
                      picture=picture, caption=caption, report={"target": t, "faithfulness": auc})
