"""The method sub-commands: --help, a run of each, and the one-line errors for user mistakes."""
from __future__ import annotations

import json

import numpy as np

import pytest

from models.images import save_image
from visualize import cli
from visualize.method import registered

METHODS = registered()


@pytest.fixture(scope="module")
def digit_file(tmp_path_factory, held_out_digits):
    path = tmp_path_factory.mktemp("inputs") / "seven.png"
    save_image(path, held_out_digits[0][0])
    return path


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
def test_help_has_an_example_and_the_paper(method, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([method.name, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text and f"minigrad {method.name}" in text and method.url in text
    assert "--model" in text and "--seed" in text and "--out" in text


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
def test_run_writes_picture_and_sidecar(method, mnist_weights_file, digit_file, tmp_path, capsys):
    from visualize.input_kinds import ContentStyle, Dataset, Image
    argv = [method.name, "--model", str(mnist_weights_file), "--out", str(tmp_path)]
    kind = method.inputs
    if isinstance(kind, Image):
        argv += ["--image", str(digit_file)]
    elif isinstance(kind, ContentStyle):
        argv += (["--content", str(digit_file)] if kind.content else []) + ["--style", str(digit_file)]
    elif isinstance(kind, Dataset):
        argv += ["--data", "mnist"]
    for name, value in method.smoke.items():
        param = next(p for p in method.params if p.name == name)
        if isinstance(value, bool):
            argv += [param.flag] if value else []
        else:
            argv += [param.flag, ",".join(map(str, value)) if isinstance(value, tuple) else str(value)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == 1 and str(pngs[0]) in out
    meta = json.loads(pngs[0].with_suffix(".json").read_text())
    assert meta["method"] == method.name and meta["model"]["weights_path"] == str(mnist_weights_file)


def test_a_folder_of_images_gives_one_result_each(mnist_weights_file, held_out_digits, tmp_path, capsys):
    folder = tmp_path / "digits"
    for i in range(3):
        save_image(folder / f"d{i}.png", held_out_digits[0][i])
    (folder / "notes.txt").write_text("not an image, and skipped: wrong suffix")
    assert cli.main(["saliency", "--model", str(mnist_weights_file), "--image", str(folder),
                     "--class", "3", "--out", str(tmp_path / "out")]) == 0
    pngs = sorted((tmp_path / "out").glob("*.png"))
    assert [p.name for p in pngs] == [f"saliency_mnist_random_class-3_d{i}.png" for i in range(3)]
    assert json.loads(pngs[0].with_suffix(".json").read_text())["report"]["target"]["index"] == 3


def _error(capsys, argv):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_missing_image_file(capsys, mnist_weights_file, tmp_path):
    err = _error(capsys, ["saliency", "--model", str(mnist_weights_file), "--image", str(tmp_path / "nope.png")])
    assert "nope.png" in err and "no such file" in err


def test_non_image_file(capsys, mnist_weights_file, tmp_path):
    bad = tmp_path / "fake.png"
    bad.write_text("this is text, not a PNG")
    err = _error(capsys, ["occlusion", "--model", str(mnist_weights_file), "--image", str(bad)])
    assert "fake.png" in err and "not a readable image" in err


def test_unknown_layer_lists_close_names(capsys, mnist_weights_file, digit_file):
    err = _error(capsys, ["activations", "--model", str(mnist_weights_file), "--image", str(digit_file),
                          "--layer", "conv2_3"])
    assert "unknown layer 'conv2_3'" in err and "conv2_2" in err


def test_unknown_class_lists_valid_names(capsys, mnist_weights_file, digit_file):
    err = _error(capsys, ["saliency", "--model", str(mnist_weights_file), "--image", str(digit_file),
                          "--class", "seven"])
    assert "unknown class 'seven'" in err and "valid: 0, 1, 2" in err
    err = _error(capsys, ["saliency", "--model", str(mnist_weights_file), "--image", str(digit_file),
                          "--class", "12"])
    assert "out of range" in err


def test_unknown_model(capsys, digit_file):
    err = _error(capsys, ["saliency", "--model", "resnet9000", "--image", str(digit_file)])
    assert "resnet9000" in err and "mnist_cnn" in err


def test_closest_imagenet_class_names():
    from visualize.inputs import resolve_class
    from models.registry import skeleton
    net = skeleton("alexnet")
    assert net.class_names[resolve_class(net, "Tabby")] == "tabby"
    with pytest.raises(KeyError, match="closest: 'tabby'"):
        resolve_class(net, "tabbby")


def test_filters_on_a_non_convolution_layer_is_a_user_error(capsys, mnist_weights_file):
    err = _error(capsys, ["filters", "--model", str(mnist_weights_file), "--layer", "relu1_1"])
    assert "not a convolution" in err and "conv1_1" in err


def test_guided_backprop_unit_without_layer(capsys, mnist_weights_file, digit_file):
    err = _error(capsys, ["guided-backprop", "--model", str(mnist_weights_file), "--image", str(digit_file),
                          "--unit", "3"])
    assert "--layer" in err
    err = _error(capsys, ["guided-backprop", "--model", str(mnist_weights_file), "--image", str(digit_file),
                          "--unit", "99", "--layer", "conv2_2"])
    assert "channel 99 is out of range" in err


def test_class_methods_refuse_a_headless_network(tmp_path):
    """vgg16_features has no classifier: class-score methods say so instead of failing in NumPy."""
    import models
    from visualize.methods.occlusion import Occlusion
    from visualize.methods.saliency import Saliency

    net = models.build("vgg16_features", seed=0)
    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    for method in (Saliency, Occlusion):
        with pytest.raises(ValueError, match="has no classifier"):
            method(net)(image)
