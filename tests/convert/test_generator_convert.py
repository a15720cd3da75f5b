"""The DGN-AM generator converter on a small network written in the published generator's
Caffe format (same layer names, types and blob layouts, small widths): blobs land in the
right layers, the output matches the network the blobs came from, and wrong files are refused
naming the layer."""
from __future__ import annotations

import functools

import numpy as np
import pytest
from convert_test_helpers import blob, caffe_layer, field

import models
from minigrad.tensor import Tensor
from models import registry
from models.convert.caffe_generator import convert_caffe_generator
from models.convert.errors import ConversionError
from models.generator import Generator, build_caffe_fc6_generator

TINY = "tiny_fc6_generator"
WIDTHS = {"fc": (12, 12, 32), "start": 2,
          "stages": (("deconv5", 4), ("conv5_1", 5), ("deconv4", 4), ("conv4_1", 4), ("deconv3", 3), ("conv3_1", 3),
                     ("deconv2", 3), ("deconv1", 2), ("deconv0", 3))}
CODE = 8


@pytest.fixture
def tiny_architecture():
    """A registered architecture of the generator's form with small widths, removed afterwards."""
    build = functools.partial(build_caffe_fc6_generator, widths=WIDTHS, code_size=CODE, architecture=TINY)
    registry.register(registry.ArchitectureSpec(TINY, build, "test: the fc6 generator's form, small", weights=None))
    registry.skeleton.cache_clear()
    yield build
    del registry._SPECS[TINY]
    registry.skeleton.cache_clear()


def write_generator_caffemodel(path, layers):
    """A caffemodel (current LayerParameter encoding) with one layer per (name, type, blobs)."""
    path.write_bytes(field(1, 2, b"generator") + b"".join(
        caffe_layer(name, kind, [blob(b, legacy=False) for b in blobs], legacy=False) for name, kind, blobs in layers))
    return path


def _caffe_layers(net):
    """(Caffe name, type, [weight, bias]) of every layer with weights, as Caffe stores them."""
    alias_of = {path: alias for alias, path in net.aliases.items()}
    state = net.state_dict()
    out = []
    for key in state:
        path, _, kind = key.rpartition(".")
        if kind == "weight":
            name = alias_of[path]
            caffe_type = "InnerProduct" if name.startswith("defc") else \
                "Deconvolution" if name.startswith("deconv") else "Convolution"
            out.append((name, caffe_type, [np.asarray(state[key]), np.asarray(state[f"{path}.bias"])]))
    return out


def test_converted_generator_equals_the_network_it_was_written_from(tiny_architecture, tmp_path):
    net = tiny_architecture(registry.Float32Uniform(3))
    src = write_generator_caffemodel(tmp_path / "generator.caffemodel", [("data", "Input", [])] + _caffe_layers(net)
                           + [("relu_defc7", "ReLU", [])])
    bounds = tmp_path / "fc6.txt"
    bounds.write_text("\n".join(str(v) for v in np.linspace(1, 8, CODE)) + "\n")
    out = convert_caffe_generator(src, bounds, tmp_path / "g.h5", architecture=TINY)
    g = Generator.load(out)
    assert g.code_size == CODE and g.encoder_architecture == "caffe_alexnet" and g.code_layer == "fc6"
    assert np.array_equal(g.code_max, np.linspace(1, 8, CODE).astype(np.float32)) and not g.code_min.any()
    for key, array in net.state_dict().items():
        assert np.array_equal(g.net.state_dict()[key], array), key
    code = np.random.default_rng(0).random((2, CODE)).astype(np.float32)
    raw = net(Tensor(code)).numpy()                                     # BGR, mean-subtracted 0-255
    assert raw.shape == (2, 3, 256, 256)
    mean_rgb = np.array([122.67891434, 116.66876762, 104.00698793]).reshape(1, 3, 1, 1)
    expected = np.clip((raw[:, ::-1] + mean_rgb) / 255, 0, 1).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(g.decode(code), expected, atol=1e-5)
    with pytest.raises(ValueError, match=f"has {CODE} values"):
        g.decode(np.zeros(CODE + 1))


def test_converter_names_the_layer_that_is_wrong(tiny_architecture, tmp_path):
    net = tiny_architecture(registry.Float32Uniform(3))
    layers = _caffe_layers(net)
    bounds = tmp_path / "fc6.txt"
    bounds.write_text("1\n" * CODE)
    broken = [(n, t, [b[0][:1], b[1]] if n == "conv4_1" else b) for n, t, b in layers]
    with pytest.raises(ConversionError, match="layer 'conv4_1' weight: expected shape \\(4, 4, 3, 3\\), got shape \\(1, 4, 3, 3\\)"):
        convert_caffe_generator(write_generator_caffemodel(tmp_path / "a.caffemodel", broken), bounds, tmp_path / "a.h5",
                                architecture=TINY)
    with pytest.raises(ConversionError, match="no layer 'deconv0'"):
        convert_caffe_generator(write_generator_caffemodel(tmp_path / "b.caffemodel", layers[:-1]), bounds, tmp_path / "b.h5",
                                architecture=TINY)
    (tmp_path / "short.txt").write_text("1\n2\n")
    with pytest.raises(ConversionError, match=f"expected {CODE} non-negative numbers .* got 2 values"):
        convert_caffe_generator(write_generator_caffemodel(tmp_path / "c.caffemodel", layers), tmp_path / "short.txt",
                                tmp_path / "c.h5", architecture=TINY)
    assert not (tmp_path / "a.h5").exists() and not (tmp_path / "c.h5").exists()


def test_published_generator_architecture_has_the_papers_shape():
    skeleton = registry.skeleton("caffe_fc6_generator")
    shapes = models.expected_shapes("caffe_fc6_generator")
    assert shapes["generator.0.weight"] == (4096, 4096)                  # defc7: fc6 code in
    assert shapes["generator.23.weight"] == (32, 3, 4, 4)                # deconv0: 32 channels -> BGR
    assert skeleton.resolve("deconv0") == "generator.23"
    assert skeleton.num_parameters() > 50_000_000
