"""Option values and output names at the command line's boundary: every ranged option refuses
values outside its range at parse time, naming the value and the range; every run of one
command writes distinct names or refuses, naming the clash; nothing existing is replaced
unless --overwrite; an unwritable --out is refused before any work."""
from __future__ import annotations

import json

import numpy as np
import pytest

from models.images import save_image
from visualize import cli
from visualize.method import registered
from visualize.params import Float, FloatList, Int, IntList

METHODS = registered()


def _outside_values(param):
    """Values just outside ``param``'s range (and non-numbers), as command-line text."""
    if isinstance(param, (Int, IntList)):
        values = ["x", "1.5"] + ([str(param.lo - 1)] if param.lo is not None else []) + (
            [str(param.hi + 1)] if param.hi is not None else [])
        return values + (["5-2"] if isinstance(param, IntList) else [])
    if isinstance(param, (Float, FloatList)):
        values = ["nan", "inf", "x"] + ([str(param.lo - 1)] if param.lo is not None else []) + (
            [str(param.hi + 1)] if param.hi is not None else [])
        if isinstance(param, FloatList) and param.lengths:
            values.append(",".join(["0.5"] * (max(param.lengths) + 1)))
        return values
    return []


RANGED = [(m, p, v) for m in METHODS for p in m.params for v in _outside_values(p)]


@pytest.mark.parametrize("method,param,value", RANGED,
                         ids=[f"{m.name}{p.flag}={v}" for m, p, v in RANGED])
def test_every_ranged_option_rejects_values_outside_its_range_at_parse_time(method, param, value, capsys):
    # --model names no model: the refusal must come from parsing, before any model is loaded
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args([method.name, "--model", "no-such-model", param.flag, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {param.flag}" in err and repr(value)[1:-1].split(",")[0] in err, err
    if param.range_text():
        assert "expected" in err, err


ISSUE_CASES = [
    (["occlusion", "--batch-size", "0"], "from 1 to"),
    (["occlusion", "--batch-size", "-4"], "from 1 to"),
    (["occlusion", "--fill", "nan"], "not a finite number"),
    (["occlusion", "--fill", "2,3"], "2 values"),
    (["occlusion", "--fill", "5"], "out of range"),
    (["filters", "--filters", "5-2"], "runs backwards"),
    (["filters", "--channels", "0"], "out of range"),
    (["filters", "--channels", "-3"], "out of range"),
    (["filters", "--tile", "0"], "out of range"),
    (["saliency", "--seed", "-1"], "negative"),
]


@pytest.mark.parametrize("argv,words", ISSUE_CASES, ids=[" ".join(a) for a, _ in ISSUE_CASES])
def test_the_option_values_found_by_the_hardening_review(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err and argv[-1] in err, err


def test_the_python_api_checks_values_by_the_same_rules(trained_or_random_mnist, held_out_digits):
    from visualize.methods.occlusion import Occlusion
    from visualize.methods.saliency import Saliency
    image = held_out_digits[0][0]
    with pytest.raises(ValueError, match="--class: True is not valid"):
        Saliency(trained_or_random_mnist)(image, target=True)
    with pytest.raises(ValueError, match="--batch-size: 0 is not valid: out of range"):
        Occlusion(trained_or_random_mnist)(image, batch_size=0)
    with pytest.raises(ValueError, match="--fill"):
        Occlusion(trained_or_random_mnist)(image, fill=(0.5, float("nan"), 0.5))


@pytest.fixture
def digit(held_out_digits):
    return held_out_digits[0][0]


def _pngs(folder):
    return sorted(p.name for p in folder.glob("*.png"))


def test_names_that_differ_only_after_a_dot_in_the_folder_or_outside_ascii_stay_apart(
        mnist_weights_file, digit, tmp_path, capsys):
    inputs = [tmp_path / "in" / "photo.v1.png", tmp_path / "in" / "photo.v2.png", tmp_path / "x" / "same.png",
              tmp_path / "y" / "same.png", tmp_path / "in" / "ziffer-ä.png", tmp_path / "in" / "数字.png"]
    for path in inputs:
        save_image(path, digit)
    out = tmp_path / "out"
    assert cli.main(["saliency", "--model", str(mnist_weights_file), "--image", *map(str, inputs),
                     "--out", str(out)]) == 0
    names = _pngs(out)
    assert len(names) == len(inputs), names
    assert any("photo.v1" in n for n in names) and any("数字" in n for n in names)
    assert any("x_same" in n for n in names) and any("y_same" in n for n in names)


def test_float_options_give_distinct_names(mnist_weights_file, digit, tmp_path, capsys):
    path = tmp_path / "d.png"
    save_image(path, digit)
    for fill in ("0.5", "0.25"):
        assert cli.main(["occlusion", "--model", str(mnist_weights_file), "--image", str(path), "--fill", fill,
                         "--patch", "14", "--stride", "14", "--out", str(tmp_path / "out")]) == 0
    assert len(_pngs(tmp_path / "out")) == 2


def test_a_second_run_refuses_to_replace_unless_told(mnist_weights_file, digit, tmp_path, capsys):
    path = tmp_path / "d.png"
    save_image(path, digit)
    argv = ["saliency", "--model", str(mnist_weights_file), "--image", str(path), "--out", str(tmp_path / "out")]
    assert cli.main(argv) == 0
    written = {p: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    capsys.readouterr()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in (tmp_path / "out").iterdir()} == written
    assert cli.main(argv + ["--overwrite", "--seed", "0"]) == 0


def test_two_layers_into_one_folder_keep_every_result(mnist_weights_file, digit, tmp_path, capsys):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"d{i}.png")
        save_image(paths[-1], digit)
    for layer in ("relu1_1", "relu2_2"):
        assert cli.main(["activations", "--model", str(mnist_weights_file), "--image", *map(str, paths),
                         "--layer", layer, "--out", str(tmp_path / "out")]) == 0
    assert len(_pngs(tmp_path / "out")) == 6


def test_an_unwritable_out_is_refused_before_any_work(mnist_weights_file, digit, tmp_path, capsys):
    path = tmp_path / "d.png"
    save_image(path, digit)
    a_file = tmp_path / "file.txt"
    a_file.write_text("mine")
    for out, words in ((a_file, "is a file"), ("/proc/minigrad-cannot-be-here", "cannot write results")):
        assert cli.main(["saliency", "--model", str(mnist_weights_file), "--image", str(path),
                         "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
    assert a_file.read_text() == "mine"


def test_the_sidecar_records_the_input_and_every_hyperparameter(mnist_weights_file, digit, tmp_path, capsys):
    path = tmp_path / "d.png"
    save_image(path, digit)
    assert cli.main(["occlusion", "--model", str(mnist_weights_file), "--image", str(path), "--patch", "7",
                     "--out", str(tmp_path / "out")]) == 0
    meta = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert meta["input"] == str(path)
    from visualize.methods.occlusion import Occlusion
    assert meta["hyperparameters"]["patch"] == 7
    assert set(meta["hyperparameters"]) == {p.name for p in Occlusion.params}
    assert np.isfinite(meta["seconds"])


@pytest.mark.parametrize("name", ["saliency", "guided-backprop", "occlusion"])
def test_nan_and_out_of_range_images_are_refused_by_every_image_method(name, trained_or_random_mnist, digit):
    from visualize.method import get_method
    method = get_method(name)(trained_or_random_mnist)
    bad = digit.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        method(bad)
    with pytest.raises(ValueError, match="255"):
        method((digit * 255).astype(np.uint8))
