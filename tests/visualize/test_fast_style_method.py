"""The fast-style method and the shipped network weights/fast_style.h5: each of the five
styles applied to a photo held out of training is closest, in the training's Gram
statistics (Euclidean and relative distances), to its own painting; mixing two styles moves
the Gram distance to the first painting monotonically; the command line refuses unknown
styles and non-convex mixes with one clear line."""
import json

import numpy as np
import pytest

from models import REPO_ROOT, fast_style
from models.images import load_image, resize_shorter_side
from visualize import train_fast_style as tfs
from visualize.cli import main
from visualize.method import get_method

SHIPPED = REPO_ROOT / "weights" / "fast_style.h5"
PHOTO = REPO_ROOT / "models" / "data" / "content" / tfs.HELD_OUT
SIZE = 128      # the held-out photo's shorter side (the paintings' Gram matrices were taken at style_size 128)


@pytest.fixture(scope="module")
def shipped():
    net = fast_style.load(SHIPPED)
    settings = tfs.settings_from_record(net.metadata)
    loss_net = tfs.loss_network(settings)
    targets = tfs.style_targets(loss_net, settings)
    photo = resize_shorter_side(load_image(PHOTO), SIZE)

    def distances(weights, relative=True):
        return tfs.style_distances(loss_net, fast_style.stylize(net, photo, weights), targets, settings.loss_net,
                                   relative)
    return net, distances


def test_shipped_file_is_small_and_records_its_training():
    assert SHIPPED.stat().st_size < 10 * 2**20
    net = fast_style.load(SHIPPED)
    meta = net.metadata
    assert net.styles == tuple(p.split("/")[-1][:-4] for p in tfs.default_styles())
    assert meta["training_command"].startswith("minigrad train fast-style")
    assert meta["seed"] == 0 and meta["training_seconds"] > 0 and meta["steps"] > 0
    assert set(meta["final_losses"]) == {"content", "style"}
    assert tfs.HELD_OUT not in " ".join(meta["settings"]["content"])


@pytest.mark.parametrize("relative", [False, True], ids=["euclidean", "relative"])
def test_each_style_is_closest_to_its_own_painting(shipped, relative):
    """Nearest in Gram space: one Euclidean scale for all five paintings, and the training's
    relative distance (each painting scaled by its own norm)."""
    net, distances = shipped
    d = np.array([distances(np.eye(len(net.styles))[s], relative=relative) for s in range(len(net.styles))])
    assert list(d.argmin(axis=1)) == list(range(len(net.styles))), np.round(d, 3)


def test_mixing_moves_the_gram_distance_monotonically(shipped):
    net, distances = shipped
    first, second = net.styles.index("starry_night"), net.styles.index("the_scream")
    d = []
    for w in (0.0, 0.25, 0.5, 0.75, 1.0):
        weights = np.zeros(len(net.styles))
        weights[first], weights[second] = w, 1 - w
        d.append(distances(weights)[first])
    assert all(a > b for a, b in zip(d, d[1:])), np.round(d, 4)


def test_method_runs_on_any_classifier_and_records_the_mix(mnist_net):
    image = np.random.default_rng(0).random((30, 44, 3)).astype(np.float32)
    result = get_method("fast-style")(mnist_net)(image, style="0.7:starry-night,0.3:great-wave")
    report = result.metadata["report"]
    assert report["mixing_weights"][net_index("great_wave_off_kanagawa")] == pytest.approx(0.3)
    assert result.arrays["stylized"].shape == (30, 44, 3)
    assert result.metadata["hyperparameters"]["style"] == "0.7:starry-night,0.3:great-wave"


def net_index(name):
    return fast_style.load(SHIPPED).styles.index(name)


def _cli(argv):
    """The exit status of ``minigrad ARGV`` (argparse's parse-time errors exit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("style, words", [
    ("mona_lisa", "not trained with it"),
    ("0.7:starry_night,0.4:the_scream", "must sum to 1"),
    ("-0.5:starry_night,1.5:the_scream", "non-negative"),
])
def test_cli_refuses_bad_styles_in_one_line(tmp_path, capsys, style, words):
    code = _cli(["fast-style", "--image", str(PHOTO), f"--style={style}", "--out", str(tmp_path)])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("minigrad fast-style: error:") and words in last
    assert not list(tmp_path.iterdir())


def test_cli_refuses_a_classifier_file_as_network(tmp_path, capsys):
    code = main(["fast-style", "--image", str(PHOTO), "--network", str(REPO_ROOT / "weights" / "mnist_cnn.h5"),
                 "--out", str(tmp_path)])
    assert code == 2 and "--network" in capsys.readouterr().err


def test_cli_writes_the_picture_and_sidecar(tmp_path):
    code = main(["fast-style", "--image", str(PHOTO), "--style", "0.5:starry_night,0.5:the_scream", "--size", "64",
                 "--out", str(tmp_path)])
    assert code == 0
    (sidecar,) = tmp_path.glob("*.json")
    meta = json.loads(sidecar.read_text())
    assert meta["report"]["size"][0] == 64 and meta["report"]["network"].endswith("fast_style.h5")
