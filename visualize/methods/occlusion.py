"""Occlusion sensitivity (Zeiler & Fergus 2014, section 4.2, Fig. 7).

Slide a square patch of side ``patch`` with step ``stride`` over the input; at each position
(u, v) replace the pixels under it by a neutral ``fill`` colour (default: the training-set
mean from the model's metadata, which the preprocessing maps to an all-zero input) and record

    P(u, v)   = softmax(f(I with the patch at (u, v)))_true      the true class's probability
    K(u, v)   = argmax_k softmax(f(...))_k                       the most probable class

A drop of P where the patch covers the object shows that the classifier uses the object,
not its surroundings. The per-position values are shown as maps over the pixels: each
pixel takes the mean of P over the patch positions that cover it (the last row and column
of positions are moved in to touch the border so every pixel is covered). The occluded
images go through the network in batches of ``batch_size``: one forward pass per batch, not
per position.

M. D. Zeiler, R. Fergus. "Visualizing and Understanding Convolutional Networks." ECCV 2014.
arXiv:1311.2901.
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from minigrad.tensor import Tensor
from visualize import faithfulness, imaging
from visualize.faithfulness import AUC_STEPS
from visualize.inputs import mean_color, predict, prepare, resolve_class
from visualize.method import Example, Method, Output, register
from visualize.params import BATCH_SIZE, TARGET, FloatList, Int


def patch_positions(size: int, patch: int, stride: int) -> np.ndarray:
    """Top (or left) coordinates 0, stride, 2 stride, ... of a patch sliding over ``size``
    pixels, plus ``size - patch`` when the steps stop short of the border."""
    if not 0 < patch <= size:
        raise ValueError(f"occlusion: patch {patch} must be between 1 and the input size {size}")
    if stride < 1:
        raise ValueError(f"occlusion: stride must be at least 1, got {stride}")
    starts = np.arange(0, size - patch + 1, stride)
    return starts if starts[-1] == size - patch else np.append(starts, size - patch)


@register
class Occlusion(Method):
    name = "occlusion"
    title = "Occlusion sensitivity"
    reference = ("M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks. "
                 "ECCV 2014, section 4.2")
    url = "https://arxiv.org/abs/1311.2901"
    summary = ("Slide a mean-coloured patch over the image; map the true class's probability and the "
               "most probable class at each patch position.")
    example = "minigrad occlusion --model alexnet --image photo.jpg --class 'tabby' --patch 48 --stride 16"
    params = (
        TARGET.with_help("the true class (index or name); default: the class predicted on the unoccluded image"),
        Int("patch", 8, "side of the square patch, in input pixels", lo=1, hi=4096),
        Int("stride", 2, "step between patch positions, in input pixels", lo=1, hi=4096),
        FloatList("fill", None, "patch colour as RGB in [0, 1], gray (0.5) or R,G,B (0.4,0.5,0.6); default: "
                                "the dataset mean from the model's metadata", lo=0.0, hi=1.0, lengths=(1, 3)),
        BATCH_SIZE.with_help("occluded images per forward pass"),
        AUC_STEPS,
    )
    smoke = {"patch": 16, "stride": 16, "auc_steps": 4}
    presets = {"alexnet": {"patch": 48, "stride": 16, "batch_size": 32},
               "vgg16": {"patch": 56, "stride": 28, "batch_size": 8}}

    def compute(self, image, rng, target=None, patch=8, stride=2, fill=None, batch_size=64, auc_steps=32):
        model = self.model
        x, shown = prepare(model, image)
        _, _, h, w = x.shape
        xp = x.backend.xp
        color = mean_color(model) if fill is None else np.broadcast_to(np.asarray(fill, np.float32), (3,))
        fill_x = model.preprocess(np.broadcast_to(color, (1, h, w, 3)).astype(np.float32)).data[0, :, :1, :1]
        base = predict(model, x)[0]
        index = int(np.argmax(base)) if target is None else resolve_class(model, target)

        ys, xs = patch_positions(h, patch, stride), patch_positions(w, patch, stride)
        tops, lefts = (a.ravel() for a in np.meshgrid(ys, xs, indexing="ij"))
        n = tops.size
        p_true, top_class = np.empty(n, np.float32), np.empty(n, np.int64)
        p_sum, cover = np.zeros((h, w), np.float64), np.zeros((h, w), np.float64)
        batches = range(0, n, batch_size)
        for start in tqdm(batches, desc="occlusion", unit="batch", disable=None, leave=False):
            sl = slice(start, start + batch_size)
            rows = (np.arange(h) >= tops[sl, None]) & (np.arange(h) < tops[sl, None] + patch)   # (b, h)
            cols = (np.arange(w) >= lefts[sl, None]) & (np.arange(w) < lefts[sl, None] + patch)  # (b, w)
            mask = rows[:, :, None] & cols[:, None, :]                                         # (b, h, w)
            occluded = xp.where(xp.asarray(mask)[:, None], fill_x[None], x.data)
            probs = predict(model, Tensor(occluded))
            p_true[sl], top_class[sl] = probs[:, index], probs.argmax(axis=1)
            p_sum += np.tensordot(p_true[sl].astype(np.float64), mask, axes=1)
            cover += mask.sum(axis=0)
        true_map = (p_sum / cover).astype(np.float32)
        grid = (ys.size, xs.size)
        p_true, top_class = p_true.reshape(grid), top_class.reshape(grid)
        # The most probable class at each pixel: that of the nearest patch centre.
        cy = np.abs(np.arange(h)[:, None] - (ys + patch / 2)[None]).argmin(axis=1)
        cx = np.abs(np.arange(w)[:, None] - (xs + patch / 2)[None]).argmin(axis=1)
        class_map = top_class[cy[:, None], cx[None, :]]
        n_batches = len(batches) + 1
        name = model.class_names[index]
        auc = faithfulness.score(model, x, -true_map, index, rng, auc_steps)   # a low probability = important
        caption = (f"true class {name!r}: p={base[index]:.3f} unoccluded, min {p_true.min():.3f}; "
                   f"patch {patch}, stride {stride}: {n + 1} forward passes in {n_batches} batches"
                   + ("; " + faithfulness.caption(auc) if auc else ""))
        picture = imaging.hstack([imaging.panel(shown, "input"),
                                  imaging.heatmap(true_map, f"p({name[:18]}); dark = important", lo=0, hi=1),
                                  _class_panel(model, shown, class_map, top_class)])
        report = {"target": index, "target_name": name, "probability_unoccluded": float(base[index]),
                  "probability_min": float(p_true.min()), "positions": list(grid),
                  "forward_passes": n + 1, "batches": n_batches, "fill_rgb": [float(c) for c in color], "faithfulness": auc}
        return Output(arrays={"true_class_probability": p_true, "most_probable_class": top_class,
                              "true_class_map": true_map, "image": shown},
                      picture=picture, caption=caption, report=report)

    # The demo runs VGG-16 with a coarser stride (16 patch positions, not 49) to stay fast.
    demo_flags = {"vgg16": ("--stride", "56")}

    @classmethod
    def examples(cls, demo):
        out = []
        for m in demo.models:
            for path, label in demo.images(m):
                known = ("--class", str(label)) if label is not None else ()
                out.append(Example(("--model", m, "--image", path, *known, *cls.demo_flags.get(m, ())),
                                   f"{m}: " + (f"true class {label}" if known else "the predicted class")))
        return out


def _class_panel(model, shown, class_map, top_class) -> np.ndarray:
    """The most probable class at each patch position, one colour per class, with a legend."""
    classes, counts = np.unique(top_class, return_counts=True)
    classes = classes[np.argsort(-counts, kind="stable")][:8]
    colors = np.concatenate([imaging.categorical_colors(len(classes)), [[0.5, 0.5, 0.5]]]).astype(np.float32)
    lookup = np.full(len(model.class_names), len(classes))   # classes beyond the 8 most common: gray
    lookup[classes] = np.arange(len(classes))
    blended = 0.45 * imaging.to_rgb(shown) + 0.55 * colors[lookup[class_map]]
    rows = [imaging.hstack([np.broadcast_to(colors[i], (14, 14, 3)),
                            imaging.text_block(model.class_names[c][:24])], gap=4)
            for i, c in enumerate(classes)]
    legend = imaging.vstack([imaging.text_block("")] + rows, gap=2)
    return imaging.hstack([imaging.panel(blended, "most probable class"), legend], gap=4)
