"""GrabCut written with NumPy/SciPy/scikit-learn against OpenCV's cv2.grabCut from the same
masks, and its pieces: the minimum cut and the seeds."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from models.images import load_image
from visualize.gradients import backprop_class
from visualize.grabcut import BGD, FGD, PR_BGD, PR_FGD, foreground, grabcut, min_cut, seeds_from_map

PHOTOS = sorted((Path(__file__).resolve().parents[2] / "models" / "data" / "content").glob("*.jpg"))


@pytest.fixture(scope="module")
def cv2():
    try:
        import cv2
    except ImportError:
        if os.environ.get("MINIGRAD_REQUIRE_TORCH") == "1":
            pytest.fail("MINIGRAD_REQUIRE_TORCH=1 but opencv-python-headless is not installed (the test extra)")
        pytest.skip("opencv-python-headless is not installed (GrabCut comparison skipped)")
    return cv2


def _iou(a, b):
    return float((a & b).sum() / max((a | b).sum(), 1))


def _opencv(cv2, image, mask, iterations):
    m = mask.copy()
    cv2.setRNGSeed(0)
    cv2.grabCut(np.ascontiguousarray(np.rint(image[..., ::-1] * 255).astype(np.uint8)), m, None,
                np.zeros((1, 65)), np.zeros((1, 65)), iterations, cv2.GC_INIT_WITH_MASK)
    return m


def test_matches_opencv_on_the_shipped_photos(cv2, alexnet_small):
    """Seeds from the saliency map of a random-weight AlexNet (64 px input) on each shipped
    photo, as the grabcut method makes them; both implementations start from the same mask and
    run 5 iterations on the same 8-bit image. Mean IoU of the foregrounds >= 0.9."""
    net = alexnet_small.requires_grad_(False)
    ious = []
    for path in PHOTOS:
        x = net.preprocess(load_image(path))
        shown = np.rint(net.deprocess(x) * 255) / 255
        mask = seeds_from_map(np.abs(backprop_class(net, x, None).gradient).max(axis=2))
        ours = grabcut(shown, mask, np.random.default_rng(0), iterations=5)
        ious.append(_iou(foreground(ours), foreground(_opencv(cv2, shown, mask, 5))))
        assert np.array_equal(ours[mask == FGD], mask[mask == FGD])      # sure pixels stay
        assert np.array_equal(ours[mask == BGD], mask[mask == BGD])
    print("\nGrabCut vs cv2.grabCut IoU per photo: " + ", ".join(f"{p.stem} {v:.3f}" for p, v in zip(PHOTOS, ious))
          + f"; mean {np.mean(ious):.3f}")
    assert len(ious) == 4 and np.mean(ious) >= 0.9


def test_min_cut_is_the_minimum():
    """On a small random graph the cut returned costs no more than every one of the 2^6 cuts."""
    rng = np.random.default_rng(3)
    n = 6
    s, t = rng.random(n) * 10, rng.random(n) * 10
    p, q = np.triu_indices(n, 1)
    v = rng.random(len(p)) * 3

    def cost(side):      # side[i]: node i with the source; cut edges: s->i for sink-side i, i->t, and pairs
        return s[~side].sum() + t[side].sum() + v[side[p] != side[q]].sum()

    best = min(cost(np.array([(k >> i) & 1 for i in range(n)], bool)) for k in range(2 ** n))
    assert cost(min_cut(s, t, p, q, v)) <= best + 1e-2


def test_separates_two_colours():
    """A red square on a noisy blue field, seeded by a few pixels of each, is cut along its edge."""
    rng = np.random.default_rng(0)
    image = np.clip(np.array([0.1, 0.2, 0.8]) + 0.05 * rng.standard_normal((24, 24, 3)), 0, 1)
    image[6:18, 6:18] = np.clip([0.8, 0.1, 0.1] + 0.05 * rng.standard_normal((12, 12, 3)), 0, 1)
    mask = np.full((24, 24), PR_BGD, np.uint8)
    mask[10:14, 10:14], mask[:3] = FGD, BGD
    truth = np.zeros((24, 24), bool)
    truth[6:18, 6:18] = True
    assert _iou(foreground(grabcut(image, mask, np.random.default_rng(0), 2)), truth) > 0.97


def test_seeds_and_bad_masks():
    heat = np.arange(100.0).reshape(10, 10)
    mask = seeds_from_map(heat, foreground=0.9, background=0.3)
    assert (mask == FGD).sum() == 10 and (mask == BGD).sum() == 30
    assert set(np.unique(mask)) == {BGD, FGD, PR_BGD, PR_FGD}
    with pytest.raises(ValueError, match="background < foreground"):
        seeds_from_map(heat, foreground=0.2, background=0.5)
    with pytest.raises(ValueError, match="mask has shape"):
        grabcut(np.zeros((5, 5, 3)), np.zeros((4, 5), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError, match="both foreground and background"):
        grabcut(np.zeros((8, 8, 3)), np.full((8, 8), PR_BGD, np.uint8), np.random.default_rng(0))
