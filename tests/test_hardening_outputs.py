"""Outputs (issue 10, items 6 and 7).

6. Unwritable destinations of the non-method commands fail before any work, in one line:
   ``train mnist --out`` in a read-only place (before: minutes of training, then the weights
   lost), a folder given as the output file, a read-only or file ``MINIGRAD_HOME`` for
   ``weights fetch``, a folder as ``weights convert`` target.
7. A result's files are recognisably of one run (the sidecar records the SHA-256 of the PNG and
   NPZ; ``Result.load`` refuses a mixed set) and stale temporaries of our own naming are
   removed by the next write into the folder, never anything else.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from models import atomic
from visualize.cli import main as cli_main
from visualize.result import Result, ResultMismatchError


def _cannot_write_in(folder: Path) -> bool:
    try:
        fd, tmp = tempfile.mkstemp(dir=folder)
    except OSError:
        return True
    os.close(fd)
    os.remove(tmp)
    return False


@pytest.fixture()
def read_only_dir(tmp_path):
    """A folder nobody here can write in: a chmod 0o555 folder (not for root, who writes
    anyway), else /sys (read-only for root too in containers)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if _cannot_write_in(folder):
        yield folder
    elif Path("/sys").is_dir() and _cannot_write_in(Path("/sys")):
        yield Path("/sys")
    else:
        pytest.skip("no read-only folder available here")
    folder.chmod(0o755)


def _no_training(monkeypatch):
    from models import training

    def refuse(*args, **kwargs):
        raise AssertionError("training started although --out cannot be written")
    monkeypatch.setattr(training, "train_mnist", refuse)


def _one_line_error(capsys, command):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"minigrad {command}: error: "), err
    return err[0]


# ---------------------------------------------------------------------- item 6
def test_train_out_in_a_read_only_folder_fails_before_training(read_only_dir, monkeypatch, capsys):
    _no_training(monkeypatch)
    assert cli_main(["train", "mnist", "--out", str(read_only_dir / "m.h5"), "--epochs", "1", "--no-progress"]) == 2
    assert "cannot write" in _one_line_error(capsys, "train")


def test_train_out_that_is_a_folder_fails_before_training(tmp_path, monkeypatch, capsys):
    _no_training(monkeypatch)
    assert cli_main(["train", "mnist", "--out", str(tmp_path), "--epochs", "1", "--no-progress"]) == 2
    assert "is a folder" in _one_line_error(capsys, "train")


def test_train_out_under_a_file_fails_before_training(tmp_path, monkeypatch, capsys):
    _no_training(monkeypatch)
    (tmp_path / "plain").write_text("x")
    assert cli_main(["train", "mnist", "--out", str(tmp_path / "plain" / "m.h5"), "--no-progress"]) == 2
    assert "not a folder" in _one_line_error(capsys, "train")


@pytest.mark.parametrize("home_kind", ["read-only", "file"])
def test_fetch_into_an_unwritable_home_fails_before_downloading(home_kind, read_only_dir, tmp_path, monkeypatch,
                                                               capsys):
    from models import fetch

    def no_network(*args, **kwargs):
        raise AssertionError("a download started although MINIGRAD_HOME cannot be written")
    monkeypatch.setattr(fetch, "_open", no_network)
    home = read_only_dir / "cache" if home_kind == "read-only" else tmp_path / "afile"
    if home_kind == "file":
        home.write_text("x")
    monkeypatch.setenv("MINIGRAD_HOME", str(home))
    assert cli_main(["weights", "fetch", "vgg16", "--quiet"]) == 2
    line = _one_line_error(capsys, "weights")
    assert "MINIGRAD_HOME" in line and str(home) in line


def test_convert_into_a_folder_fails_before_reading(tmp_path, capsys):
    target = tmp_path / "existing"
    target.mkdir()
    assert cli_main(["weights", "convert", str(tmp_path / "missing.pth"), str(target), "--arch", "mnist_cnn",
                     "--force"]) == 2
    assert "is a folder" in _one_line_error(capsys, "weights")


def test_check_writable_accepts_new_files_and_folders(tmp_path):
    atomic.check_writable(tmp_path / "new.h5")
    atomic.check_writable(tmp_path / "a" / "b" / "new.h5")
    assert list(tmp_path.iterdir()) == []          # the check leaves nothing behind


