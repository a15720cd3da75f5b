"""Training the fast-style network (visualize/train_fast_style.py) on tiny settings: a run
resumed from a checkpoint has the losses and weights of an uninterrupted one, checkpoints
of other settings are refused, and `minigrad train fast-style` writes the training record."""
import dataclasses

import numpy as np
import pytest

from models import fast_style
from visualize import train_fast_style as tfs
from visualize.cli import main


def tiny_settings(**changes):
    styles = tuple(tfs.default_styles()[:2])
    content = (tfs.default_content()[0], "sklearn:flower.jpg")
    base = tfs.Settings(styles=styles, content=content, size=16, batch=2, steps=4, loss_filters=1, style_size=24,
                        widths=(2, 2, 2), seed=5)
    return dataclasses.replace(base, **changes)


def _params(net):
    return [np.array(p.data) for p in net.parameters()]


def test_resume_continues_with_the_same_losses(tmp_path):
    settings = tiny_settings()
    whole = tfs.train(settings, progress=False)
    checkpoint = tmp_path / "ck.h5"
    first = tfs.train(settings, checkpoint=checkpoint, progress=False, time_limit_s=0)   # stops after step 1
    assert first.stopped_early and first.steps == 1
    resumed = tfs.train(settings, checkpoint=checkpoint, resume=True, progress=False)
    assert resumed.steps == 4
    assert resumed.losses == whole.losses
    for a, b in zip(_params(resumed.net), _params(whole.net)):
        np.testing.assert_array_equal(a, b)
    # the losses are real: the style loss differs between the styles' steps and is positive
    assert all(v > 0 for v in whole.losses["style"]) and len(set(whole.losses["style"])) == 4


def test_resume_refuses_other_settings_and_missing_checkpoints(tmp_path):
    checkpoint = tmp_path / "ck.h5"
    tfs.train(tiny_settings(steps=1), checkpoint=checkpoint, progress=False)
    with pytest.raises(ValueError, match="same options"):
        tfs.train(tiny_settings(steps=1, seed=6), checkpoint=checkpoint, resume=True, progress=False)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        tfs.train(tiny_settings(), checkpoint=tmp_path / "none.h5", resume=True, progress=False)


def test_crops_are_seeded_by_step():
    images = [np.random.default_rng(0).random((40, 60, 3)).astype(np.float32)]
    s = tiny_settings()
    a, sa = tfs.batch_for_step(images, s, 3)
    b, _ = tfs.batch_for_step(images, s, 3)
    c, sc = tfs.batch_for_step(images, s, 4)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 3, 16, 16) and not np.array_equal(a, c)
    assert list(sa) == [0, 1] and list(sc) == [0, 1]      # every style at every step (batch = styles)


def test_train_command_writes_the_record(tmp_path, capsys):
    out = tmp_path / "f.h5"
    styles = tfs.default_styles()[:2]
    code = main(["train", "fast-style", "--out", str(out), "--styles", *styles, "--content", "sklearn",
                 "--size", "16", "--batch", "2", "--steps", "2", "--seed", "4", "--no-progress"])
    assert code == 0 and "wrote" in capsys.readouterr().out
    net = fast_style.load(out)
    meta = net.metadata
    assert net.styles == ("composition_vii", "great_wave_off_kanagawa")
    assert meta["seed"] == 4 and meta["steps"] == 2 and meta["training_seconds"] > 0
    assert meta["training_command"].startswith("minigrad train fast-style") and "--steps 2" in meta["training_command"]
    assert set(meta["final_losses"]) == {"content", "style"}


def test_train_command_errors_are_one_line(tmp_path, capsys):
    code = main(["train", "fast-style", "--out", str(tmp_path / "f.h5"), "--size", "10", "--no-progress"])
    assert code == 2 and "multiple of 4" in capsys.readouterr().err
