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

from visualize.gradients import layer_gradient
from visualize.inputs import layer_label


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
