"""Efros-Leung texture synthesis: every pixel is a close match at the time it was filled,
checked by replaying the recorded choices against the plain loop over source windows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.images import load_image, resize
from visualize import efros_leung as el

TEXTURES = Path(__file__).resolve().parents[2] / "models" / "data" / "textures"


@pytest.fixture(scope="module")
def source():
    return resize(load_image(TEXTURES / "bricks_Bricks059.jpg"), (24, 24))


def test_vectorized_distances_equal_the_plain_loop(source):
    rng = np.random.default_rng(1)
    src = source.astype(np.float64)
    gauss = el.gaussian_window(7)
    P, Q = el.source_windows(src, 7)
    for _ in range(5):
        template = rng.uniform(size=(7, 7, 3))
        known = rng.uniform(size=(7, 7)) < 0.5
        known[3, 2] = True
        np.testing.assert_allclose(el.window_distances(P, Q, template, known, gauss),
                                   el.plain_distances(src, template, known, gauss), rtol=1e-9, atol=1e-12)


def test_every_synthesized_pixel_is_within_epsilon_of_the_best_window(source):
    """Replay: rebuild the known pixels before each step from the fill order, recompute the
    distances to every source window by the plain loop, and check the recorded choice."""
    window, size, eps = 7, 14, 0.1
    out = el.synthesize(source, size=size, window=window, epsilon=eps, rng=np.random.default_rng(3), progress=False)
    src = source.astype(np.float64)
    half, ncols = window // 2, src.shape[1] - window + 1
    gauss = el.gaussian_window(window)
    image = np.zeros((size + 2 * half, size + 2 * half, 3))
    image[half:-half, half:-half] = out.image
    known = np.zeros(image.shape[:2], dtype=bool)
    y0, x0, s = out.seed_box
    known[half + y0:half + y0 + s, half + x0:half + x0 + s] = True
    assert len(out.order) == size * size - s * s
    for step, (y, x) in enumerate(out.order):
        assert not known[y + half, x + half], f"pixel {(y, x)} filled twice"
        # the most-filled-neighbours rule: no unfilled pixel had more known pixels in its window
        counts = np.lib.stride_tricks.sliding_window_view(known, (window, window)).sum(axis=(2, 3))
        assert counts[y, x] == counts[~known[half:-half, half:-half]].max()
        template = image[y:y + window, x:x + window] * known[y:y + window, x:x + window, None]
        d = el.plain_distances(src, template, known[y:y + window, x:x + window], gauss)
        q = out.chosen[step]
        assert d[q] <= (1 + eps) * d.min() + 1e-9
        np.testing.assert_allclose(out.best_distance[step], d.min(), rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(out.chosen_distance[step], d[q], rtol=1e-7, atol=1e-10)
        # the copied value is the centre of the chosen source window
        np.testing.assert_array_equal(out.image[y, x], src[q // ncols + half, q % ncols + half].astype(np.float32))
        known[y + half, x + half] = True
    assert known[half:-half, half:-half].all()


def test_same_seed_same_bytes_and_seeds_differ(source):
    a = el.synthesize(source, size=10, window=5, rng=np.random.default_rng(7), progress=False).image
    b = el.synthesize(source, size=10, window=5, rng=np.random.default_rng(7), progress=False).image
    c = el.synthesize(source, size=10, window=5, rng=np.random.default_rng(8), progress=False).image
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_plain_loop_gives_the_same_texture(source):
    a = el.synthesize(source, size=8, window=5, rng=np.random.default_rng(2), progress=False)
    b = el.synthesize(source, size=8, window=5, rng=np.random.default_rng(2), progress=False,
                      distances=el.plain_distances)
    np.testing.assert_array_equal(a.chosen, b.chosen)


@pytest.mark.parametrize("kwargs, message", [
    (dict(window=31), "smaller than the 31x31 window"),
    (dict(window=6), "odd number"),
    (dict(size=2), "--size"),
    (dict(epsilon=-0.5), "--epsilon"),
])
def test_bad_settings_are_clear_errors(source, kwargs, message):
    with pytest.raises(ValueError, match=message):
        el.synthesize(source, progress=False, **kwargs)
