"""The pictures mean something: on the trained MNIST network, saliency lies on the pen
strokes, and covering the strokes hurts the true class far more than covering background."""
from __future__ import annotations

import numpy as np

from visualize.methods.occlusion import Occlusion, patch_positions
from visualize.methods.saliency import Saliency

STROKE, BACKGROUND = 0.5, 0.05     # ink > 0.5 is stroke, < 0.05 is paper


def saliency_on_strokes(net, images):
    """Per digit: the share of the saliency mass on stroke pixels and on background pixels,
    and the mean saliency of a stroke pixel over that of a background pixel."""
    rows = []
    for img in images:
        s = Saliency(net)(img).arrays["saliency"].astype(np.float64)
        stroke, bg = img > STROKE, img < BACKGROUND
        rows.append((s[stroke].sum() / s.sum(), s[bg].sum() / s.sum(), s[stroke].mean() / s[bg].mean()))
    return np.array(rows)


def occlusion_drops(net, images, labels, patch=8, stride=2):
    """Per digit: the mean drop of the true-class probability when the patch covers mostly
    stroke (>= 30% of its pixels) and when it covers no ink at all."""
    starts = patch_positions(28, patch, stride)
    rows = []
    for img, label in zip(images, labels):
        r = Occlusion(net)(img, target=int(label), patch=patch, stride=stride)
        p, p0 = r.arrays["true_class_probability"], r.metadata["report"]["probability_unoccluded"]
        windows = np.stack([np.stack([img[a:a + patch, b:b + patch] for b in starts]) for a in starts])
        on_stroke = (windows > STROKE).mean(axis=(2, 3)) >= 0.3
        blank = ~(windows > 0.1).any(axis=(2, 3))
        rows.append(((p0 - p[on_stroke]).mean(), (p0 - p[blank]).mean() if blank.any() else 0.0))
    return np.array(rows)


def test_saliency_mass_lies_on_the_strokes(trained_mnist, held_out_digits):
    images, _ = held_out_digits
    m = saliency_on_strokes(trained_mnist, images[:40])
    stroke_share, bg_share, density = m.mean(axis=0)
    print(f"saliency: {stroke_share:.3f} of the mass on strokes ({(images[:40] > STROKE).mean():.3f} of the "
          f"pixels), {bg_share:.3f} on background; a stroke pixel {density:.1f}x a background pixel")
    assert stroke_share > bg_share and stroke_share > 0.4
    assert np.all(m[:, 2] > 2.0), "on some digit a stroke pixel is not clearly more salient than background"


def test_occluding_strokes_hurts_more_than_occluding_background(trained_mnist, held_out_digits):
    images, labels = held_out_digits
    d = occlusion_drops(trained_mnist, images[:12], labels[:12])
    print(f"occlusion: mean drop {d[:, 0].mean():.3f} over strokes vs {d[:, 1].mean():.5f} over background")
    assert d[:, 0].mean() > 0.05
    assert d[:, 0].mean() > 10 * max(d[:, 1].mean(), 1e-6)
    assert np.mean(d[:, 0] > d[:, 1]) >= 0.9
