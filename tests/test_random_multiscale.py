"""The random multi-scale texture network (Ustyuzhaninov et al. 2016)."""
from pathlib import Path

import numpy as np
import pytest

import backends
import minigrad.functional as F
import models
from models import images
from models.random_multiscale import MultiScaleConv, build_random_multiscale
from models.registry import Float32Uniform
from minigrad.tensor import Tensor

TEXTURES = Path(images.__file__).resolve().parent / "data" / "textures"


def _input(net, img):
    """(N, H, W, 3) images in [0, 1] -> normalized input at their own size (preprocess resizes
    single images to 256 x 256 and wants batches at that size)."""
    p = net.preprocessing
    x = (img - np.asarray(p.mean, np.float32)) / np.asarray(p.std, np.float32)
    return Tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32), backend=backends.current())


def _weights(net):
    return {k: Tensor(v).numpy() for k, v in net.state_dict().items()}


def test_deterministic_from_seed_and_filters_normalized():
    a, b, c = (build_random_multiscale(Float32Uniform(s)) for s in (0, 0, 1))
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert all(wa[k].tobytes() == wb[k].tobytes() for k in wa)
    assert any(wa[k].tobytes() != wc[k].tobytes() for k in wa)
    for w in wa.values():
        flat = w.reshape(w.shape[0], -1)
        np.testing.assert_allclose(flat.mean(axis=1), 0, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(flat, axis=1), 1, rtol=1e-5)
    loaded = models.load("random_multiscale")
    assert loaded.weights_path is None
    assert all(w.tobytes() == wa[k].tobytes() for k, w in _weights(loaded).items())


def test_output_shapes_and_layers():
    net = build_random_multiscale(Float32Uniform(0), sizes=(3, 7, 15), filters_per_scale=4)
    assert net.layer_names()[:2] == ["conv1", "relu1"]
    x = _input(net, np.random.default_rng(0).random((1, 20, 24, 3), dtype=np.float32))
    feats = net.capture(x, ["conv1", "relu1"])
    assert feats["conv1"].shape == (1, 12, 20, 24) and feats["relu1"].shape == (1, 12, 20, 24)
    assert feats["relu1"].dtype == np.float32
    assert net.preprocess(np.zeros((40, 50, 3), np.float32)).shape == (1, 3, 256, 256)
    assert (feats["relu1"].numpy() >= 0).all() and (feats["conv1"].numpy() < 0).any()
    assert all(not p.requires_grad for p in net.parameters())
    default = build_random_multiscale(Float32Uniform(0))
    assert default.forward_to(_input(default, np.zeros((1, 16, 16, 3), np.float32)), "relu1").shape == (1, 256, 16, 16)


def test_even_sizes_rejected():
    with pytest.raises(ValueError, match="odd"):
        MultiScaleConv(sizes=(3, 4))


def test_gram_features_tell_textures_apart():
    net = build_random_multiscale(Float32Uniform(0), sizes=(3, 7, 15, 23), filters_per_scale=16)

    def gram(path, top, left):
        img = images.resize(images.load_image(path), (256, 256))[top:top + 64, left:left + 64]
        return F.gram_matrix(net.forward_to(_input(net, img[None]), "relu1")).numpy()[0]

    bricks = TEXTURES / "bricks_Bricks059.jpg"
    grass = TEXTURES / "grass_Grass001.jpg"
    b1, b2, g1 = gram(bricks, 0, 0), gram(bricks, 150, 120), gram(grass, 0, 0)
    same = np.linalg.norm(b1 - b2)
    different = np.linalg.norm(b1 - g1)
    assert different > 3 * same, (same, different)


def test_gradient_flows_to_the_image():
    net = build_random_multiscale(Float32Uniform(0), sizes=(3, 11), filters_per_scale=4)
    x = Tensor(np.random.default_rng(1).random((1, 3, 16, 16), dtype=np.float32), requires_grad=True,
               backend=backends.current())
    F.sum(F.gram_matrix(net.forward_to(x, "relu1"))).backward()
    assert x.grad.shape == (1, 3, 16, 16) and np.abs(x.backend.to_numpy(x.grad)).max() > 0
