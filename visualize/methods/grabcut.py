"""Segmentation from saliency (Simonyan, Vedaldi & Zisserman 2014, section 6).

A class saliency map (:mod:`visualize.methods.saliency`: M_ij = max_k |dS_c/dI_ijk|) is
computed without any segmentation labels, yet it tends to be large on the object. Simonyan et
al. turn it into an object mask with GrabCut: the most salient pixels (above the 95% quantile)
seed the foreground colour model, the least salient (below the 30% quantile) the background
model, and the graph cut decides the rest (:mod:`visualize.grabcut`: colour Gaussian mixtures,
contrast-sensitive pairwise terms, the minimum cut by maximum flow, iterated). The saliency map
is noisy and spatially scattered; the cut snaps it to the image's colour edges.

K. Simonyan, A. Vedaldi, A. Zisserman. "Deep Inside Convolutional Networks: Visualising Image
Classification Models and Saliency Maps." ICLR Workshop 2014, section 6. arXiv:1312.6034.
C. Rother, V. Kolmogorov, A. Blake. "GrabCut: Interactive Foreground Extraction using Iterated
Graph Cuts." ACM SIGGRAPH 2004.
"""
from __future__ import annotations

import numpy as np

from visualize import faithfulness, imaging
from visualize.faithfulness import AUC_STEPS
from visualize.gradients import backprop_class
from visualize import grabcut as cut
from visualize.inputs import prepare
from visualize.method import Method, Output, register
from visualize.params import TARGET, Float, Int

SEED_COLORS = np.array([[0.15, 0.25, 0.85], [0.95, 0.2, 0.15], [0.6, 0.7, 0.95], [0.98, 0.7, 0.6]], np.float32)


@register
class GrabCutFromSaliency(Method):
    name = "grabcut"
    title = "Segmentation from saliency (GrabCut)"
    reference = ("K. Simonyan, A. Vedaldi, A. Zisserman. Deep Inside Convolutional Networks. ICLR Workshop 2014, "
                 "section 6; C. Rother, V. Kolmogorov, A. Blake. GrabCut. SIGGRAPH 2004")
    url = "https://arxiv.org/abs/1312.6034"
    summary = ("Seed GrabCut with the saliency map (most salient pixels foreground, least salient background) "
               "to segment the object without labels.")
    example = "minigrad grabcut --model vgg16 --image photo.jpg --foreground 0.95 --background 0.3"
    params = (TARGET.with_help("class whose saliency seeds the cut (index or name); default: the predicted class"),
              Float("foreground", 0.95, "saliency quantile above which pixels are sure foreground", lo=0.0, hi=1.0),
              Float("background", 0.3, "saliency quantile below which pixels are sure background", lo=0.0, hi=1.0),
              Int("iterations", 5, "GrabCut iterations (fit the colour models, cut)", lo=1, hi=100),
              AUC_STEPS.with_help("points of the deletion and insertion curves of the mask (foreground first) "
                                  "whose areas the sidecar records; 0 skips them"))
    smoke = {"iterations": 1, "auc_steps": 4}

    def compute(self, image, rng, target=None, foreground=0.95, background=0.3, iterations=5, auc_steps=32):
        model = self.model
        x, shown = prepare(model, image)
        back = backprop_class(model, x, target)
        saliency = np.abs(back.gradient).max(axis=2)
        seeds = cut.seeds_from_map(saliency, foreground, background)
        mask = cut.grabcut(shown, seeds, rng, iterations)
        inside = cut.foreground(mask)
        index = back.target["index"]
        auc = faithfulness.score(model, x, inside.astype(np.float64), index, rng, auc_steps)
        t = back.target
        cutout = np.where(inside[..., None], imaging.to_rgb(shown), 0.5)   # gray outside the mask
        picture = imaging.hstack([
            imaging.panel(shown, "input"), imaging.heatmap(saliency, "saliency", lo=0),
            imaging.panel(0.35 * imaging.to_rgb(shown) + 0.65 * SEED_COLORS[seeds],
                          "seeds: sure / probable fg, bg"),
            imaging.panel(inside.astype(np.float32), "GrabCut mask"), imaging.panel(cutout, "cut-out (gray: outside)")])
        caption = (f"class {t['name']!r} (p={t['probability']:.3f}); seeds: top {1 - foreground:.0%} foreground, "
                   f"bottom {background:.0%} background; {iterations} iterations; foreground {inside.mean():.0%} "
                   "of the image" + ("; mask " + faithfulness.caption(auc) if auc else ""))
        report = {"target": t, "foreground_fraction": float(inside.mean()),
                  "seeds": {"sure_foreground": int((seeds == cut.FGD).sum()),
                            "sure_background": int((seeds == cut.BGD).sum()),
                            "probable_foreground": int((seeds == cut.PR_FGD).sum())},
                  "faithfulness": auc}
        return Output(arrays={"mask": mask, "seeds": seeds, "saliency": saliency, "image": shown},
                      picture=picture, caption=caption, report=report)

