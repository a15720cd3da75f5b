"""The feature store: what it holds, resuming a killed run, and refusing what does not fit."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import models
from minigrad import no_grad
from models.datasets import open_source
from models.features import FeatureFile, extract

LAYERS = ["relu_fc1", "relu1_2", "relu2_2"]


@pytest.fixture(scope="module")
def net():
    return models.build("mnist_cnn", seed=0)


@pytest.fixture(scope="module")
def digits():
    return open_source("mnist").subset(0, 200)


def _extract(net, source, out, **kw):
    return extract(net, source, LAYERS, out, pool=kw.pop("pool", "argmax"), batch_size=kw.pop("batch_size", 64),
                   progress=False, **kw)


def test_file_holds_the_layers_reduced_paths_labels_and_thumbnails(net, digits, tmp_path):
    done = _extract(net, digits, tmp_path / "f.h5")
    assert done.rows == 200 and not done.skipped
    images = np.stack([digits.load(i) for i in range(200)])
    with no_grad():
        outs = {k: v.numpy() for k, v in net.capture(net.preprocess(images), LAYERS).items()}
    with FeatureFile(tmp_path / "f.h5") as f:
        assert f.architecture == "mnist_cnn" and f.layers == LAYERS and f.paths == list(digits.paths)
        assert f.labels.tolist() == list(digits.labels)
        assert f.class_names == [str(d) for d in range(10)]
        np.testing.assert_allclose(f.features("relu_fc1"), outs["relu_fc1"], rtol=1e-5, atol=1e-6)
        deep = outs["relu2_2"]                                      # (200, 32, 14, 14)
        np.testing.assert_allclose(f.features("relu2_2"), deep.max(axis=(2, 3)), rtol=1e-5, atol=1e-6)
        rows, cols = f.positions("relu2_2")[..., 0], f.positions("relu2_2")[..., 1]
        at = deep[np.arange(200)[:, None], np.arange(32)[None], rows, cols]
        np.testing.assert_array_equal(at, deep.max(axis=(2, 3)))
        assert f.layer_info("relu2_2")["output_shape"] == [32, 14, 14]
        # the thumbnails are the digits' own pixels (28 x 28 gray fits in 32 x 32)
        np.testing.assert_array_equal(f.thumbnails()[..., 0], np.round(images * 255).astype(np.uint8))
        np.testing.assert_array_equal(f.thumbnails([5, 2])[0], f.thumbnails()[5])


def test_avg_pool_is_the_mean_over_positions(net, digits, tmp_path):
    part = digits.subset(0, 40)
    _extract(net, part, tmp_path / "avg.h5", pool="avg")
    images = np.stack([part.load(i) for i in range(40)])
    with no_grad():
        deep = net.forward_to(net.preprocess(images), "relu1_2").numpy()
    with FeatureFile(tmp_path / "avg.h5") as f:
        np.testing.assert_allclose(f.features("relu1_2"), deep.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
        with pytest.raises(KeyError, match="--pool argmax"):
            f.positions("relu1_2")


KILLED_RUN = """
import os, signal, sys
import models
from models.datasets import Source, open_source
from models.features import extract

class KilledAt(Source):
    def load(self, i):
        if i == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().load(i)

base = open_source("mnist").subset(0, 200)
source = KilledAt(base.spec, base.paths, base.labels, base.class_names)
extract(models.build("mnist_cnn", seed=0), source, {layers!r}, sys.argv[1], pool="argmax", batch_size=64,
        progress=False)
"""


def test_a_killed_run_resumes_to_the_same_bytes(net, digits, tmp_path):
    clean, resumed = tmp_path / "clean" / "f.h5", tmp_path / "resumed" / "f.h5"
    _extract(net, digits, clean)
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_RUN.format(kill_at=150, layers=LAYERS)))
    run = subprocess.run([sys.executable, str(script), str(resumed)], capture_output=True, text=True)
    assert run.returncode == -9, run.stderr                          # SIGKILL inside the third batch
    parts = sorted(p.name for p in (resumed.parent / ".f.h5.parts").iterdir())
    assert parts == ["manifest.json", "part-0000000000.npz", "part-0000000064.npz"]
    assert not resumed.exists()                                      # nothing under the final name
    done = _extract(net, digits, resumed)
    assert done.resumed_from == 128 and done.rows == 200
    assert resumed.read_bytes() == clean.read_bytes()
    assert not (resumed.parent / ".f.h5.parts").exists()
    again = _extract(net, digits, resumed)                          # finished: nothing to do
    assert again.already_complete and again.rows == 200


def test_a_resume_with_other_arguments_is_refused(net, digits, tmp_path):
    out = tmp_path / "f.h5"
    work = tmp_path / ".f.h5.parts"
    work.mkdir()
    (work / "manifest.json").write_text('{"format": "minigrad-features", "format_version": 1, '
                                        '"architecture": "alexnet", "layers": ["fc7"]}')
    with pytest.raises(ValueError, match=r"cannot resume .* model 'alexnet', not 'mnist_cnn'.*--overwrite"):
        _extract(net, digits, out)
    assert not out.exists()
    (work / "manifest.json").write_text(
        (work / "manifest.json").read_text().replace('"alexnet", "layers": ["fc7"]', '"mnist_cnn"'))
    with pytest.raises(ValueError, match=r"cannot resume .* layers None, not \['relu_fc1'"):
        _extract(net, digits, out)
    done = _extract(net, digits, out, overwrite=True)               # --overwrite starts over
    assert done.rows == 200 and done.resumed_from == 0


def test_unreadable_images_are_skipped_listed_and_counted(net, tmp_path):
    folder = tmp_path / "digits"
    for label in ("3", "8"):
        (folder / label).mkdir(parents=True)
    mnist = open_source("mnist")
    from models.images import save_image
    for i in range(6):
        save_image(folder / str(mnist.labels[i] % 2 * 5 + 3) / f"{i}.png", mnist.load(i))
    (folder / "8" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "README.txt").write_text("not an image: ignored")
    source = open_source(folder)
    assert len(source) == 7 and source.class_names == ("3", "8")
    done = _extract(net, source, tmp_path / "f.h5", batch_size=4)
    assert done.rows == 6 and len(done.skipped) == 1
    assert done.skipped[0][0].endswith("broken.png") and "not a readable image" in done.skipped[0][1]
    with FeatureFile(tmp_path / "f.h5") as f:
        assert len(f) == 6 and f.skipped_paths == [str(folder / "8" / "broken.png")]
        assert sorted(set(f.labels.tolist())) == [0, 1]
        assert all(Path(p).parent.name == f.class_names[label] for p, label in zip(f.paths, f.labels))


def test_text_file_of_paths_with_classes(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    listing = tmp_path / "list.txt"
    listing.write_text("# two images\na.png\tcat\n\n/abs/b.jpg\tdog\nc.png\n")
    source = open_source(listing)
    assert source.paths == (str(tmp_path / "a.png"), "/abs/b.jpg", str(tmp_path / "c.png"))
    assert source.labels == (0, 1, -1) and source.class_names == ("cat", "dog")
