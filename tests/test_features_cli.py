"""``minigrad features`` and ``minigrad layers`` on the command line: bad inputs are one clear
line (exit status 2) and leave nothing under the output's name."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

import models
from models.images import save_image
from models.datasets import open_source
from visualize import cli

DIGITS = 40


def _run(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    mnist = open_source("mnist")
    for i in range(DIGITS):
        save_image(folder / mnist.class_names[mnist.labels[i]] / f"{i:03d}.png", mnist.load(i))
    return folder


def _features(data, out, *extra):
    return ["features", "--model", "mnist_cnn", "--data", str(data), "--layer", "relu_fc1", "--out", str(out),
            "--quiet", *extra]


def test_a_folder_run_writes_the_file_and_says_so(digit_folder, tmp_path, capsys):
    code, out, _ = _run(_features(digit_folder, tmp_path / "f.h5"), capsys)
    assert code == 0 and f"{DIGITS} images" in out and "images/s" in out
    code, out, _ = _run(_features(digit_folder, tmp_path / "f.h5"), capsys)
    assert code == 0 and "already complete" in out


def test_an_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _run(_features(tmp_path / "empty", tmp_path / "f.h5"), capsys)
    assert code == 2 and "holds no image files" in err and "empty" in err
    assert sorted(os.listdir(tmp_path)) == ["empty"]


def test_a_folder_with_only_a_corrupt_image_and_a_text_file(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (folder / "notes.txt").write_text("a text file is not an image")
    code, _, err = _run(_features(folder, tmp_path / "f.h5"), capsys)
    assert code == 2 and "none of the 1 images" in err and "photo.jpg" in err and "not a readable image" in err
    assert sorted(os.listdir(tmp_path)) == ["bad"]                  # no output, no parts folder


def test_a_layer_that_does_not_exist(digit_folder, tmp_path, capsys):
    code, _, err = _run(["features", "--model", "mnist_cnn", "--data", str(digit_folder), "--layer", "relu_fc9",
                         "--out", str(tmp_path / "f.h5"), "--quiet"], capsys)
    assert code == 2 and "unknown layer 'relu_fc9'" in err and "relu_fc1" in err
    assert os.listdir(tmp_path) == []


def test_an_output_file_of_another_model(digit_folder, tmp_path, capsys):
    other = tmp_path / "random.h5"
    models.save(models.build("mnist_cnn", seed=1), other)
    out = tmp_path / "f.h5"
    assert _run(_features(digit_folder, out), capsys)[0] == 0
    before = out.read_bytes()
    code, _, err = _run(["features", "--model", str(other), "--data", str(digit_folder),
                         "--layer", "relu_fc1", "--out", str(out), "--quiet"], capsys)
    assert code == 2 and "already holds the features of another run" in err and "weights (SHA-256)" in err
    assert "--overwrite" in err and out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["f.h5", "random.h5"]


def _as_unprivileged_user(argv, stderr_path):
    """``cli.main(argv)`` in a forked child that gives up root (uid/gid 65534) first: root may
    write into any folder, so a read-only folder is only read-only to another user. Every
    module the command needs is imported before the fork (the child may not read root's
    Python installation). Returns the exit status."""
    from PIL import Image
    Image.registered_extensions()
    pid = os.fork()
    if pid == 0:                                                     # the child
        try:
            sys.stderr = open(stderr_path, "w")
            os.setgid(65534)
            os.setuid(65534)
            code = cli.main(argv)
            sys.stderr.flush()
        except BaseException:
            code = 99
        os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_read_only_output_folder(digit_folder, capsys):
    base = Path(tempfile.mkdtemp(prefix="minigrad-readonly-"))
    try:
        data = base / "digits"
        shutil.copytree(digit_folder, data)
        folder = base / "locked"
        folder.mkdir()
        for path in [base, *base.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        folder.chmod(0o555)
        argv = _features(data, folder / "f.h5")
        if os.geteuid() == 0:
            closed = [str(p) for p in Path(__file__).resolve().parents if not p.stat().st_mode & 0o001]
            if closed:   # the unprivileged child could not even import the project from here
                pytest.skip(f"running as root in a checkout under {closed[0]} (not searchable by others): "
                            "cannot drop to an unprivileged user to test a read-only folder")
            log = base / "stderr.txt"
            log.touch()
            log.chmod(0o666)
            code, err = _as_unprivileged_user(argv, log), log.read_text()
        else:
            code, _, err = _run(argv, capsys)
        assert code == 2, err
        assert "cannot write" in err and "locked" in err and "Permission denied" in err
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)
        shutil.rmtree(base)


def test_layers_table(capsys):
    code, out, _ = _run(["layers", "--model", "vgg16"], capsys)
    assert code == 0 and "138,357,544 parameters" in out
    pool5 = next(line for line in out.splitlines() if line.startswith("pool5 "))
    assert "512x7x7" in pool5 and "size 212, jump 32, start -90" in pool5
    code, out, _ = _run(["layers", "--model", "mnist_cnn"], capsys)
    assert "relu2_2   features.8    ReLU       32x14x14              size 14, jump 2, start -6" in out
