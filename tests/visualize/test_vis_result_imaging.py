"""Result (atomic PNG + JSON sidecar, round trip, notebook display) and the imaging pieces."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from visualize import imaging
from visualize.result import Result


def _result():
    rng = np.random.default_rng(0)
    return Result(picture=rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
                  arrays={"saliency": rng.random((5, 6)).astype(np.float32)},
                  metadata={"method": "test", "hyperparameters": {"patch": 3, "fill": (0.1, 0.2)},
                            "seed": 4, "count": np.int64(7)})


def test_save_and_load_round_trip(tmp_path):
    r = _result()
    files = r.save(tmp_path / "sub" / "pic.png", arrays=True)
    assert [f.name for f in files] == ["pic.png", "pic.json", "pic.npz"]
    back = Result.load(tmp_path / "sub" / "pic.png")
    assert np.array_equal(back.picture, r.picture)
    assert back.metadata == {"method": "test", "hyperparameters": {"patch": 3, "fill": [0.1, 0.2]},
                             "seed": 4, "count": 7}
    assert np.array_equal(back.arrays["saliency"], r.arrays["saliency"])
    assert not list((tmp_path / "sub").glob(".*.part"))


def test_a_failed_save_leaves_existing_files_untouched(tmp_path):
    r = _result()
    r.save(tmp_path / "pic.png")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = Result(picture=r.picture, metadata={"unserializable": object()})
    with pytest.raises(TypeError):
        bad.save(tmp_path / "pic.png", overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_repr_png_decodes_to_the_picture():
    r = _result()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(r._repr_png_()))), r.picture)


def test_picture_must_be_uint8_rgb():
    with pytest.raises(ValueError, match="uint8"):
        Result(picture=np.zeros((4, 4, 3), np.float32))


def test_load_names_the_missing_sidecar(tmp_path):
    _result().save(tmp_path / "a.png")
    (tmp_path / "a.json").unlink()
    with pytest.raises(FileNotFoundError, match="a.json"):
        Result.load(tmp_path / "a.png")


def test_sidecar_is_plain_json(tmp_path):
    _result().save(tmp_path / "a.png")
    assert json.loads((tmp_path / "a.json").read_text())["count"] == 7


def test_normalize_per_tile_and_constant_tiles():
    a = np.stack([np.arange(4.0).reshape(2, 2), np.full((2, 2), 5.0), -np.arange(4.0).reshape(2, 2) * 10])
    n = imaging.normalize(a, axis=(1, 2))
    assert np.allclose(n[0], [[0, 1 / 3], [2 / 3, 1]]) and np.all(n[1] == 0)
    assert np.allclose(n[2], [[1, 2 / 3], [1 / 3, 0]])


def test_colormap_end_points_are_inferno():
    c = imaging.colormap(np.array([0.0, 0.5, 1.0]))
    assert np.allclose(c[0], [0.001462, 0.000466, 0.013866], atol=1e-6)
    assert np.allclose(c[1], [0.735683, 0.215906, 0.330245], atol=0.01)
    assert np.allclose(c[2], [0.988362, 0.998364, 0.644924], atol=1e-6)
    assert np.all(np.diff(c.mean(axis=1)) > 0)   # brightness increases


def test_tile_grid_layout_and_marks():
    tiles = np.zeros((5, 8, 8))
    grid = imaging.tile_grid(tiles, columns=3, marked=[4], gap=2)
    assert grid.shape == (2 * 10 + 2, 3 * 10 + 2, 3)
    assert np.allclose(grid[12, 12], imaging.MARK_COLOR)       # frame of tile 4 (row 1, col 1)
    assert np.allclose(grid[2, 2], 0)                          # tile 0 is black, unmarked
    labelled = imaging.tile_grid(tiles, labels=list("abcde"))
    assert labelled.shape[0] > imaging.tile_grid(tiles).shape[0]


def test_upscale_and_overlay():
    img = np.random.default_rng(0).random((28, 28, 3)).astype(np.float32)
    big = imaging.upscale(img, 100)
    assert big.shape == (112, 112, 3) and np.array_equal(big[::4, ::4], img)
    heat = np.zeros((7, 7), np.float32)
    assert np.allclose(imaging.overlay(img, heat), imaging.gray_on_white(img))   # no heat: the backdrop
    hot = imaging.overlay(img, heat + 1)
    assert hot.shape == (28, 28, 3) and np.allclose(hot, 0.25 * imaging.gray_on_white(img)
                                                    + 0.75 * imaging.colormap(np.ones((28, 28))))


def test_a_digit_backdrop_is_dark_strokes_on_white():
    digit = np.zeros((28, 28), np.float32)
    digit[10:18, 12:15] = 1.0
    backdrop = imaging.gray_on_white(digit)
    assert backdrop[0, 0].min() == pytest.approx(1.0) and backdrop[12, 13].max() == pytest.approx(0.45)


def test_colorbar_and_signed_heatmap_scales():
    bar = imaging.colorbar(-2.0, 2.0, "diverging", height=100)
    assert bar.shape[0] == 100 and np.allclose(bar[50, 5], 0.97, atol=0.02)      # zero is white mid-bar
    v = np.array([[-1.0, 0.0], [0.5, 1.0]], np.float32)
    scaled, peak = imaging.signed_unit(v)
    assert peak == 1.0 and np.allclose(scaled, [[0.0, 0.5], [0.75, 1.0]])


def test_normalize_contrast_centres_on_gray():
    g = np.random.default_rng(0).normal(size=(10, 10, 3)).astype(np.float32)
    shown = imaging.normalize_contrast(g)
    assert 0 <= shown.min() and shown.max() <= 1 and abs(float(shown.mean()) - 0.5) < 0.01
    assert np.all(imaging.normalize_contrast(np.zeros((3, 3))) == 0.5)


def test_text_is_drawn_deterministically():
    a, b = imaging.text_block("conv5: 256 channels"), imaging.text_block("conv5: 256 channels")
    assert np.array_equal(a, b) and a.min() < 0.5     # some dark ink on white


def test_names_keep_their_dots_and_existing_files_are_refused(tmp_path):
    r = _result()
    first, second = r.save(tmp_path / "photo.v1"), r.save(tmp_path / "photo.v2")
    assert first[0].name == "photo.v1.png" and second[0].name == "photo.v2.png"
    with pytest.raises(FileExistsError, match="photo.v1.png.*--overwrite"):
        r.save(tmp_path / "photo.v1")
    assert r.save(tmp_path / "photo.v1", overwrite=True) == first


def test_attachments_are_written_beside_the_picture(tmp_path):
    r = Result(picture=_result().picture, attachments={"frames.gif": b"GIF89a"})
    files = r.save(tmp_path / "run")
    assert [f.name for f in files] == ["run.png", "run.json", "run.frames.gif"]
    assert (tmp_path / "run.frames.gif").read_bytes() == b"GIF89a"
