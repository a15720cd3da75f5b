"""models.atomic: every file the project writes appears complete under its final name, with the
mode an ordinary open() gives (0o666 & ~umask, not mkstemp's 0o600), or not at all."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import models
from models.atomic import atomic_path, default_file_mode, write_files_atomically
from models.images import save_image
from visualize.result import Result


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield 0o644
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_default_file_mode_follows_the_umask(umask_022, tmp_path):
    assert default_file_mode() == 0o644
    os.umask(0o027)
    assert default_file_mode() == 0o640
    with atomic_path(tmp_path / "a.txt") as tmp:
        with open(tmp, "w") as f:
            f.write("x")
    assert _mode(tmp_path / "a.txt") == 0o640


def test_every_writer_gives_the_normal_mode(umask_022, tmp_path):
    weights = models.save(models.build("mnist_cnn", seed=0), tmp_path / "w.h5")
    image = save_image(tmp_path / "img.png", np.zeros((4, 5, 3), np.float32))
    written = Result(picture=np.zeros((4, 5, 3), np.uint8), metadata={"a": 1}).save(tmp_path / "r.png")
    for path in [weights, image, *written]:
        assert _mode(path) == umask_022, path
    assert sorted(os.listdir(tmp_path)) == ["img.png", "r.json", "r.png", "w.h5"]


def test_failure_keeps_the_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["keep.txt"]


def test_several_files_are_renamed_only_when_all_are_written(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "sub" / "b.bin"
    a.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_files_atomically({a: b"new", b: "not bytes"})
    assert a.read_bytes() == b"old" and os.listdir(tmp_path / "sub") == [] and os.listdir(tmp_path) != []
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "sub"]
    write_files_atomically({a: b"new", b: b"b"})
    assert a.read_bytes() == b"new" and b.read_bytes() == b"b"