# ---------------------------------------------------------------------- item 7
def _result(value, arrays=True):
    picture = np.full((6, 8, 3), value, np.uint8)
    return Result(picture=picture, arrays={"map": np.full((6, 8), value / 255, np.float32)} if arrays else {},
                  metadata={"method": "test", "value": value})


def test_sidecar_records_the_sha256_of_png_and_npz(tmp_path):
    import hashlib
    import json
    paths = _result(10).save(tmp_path / "r", arrays=True)
    sidecar = json.loads((tmp_path / "r.json").read_text())
    assert sidecar["files_sha256"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                                       for p in paths if p.suffix != ".json"}
    back = Result.load(tmp_path / "r.png")
    assert back.metadata == {"method": "test", "value": 10}
    np.testing.assert_array_equal(back.picture, _result(10).picture)


@pytest.mark.parametrize("swapped", [".png", ".npz"])
def test_load_refuses_a_mixed_set(tmp_path, swapped):
    """The new PNG (or NPZ) of one run beside the JSON of another: what a kill -9 between the
    renames leaves."""
    _result(10).save(tmp_path / "a" / "r", arrays=True)
    _result(200).save(tmp_path / "b" / "r", arrays=True)
    (tmp_path / "a" / f"r{swapped}").write_bytes((tmp_path / "b" / f"r{swapped}").read_bytes())
    with pytest.raises(ResultMismatchError, match=rf"r\{swapped}' is not the one its sidecar records"):
        Result.load(tmp_path / "a" / "r.png")


def test_load_refuses_a_missing_recorded_npz(tmp_path):
    _result(10).save(tmp_path / "r", arrays=True)
    (tmp_path / "r.npz").unlink()
    with pytest.raises(ResultMismatchError, match="is missing"):
        Result.load(tmp_path / "r.png")


def test_an_npz_of_another_run_is_not_read(tmp_path):
    _result(10).save(tmp_path / "old" / "r", arrays=True)
    _result(20, arrays=False).save(tmp_path / "r")
    (tmp_path / "r.npz").write_bytes((tmp_path / "old" / "r.npz").read_bytes())
    assert Result.load(tmp_path / "r.png").arrays == {}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_our_naming_are_removed_by_the_next_write(tmp_path):
    old = time.time() - 3600
    stale = tmp_path / f".r.png.{_dead_pid()}.abcd1234.part"
    live_other = tmp_path / f".r.png.{os.getppid()}.abcd1234.part"       # a running process (pytest's parent)
    strangers = [tmp_path / ".r.png.part", tmp_path / "notes.part", tmp_path / ".r.png.12.abc.part",
                 tmp_path / "r.png.123.abcd1234.part"]
    for f in [stale, live_other, *strangers]:
        f.write_bytes(b"x")
        os.utime(f, (old, old))
    recent = tmp_path / f".r.png.{_dead_pid()}.efgh5678.part"
    recent.write_bytes(b"x")                                          # modified during this run: kept
    _result(1).save(tmp_path / "r")
    left = {p.name for p in tmp_path.iterdir()}
    assert stale.name not in left
    assert {live_other.name, recent.name, *(s.name for s in strangers)} <= left


_WRITER = """
import sys, numpy as np
from visualize.result import Result
out = sys.argv[1]
big = np.random.default_rng(0).random((400, 400), dtype=np.float32)
for i in range(10**6):
    v = i % 2
    Result(picture=np.full((300, 300, 3), 50 + 100 * v, np.uint8), arrays={"map": big + v},
           metadata={"method": "test", "value": v}).save(out, arrays=True, overwrite=True)
    print(i, flush=True)
"""


def test_kill_9_during_writes_leaves_a_loadable_or_refused_set_and_no_temporaries(tmp_path):
    out = tmp_path / "r"
    for delay in (0.0, 0.05, 0.13):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(out)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline()             # at least one complete write
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            result = Result.load(out.with_suffix(".png"))
        except ResultMismatchError:
            pass
        else:                                     # a loadable set is one run's: picture, arrays and metadata agree
            v = result.metadata["value"]
            assert (result.picture == 50 + 100 * v).all() and float(result.arrays["map"].min()) >= v
    time.sleep(0.01)
    atomic._RUN_STARTED = time.time()             # the next run starts after the killed ones
    _result(3).save(tmp_path / "other")
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]
