"""Neural style transfer on the shipped photo and painting: the result is close to the
painting in Gram matrices and to the photo in features, keeps the photo's colours when asked,
blends styles, resumes, and refuses bad settings with clear messages. A small random
multi-scale net (Ustyuzhaninov et al. 2016) at 48 px keeps the runs fast."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.images import load_image
from models.random_multiscale import build_random_multiscale
from visualize import cli
from visualize import style_losses as sl
from visualize import stylize
from visualize.input_kinds import ContentStyleData
from visualize.methods.style_transfer import StyleTransfer

DATA = Path(__file__).resolve().parents[2] / "models" / "data"
SIZE = 48


@pytest.fixture(scope="module")
def net():
    return build_random_multiscale(np.random.default_rng(0), sizes=(3, 5, 7, 11), filters_per_scale=8)


@pytest.fixture(scope="module")
def photo():
    return stylize.fit_longest(load_image(DATA / "content" / "tuebingen_neckarfront.jpg"), 96)


@pytest.fixture(scope="module")
def painting():
    return stylize.fit_longest(load_image(DATA / "style" / "starry_night.jpg"), 96)


@pytest.fixture(scope="module")
def scream():
    return stylize.fit_longest(load_image(DATA / "style" / "the_scream.jpg"), 96)


def _run(net, content, styles, **kw):
    options = dict(size=SIZE, content_layers=("relu1",), style_layers=("relu1",), content_weight=1.0,
                   style_weight=10.0, tv_weight=0.0, iterations=30, progress=False,
                   rng=np.random.default_rng(0))
    return stylize.run(net, content, styles, **{**options, **kw})


def _gram_distance(net, a, b):
    ga = stylize.gram_targets(net, [a], (1.0,), ("relu1",))["relu1"]
    gb = stylize.gram_targets(net, [b], (1.0,), ("relu1",))["relu1"]
    return float(((ga - gb) ** 2).sum() / (gb ** 2).sum())


def _content_distance(net, a, b):
    fa = stylize.features(net, stylize.resize(a, b.shape[:2]), ("relu1",))["relu1"]
    fb = stylize.features(net, b, ("relu1",))["relu1"]
    return float(((fa - fb) ** 2).sum() / (fb ** 2).sum())


@pytest.fixture(scope="module")
def transferred(net, photo, painting):
    return _run(net, photo, [painting])


def test_result_is_near_the_painting_in_style_and_the_photo_in_content(net, photo, painting, transferred):
    out = transferred.picture
    content = stylize.fit_longest(photo, SIZE)
    style = stylize.fit_longest(painting, SIZE)
    gram_ratio = _gram_distance(net, content, style) / _gram_distance(net, out, style)
    content_ratio = _content_distance(net, style, content) / _content_distance(net, out, content)
    assert gram_ratio >= 10, gram_ratio
    assert content_ratio >= 5, content_ratio


@pytest.mark.parametrize("mode", ["recolor", "luminance"])
def test_original_colors_keep_the_content_chrominance(net, photo, painting, mode):
    out = _run(net, photo, [painting], original_colors=mode, iterations=4)
    content = stylize.fit_longest(photo, SIZE)
    error = np.abs(sl.to_yiq(out.picture)[..., 1:] - sl.to_yiq(content)[..., 1:]).max()
    assert error <= 1e-3, error
    assert out.picture.min() >= 0 and out.picture.max() <= 1
    # the luminance did change: this is a stylized picture, not the content
    assert np.abs(sl.to_yiq(out.picture)[..., 0] - sl.to_yiq(content)[..., 0]).mean() > 0.01


def test_keep_colors_clamps_luminance_into_the_rgb_cube():
    rng = np.random.default_rng(0)
    content, output = rng.random((8, 8, 3)), rng.random((8, 8, 3)) * 3 - 1   # luminance far out of range
    kept = sl.keep_colors(output, content)
    assert kept.min() >= -1e-6 and kept.max() <= 1 + 1e-6
    np.testing.assert_allclose(sl.to_yiq(kept)[..., 1:], sl.to_yiq(content)[..., 1:], atol=1e-6)


def test_blends_one_zero_equal_the_single_style_runs(net, photo, painting, scream):
    for weights, alone in (((1.0, 0.0), painting), ((0.0, 1.0), scream)):
        blended = _run(net, photo, [painting, scream], blend=weights, iterations=3, optimizer="adam")
        single = _run(net, photo, [alone], iterations=3, optimizer="adam")
        assert blended.picture.tobytes() == single.picture.tobytes()


def test_blend_target_is_the_weighted_sum_of_grams(net, painting, scream):
    both = stylize.gram_targets(net, [painting, scream], (0.25, 0.75), ("relu1",))["relu1"]
    a = stylize.gram_targets(net, [painting], (1.0,), ("relu1",))["relu1"]
    b = stylize.gram_targets(net, [scream], (1.0,), ("relu1",))["relu1"]
    np.testing.assert_allclose(both, 0.25 * a + 0.75 * b, rtol=1e-5)


def test_resume_continues_from_the_saved_iterate(net, photo, painting):
    first = _run(net, photo, [painting], iterations=4)
    resumed = _run(net, photo, [painting], iterations=1, resume=first.iterate)
    fresh = _run(net, photo, [painting], iterations=1)
    # the resumed run starts where the first one ended: better than before its last step
    assert resumed.history[0]["objective"] >= first.history[-1]["objective"]
    assert resumed.history[0]["objective"] > fresh.history[0]["objective"]


def test_coarse_to_fine_runs_each_scale(net, photo, painting):
    out = _run(net, photo, [painting], scales=(0.5, 1.0), iterations=3, optimizer="adam", every=3)
    assert [max(hw) for hw in out.sizes] == [24, 48]
    assert [(s, i) for s, i, _ in out.frames] == [(0, 3), (1, 3)]


def test_normalized_gradient_divides_by_its_l1_norm():
    from minigrad.tensor import Tensor
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    (sl.NormalizeGradient()(x) * Tensor(np.array([2.0, 4.0, -2.0]))).sum().backward()
    np.testing.assert_allclose(x.grad, np.array([2.0, 4.0, -2.0]) / (8 + 1e-8))


def test_dream_term_raises_the_activation(net, photo, painting):
    plain = _run(net, photo, [painting], iterations=4, optimizer="adam")
    dreamy = _run(net, photo, [painting], iterations=4, optimizer="adam", dream_layer="relu1", dream_weight=50.0)
    energy = [float((stylize.features(net, p.picture, ("relu1",))["relu1"] ** 2).mean()) for p in (plain, dreamy)]
    assert energy[1] > energy[0] * 1.05, energy


def test_bad_inputs_are_clear_errors(net, photo, painting):
    data = ContentStyleData(photo, [painting], (1.0,))
    with pytest.raises(KeyError, match="has no layer 'relu9'"):
        StyleTransfer(net)(data, style_layers="relu9", size=16, iterations=1)
    with pytest.raises(ValueError, match="--style-weight"):
        StyleTransfer(net)(data, style_weight="heavy", size=16, iterations=1)
    with pytest.raises(ValueError, match="--layer-weights"):
        StyleTransfer(net)(data, layer_weights=(1.0, 2.0), size=16, iterations=1)
    with pytest.raises(ValueError, match="--init-image"):
        StyleTransfer(net)(data, init="image", size=16, iterations=1)


def test_cli_reports_bad_weights_and_layers(tmp_path, capsys):
    content, style = str(DATA / "content" / "macaque.jpg"), str(DATA / "style" / "the_scream.jpg")
    base = ["style-transfer", "--model", "random_multiscale", "--content", content, "--style", style,
            "--out", str(tmp_path), "--size", "16", "--iterations", "1"]
    with pytest.raises(SystemExit):
        cli.main(base + ["--style-weights", "1,x"])
    assert "--style-weights" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(base + ["--content-weight", "lots"])
    assert "--content-weight" in capsys.readouterr().err
    assert cli.main(base + ["--content-layers", "conv9"]) == 2
    assert "no layer 'conv9'" in capsys.readouterr().err


def test_cli_prints_and_saves_every_n_iterations(tmp_path, capsys):
    content, style = str(DATA / "content" / "macaque.jpg"), str(DATA / "style" / "the_scream.jpg")
    assert cli.main(["style-transfer", "--model", "random_multiscale", "--content", content, "--style", style,
                     "--out", str(tmp_path), "--size", "12", "--iterations", "4", "--optimizer", "adam",
                     "--print-every", "2", "--save-every", "2", "--save-arrays"]) == 0
    out = capsys.readouterr().out
    assert "iteration 2:" in out and "iteration 4:" in out
    assert len(list(tmp_path.glob("*iter_00002.png"))) == 1 and len(list(tmp_path.glob("*iter_00004.png"))) == 1
    saved = next(tmp_path.glob("*.npz"))
    resumed = stylize.load_picture(saved, "--resume")
    assert resumed.shape[2] == 3 and max(resumed.shape[:2]) == 12
