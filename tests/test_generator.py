"""The DGN-AM generator: its architecture, the file's encoder attributes and their checks,
reproducible training with checkpoints and resume, and the shipped weights' quality.

Training runs here are tiny (a few steps on a few dozen digits); the shipped file's
reconstruction accuracy is re-measured in the slow test."""
from __future__ import annotations

import json
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

import models
from minigrad.tensor import Tensor
from models import generator as gen
from models import hdf5_weights, mnist
from models import train_generator as tg

SHIPPED = models.weights_path("mnist_generator")
needs_shipped = pytest.mark.skipif(not SHIPPED.exists(), reason="weights/mnist_generator.h5 not trained yet")
TINY = tg.Settings(seed=5, epochs=2, batch_size=8)
ALEXNET = SimpleNamespace(architecture="alexnet")    # only its name is read before the refusal


@pytest.fixture(scope="module")
def classifier():
    path = models.weights_path("mnist_cnn")
    return models.load("mnist_cnn") if path.exists() else models.build("mnist_cnn", seed=0)


def _tiny_run(classifier, **kwargs):
    return tg.train_generator(TINY, classifier=classifier, max_images=16, progress=False,
                              evaluate_held_out=False, **kwargs)


def _save(result, classifier, path):
    meta = tg.weights_metadata(result, classifier, command="test")
    hdf5_weights.save_weights(path, result.net.state_dict(), architecture="mnist_generator", meta=meta)
    return path


def _contents(path):
    """{name: bytes} of every dataset and attribute but the wall-clock duration."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: out.__setitem__(name, item[()].tobytes())
                     if isinstance(item, h5py.Dataset) else None)
        out.update({f"@{k}": np.asarray(v).tobytes() for k, v in f.attrs.items() if k != "training_duration_s"})
    return out


def test_generator_maps_a_code_to_a_digit_sized_image():
    net = gen.build_mnist_generator(np.random.default_rng(0))
    out = net(Tensor(np.random.default_rng(1).normal(size=(3, 256)).astype(np.float32)))
    assert out.shape == (3, 1, 28, 28)
    assert float(out.data.min()) > 0 and float(out.data.max()) < 1          # sigmoid: inside (0, 1)
    assert net.num_parameters() * 4 < 10e6                                   # float32 file under 10 MB
    disc = gen.build_discriminator(np.random.default_rng(0))
    assert disc(out).shape == (3, 1)


def test_same_seed_same_bytes_and_resume_equals_uninterrupted(classifier, tmp_path):
    first = _tiny_run(classifier)
    again = _tiny_run(classifier)
    assert first.steps == again.steps == 4 and all(np.isfinite(v).all() for v in first.losses.values())
    a, b = _save(first, classifier, tmp_path / "a.h5"), _save(again, classifier, tmp_path / "b.h5")
    assert _contents(a) == _contents(b)
    other = tg.train_generator(tg.Settings(seed=6, epochs=2, batch_size=8), classifier=classifier, max_images=16,
                               progress=False, evaluate_held_out=False)
    assert _contents(_save(other, classifier, tmp_path / "c.h5")) != _contents(a)    # the seed matters
    # Interrupted after the first epoch (its checkpoint is written), then resumed.
    ckpt = tmp_path / "run.ckpt"
    part = _tiny_run(classifier, checkpoint=ckpt, max_steps=2)
    assert part.steps == 2 and ckpt.exists()
    resumed = _tiny_run(classifier, checkpoint=ckpt, resume=True)
    assert resumed.steps == 4 and resumed.losses == first.losses
    assert _contents(_save(resumed, classifier, tmp_path / "d.h5")) == _contents(a)


def test_resume_refuses_other_settings_and_missing_checkpoint(classifier, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    _tiny_run(classifier, checkpoint=ckpt, max_steps=2)
    with pytest.raises(ValueError, match="settings"):
        tg.train_generator(tg.Settings(seed=9, epochs=2, batch_size=8), classifier=classifier, max_images=16,
                           checkpoint=ckpt, resume=True, progress=False, evaluate_held_out=False)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        _tiny_run(classifier, checkpoint=tmp_path / "none.ckpt", resume=True)


def test_generator_file_checks_codes_and_encoders(classifier, tmp_path):
    path = _save(_tiny_run(classifier, max_steps=1), classifier, tmp_path / "g.h5")
    g = gen.Generator.load(path)
    assert g.code_size == 256 and g.encoder_architecture == "mnist_cnn" and g.code_layer == "fc1"
    assert (g.code_min <= g.code_mean).all() and (g.code_mean <= g.code_max).all()
    assert g.decode(np.zeros(256)).shape == (1, 28, 28, 1)
    with pytest.raises(ValueError, match="has 256 values .*fc1.*shape \\(1, 100\\)"):
        g.decode(np.zeros(100))
    with pytest.raises(ValueError, match="finite"):
        g.decode(np.full(256, np.nan))
    with pytest.raises(ValueError, match="inverts mnist_cnn's fc1 codes, but the classifier is alexnet"):
        g.encode(ALEXNET, np.zeros((1, 28, 28), np.float32))
    codes = g.encode(classifier, mnist.load_mnist_test()[0][:4].astype(np.float32) / 255)
    assert codes.shape == (4, 256)
    classifier_file = tmp_path / "cnn.h5"
    models.save(classifier, classifier_file)
    with pytest.raises(ValueError, match="classifier's weights file \\(mnist_cnn\\), not a generator"):
        gen.Generator.load(classifier_file)
    with pytest.raises(ValueError, match="train_generator: the generator inverts mnist_cnn's fc1, got a alexnet"):
        tg.train_generator(TINY, classifier=ALEXNET, progress=False)


@needs_shipped
def test_shipped_generator_records_how_it_was_made():
    assert SHIPPED.stat().st_size < 10e6
    g = gen.Generator.load("mnist_generator")
    meta = g.net.metadata
    assert meta["training_command"].startswith("minigrad train generator")
    assert meta["training_seed"] == 0 and meta["training_duration_s"] > 0
    assert set(json.loads(meta["final_losses"])) == {"d", "img", "feat", "adv"}
    assert meta["reconstruction_accuracy"] >= 0.95
    assert g.encoder_weights_sha256 == models.load("mnist_cnn").weights_sha256


@needs_shipped
@pytest.mark.slow
def test_shipped_generator_reconstructs_held_out_digits():
    """G(E(x)) of 1,000 held-out digits is classified as the digit's label at least 95% of the time."""
    cnn = models.load("mnist_cnn")
    g = gen.Generator.load("mnist_generator")
    _, (held_x, held_y) = mnist.split(*mnist.load_mnist_test())
    accuracy, agreement = tg.reconstruction_accuracy(g.net, cnn, held_x[:1000], held_y[:1000])
    assert accuracy >= 0.95 and agreement >= 0.95
    assert accuracy == pytest.approx(g.net.metadata["reconstruction_accuracy"], abs=1e-9)
