"""Grad-CAM and guided Grad-CAM (Selvaraju et al. 2017).

For the class score S_c and the K feature maps A^k (h x w) of a convolutional layer, each map
is weighted by the average gradient of the score over its positions (global average pooling
of the gradient), and the weighted sum is kept where it is positive:

    alpha_k = (1 / hw) sum_ij dS_c / dA^k_ij
    L_c     = ReLU( sum_k alpha_k A^k )                 (h x w, the layer's resolution)

L_c is then upsampled bilinearly to the input (half-pixel centres, as torch's
``interpolate(..., align_corners=False)``). It is coarse by construction: one value per
position of the layer (7 x 7 for VGG-16's relu5_3 at 224 px, each covering a 32 x 32 patch),
but class-discriminative, because the weights come from the class score. Guided Grad-CAM
multiplies it, pixel by pixel, with the guided-backpropagation map of the same class, which
has the pixel detail but is hardly class-discriminative:

    G_c = guided_backprop_c (H, W, 3)  *  upsample(L_c) (H, W, 1)

R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh, D. Batra. "Grad-CAM: Visual
Explanations from Deep Networks via Gradient-based Localization." ICCV 2017. arXiv:1610.02391.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigrad import no_grad
from visualize import faithfulness, imaging
from visualize.faithfulness import AUC_STEPS
from visualize.gradients import backprop_class, class_info, layer_gradient
from visualize.inputs import default_layer, layer_label, prepare, resolve_class
from visualize.method import Example, Method, Output, register
from visualize.params import LAYER, TARGET, Choice


def bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) matrix of 1-D linear interpolation with half-pixel centres:
    output i samples the input at s = (i + 0.5) size_in / size_out - 0.5 (clamped to
    [0, size_in - 1]) as (1 - t) in[floor s] + t in[floor s + 1]."""
    s = np.clip((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0, size_in - 1)
    lo = np.floor(s).astype(int)
    hi = np.minimum(lo + 1, size_in - 1)
    t = s - lo
    m = np.zeros((size_out, size_in))
    np.add.at(m, (np.arange(size_out), lo), 1 - t)
    np.add.at(m, (np.arange(size_out), hi), t)
    return m


def upsample(cam: np.ndarray, size) -> np.ndarray:
    """Bilinear upsampling of an (h, w) map to ``size`` = (H, W), separable: M_y cam M_x^T."""
    return bilinear_matrix(cam.shape[0], size[0]) @ cam @ bilinear_matrix(cam.shape[1], size[1]).T


def spatial_layers(model) -> list[str]:
    """The layers before the first Flatten (those with feature maps), by their readable names."""
    names = []
    for path, m in model.layers():
        if type(m).__name__ == "Flatten":
            break
        names.append(layer_label(model, path))
    return names


@dataclass
class Cam:
    """``cam`` L_c at the layer's resolution (after the ReLU), ``raw`` the weighted sum before
    it, ``weights`` alpha_k (K,), ``logits`` the scores; float64 on the host."""

    cam: np.ndarray
    raw: np.ndarray
    weights: np.ndarray
    logits: np.ndarray


def grad_cam(model, x, layer: str, index: int) -> Cam:
    """Grad-CAM of logit ``index`` at ``layer`` for one input ``x`` (1, C, H, W)."""
    activation, grad, logits = layer_gradient(model, x, layer, index)
    if activation.ndim != 4:
        raise ValueError(f"Grad-CAM needs a layer with feature maps (1, C, h, w); layer {layer!r} has output "
                         f"shape {activation.shape}. Layers with feature maps: "
                         f"{', '.join(spatial_layers(model))}")
    a, g = activation[0].astype(np.float64), grad[0].astype(np.float64)
    weights = g.mean(axis=(1, 2))
    raw = np.tensordot(weights, a, axes=1)
    return Cam(np.maximum(raw, 0), raw, weights, logits.astype(np.float64))


@register
class GradCam(Method):
    name = "grad-cam"
    title = "Grad-CAM / guided Grad-CAM"
    reference = ("R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh, D. Batra. Grad-CAM: Visual "
                 "Explanations from Deep Networks via Gradient-based Localization. ICCV 2017")
    url = "https://arxiv.org/abs/1610.02391"
    summary = ("A conv layer's feature maps weighted by the class score's average gradient, ReLU, upsampled to "
               "the image; guided: times guided backprop.")
    example = "minigrad grad-cam --model vgg16 --image photo.jpg --class 'tabby' --mode guided"
    params = (TARGET.with_help("class to explain (index or name); default: the predicted class"),
              LAYER.with_help("a layer with feature maps; default: the last ReLU before the classifier "
                              "(relu5_3 on VGG-16)"),
              Choice("mode", "grad-cam", "grad-cam: the class map; guided: also its product with guided "
                                         "backprop (guided Grad-CAM)", choices=("grad-cam", "guided")),
              AUC_STEPS)
    smoke = {"auc_steps": 4}

    def resolve(self, params):
        if params["layer"] is None:
            params = {**params, "layer": default_layer(self.model, "ReLU", "last_spatial")}
        return params

    def compute(self, image, rng, target=None, layer=None, mode="grad-cam", auc_steps=32):
        model = self.model
        x, shown = prepare(model, image)
        with no_grad():
            logits = model(x).numpy()[0].astype(np.float64)
        index = int(np.argmax(logits)) if target is None else resolve_class(model, target)
        cam = grad_cam(model, x, layer, index)
        up = upsample(cam.cam, shown.shape[:2])
        peak = float(up.max())
        info = class_info(model, logits, index)
        panels = [imaging.panel(shown, "input"),
                  imaging.heatmap(cam.cam, f"L_c at {layer} ({cam.cam.shape[0]}x{cam.cam.shape[1]})", lo=0),
                  imaging.panel(imaging.overlay(shown, up / peak if peak > 0 else up), "upsampled, over the input")]
        arrays = {"cam": cam.cam.astype(np.float32), "cam_upsampled": up.astype(np.float32),
                  "weights": cam.weights.astype(np.float32), "image": shown}
        heat = up
        if mode == "guided":
            guided = backprop_class(model, x, index, relu="guided").gradient * up[..., None].astype(np.float32)
            heat = np.abs(guided).max(axis=2)
            panels.append(imaging.heatmap(heat, "guided Grad-CAM |G_c|" + (
                "" if model.preprocessing.channel_order == "L" else ", max over RGB"), lo=0))
            arrays["guided_grad_cam"] = guided
        auc = faithfulness.score(model, x, heat, index, rng, auc_steps)
        caption = (f"{'guided ' if mode == 'guided' else ''}Grad-CAM of class {info['name']!r} "
                   f"(p={info['probability']:.3f}) at {layer}; positive at {float((cam.cam > 0).mean()):.0%} "
                   "of its positions" + ("; " + faithfulness.caption(auc) if auc else ""))
        report = {"target": info, "layer": layer, "layer_shape": list(cam.cam.shape), "mode": mode,
                  "positive_fraction": float((cam.cam > 0).mean()), "faithfulness": auc}
        return Output(arrays=arrays, picture=imaging.hstack(panels), caption=caption, report=report)

    @classmethod
    def examples(cls, demo):
        out = []
        for m in demo.models:
            images = [p for p, _ in demo.images(m)]
            out.append(Example(("--model", m, "--image", *images), f"{m}: Grad-CAM of the predicted class"))
            out.append(Example(("--model", m, "--image", *images, "--mode", "guided"),
                               f"{m}: guided Grad-CAM (times guided backprop)"))
        return out
