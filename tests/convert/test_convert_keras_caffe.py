"""Keras and Caffe files written in the exact layouts of weights-formats.md §3-4 from a
torchvision-layout network convert back to exactly its weights and logits, with the Caffe
input convention recorded; and the protobuf reader handles the wire-format corner cases."""
import struct

import h5py
import numpy as np
import pytest

import models
from convert_test_helpers import blob, caffe_layer, field, varint, write_caffemodel, write_keras_vgg
from minigrad import Tensor
from models.convert.caffe import read_caffemodel
from models.convert.convert import convert, file_digests
from models.convert.errors import ConversionError
from models.convert.protobuf import ProtobufError, iter_fields, read_varint
from torch_reference import host_state
from visualize.cli import main as cli_main


@pytest.fixture(scope="module")
def vgg16():
    return models.build("vgg16", seed=5)


def _input(net, x):
    """NumPy ``x`` as a tensor on the backend ``net`` lives on."""
    return Tensor(x, backend=net.parameters()[0].backend)


def _logits(net, size, seed=0):
    x = np.random.default_rng(seed).standard_normal((1, 3, size, size)).astype(np.float32)
    return net(_input(net, x)).numpy()


def _assert_same_network(loaded, original, size):
    for key, value in host_state(original).items():
        np.testing.assert_array_equal(host_state(loaded)[key], value, err_msg=key)
    np.testing.assert_array_equal(_logits(loaded, size), _logits(original, size))



def test_keras_vgg16_with_top(tmp_path, vgg16):
    src, dst = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5", tmp_path / "vgg16_keras.h5"
    write_keras_vgg(src, host_state(vgg16), vgg16.aliases)
    with h5py.File(src) as f:   # the writer really reorders fc1 (else the test could not fail)
        kernel = f["fc1/fc1_W_1:0"][()]
    assert not np.array_equal(kernel.T, host_state(vgg16)["classifier.0.weight"])
    convert(src, dst, "vgg16", expected={"md5": file_digests(src, ["md5"])["md5"]})
    src.unlink()
    net = models.load(dst)
    _assert_same_network(net, vgg16, 32)
    p = net.preprocessing
    assert (p.channel_order, p.input_range, p.mean, p.std) == ("BGR", (0.0, 255.0), (103.939, 116.779, 123.68),
                                                                (1.0, 1.0, 1.0))
    assert net.metadata["source_format"] == "keras-h5"


def test_keras_vgg16_without_top_is_vgg16_features(tmp_path, vgg16):
    """The notop file converts to ``vgg16_features`` (no classes, Caffe input convention) and
    gives exactly the with-top model's pool5 features on the same weights."""
    src, dst = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", tmp_path / "vgg16_features.h5"
    write_keras_vgg(src, host_state(vgg16), vgg16.aliases, top=False)
    assert cli_main(["weights", "convert", str(src), str(dst), "--arch", "vgg16_features",
                     "--md5", file_digests(src, ["md5"])["md5"]]) == 0
    net = models.load(dst)
    assert net.architecture == "vgg16_features" and net.class_names == [] and net.metadata["num_classes"] == 0
    assert (net.preprocessing.channel_order, net.preprocessing.input_range) == ("BGR", (0.0, 255.0))
    assert net.metadata["source_format"] == "keras-h5" and "class_wnids" not in net.metadata
    x = _input(net, np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32))
    features = net(x).numpy()
    assert features.shape == (1, 512, 1, 1) and np.abs(features).max() > 0
    np.testing.assert_array_equal(features, vgg16.forward_to(x, "pool5").numpy())
    np.testing.assert_array_equal(net.forward_to(x, "relu5_3").numpy(), vgg16.forward_to(x, "relu5_3").numpy())


def test_keras_notop_as_vgg16_suggests_vgg16_features(tmp_path, vgg16, capsys):
    src = tmp_path / "notop.h5"
    write_keras_vgg(src, host_state(vgg16), vgg16.aliases, top=False)
    with pytest.raises(ConversionError, match="missing classifier.0.weight.*it fits --arch vgg16_features"):
        convert(src, tmp_path / "out.h5", "vgg16")
    assert cli_main(["weights", "convert", str(src), str(tmp_path / "out.h5"), "--arch", "vgg16"]) == 2
    assert "--arch vgg16_features" in capsys.readouterr().err
    assert not (tmp_path / "out.h5").exists()


def test_keras_wrong_md5_is_refused(tmp_path, vgg16):
    src = tmp_path / "k.h5"
    write_keras_vgg(src, host_state(vgg16), vgg16.aliases, top=False)
    with pytest.raises(ConversionError, match="MD5 of .* expected 6437"):
        convert(src, tmp_path / "out.h5", "vgg16", expected={"md5": "64373286793e3c8b2b4e3219cbf3544b"})


def test_caffe_vgg16_current_encoding(tmp_path, vgg16):
    src, dst = tmp_path / "VGG_ILSVRC_16_layers.caffemodel", tmp_path / "vgg16_caffe.h5"
    write_caffemodel(src, host_state(vgg16), vgg16.aliases, legacy=False)
    convert(src, dst, "vgg16")
    src.unlink()
    net = models.load(dst)
    _assert_same_network(net, vgg16, 32)
    assert net.preprocessing.channel_order == "BGR" and net.metadata["source_format"] == "caffemodel"


def test_caffe_alexnet_legacy_v1_encoding(tmp_path):
    original = models.build("caffe_alexnet", seed=6)
    src, dst = tmp_path / "bvlc_alexnet.caffemodel", tmp_path / "caffe_alexnet.h5"
    write_caffemodel(src, host_state(original), original.aliases, legacy=True)
    layers = read_caffemodel(src)
    assert layers["conv2"][0].shape == (256, 48, 5, 5) and layers["fc6"][0].shape == (4096, 9216)
    convert(src, dst, "caffe_alexnet")
    net = models.load(dst)
    _assert_same_network(net, original, 67)
    p = net.preprocessing
    assert (p.channel_order, p.mean, p.input_size) == ("BGR", (104.00698793, 116.66876762, 122.67891434), (227, 227))
    with h5py.File(dst) as f:
        assert int(f["features.4"].attrs["groups"]) == 2


def test_caffe_alexnet_cannot_become_torchvision_alexnet(tmp_path):
    original = models.build("caffe_alexnet", seed=6)
    src = tmp_path / "bvlc_alexnet.caffemodel"
    write_caffemodel(src, host_state(original), original.aliases, legacy=True)
    with pytest.raises(ConversionError, match="does not match architecture 'alexnet'.*fits --arch caffe_alexnet"):
        convert(src, tmp_path / "out.h5", "alexnet")


# ------------------------------------------------------------------------- protobuf corner cases
def test_varints():
    for n in (0, 1, 127, 128, 300, 2**31, 2**63 - 1):
        assert read_varint(varint(n), 0, len(varint(n))) == (n, len(varint(n)))
    with pytest.raises(ProtobufError, match="truncated"):
        read_varint(b"\x80\x80", 0, 2)


def test_blob_unpacked_floats_unpacked_dims_and_double_data(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    unpacked = b"".join(field(n, 0, d) for n, d in zip((1, 2, 3, 4), (1, 1, 2, 3)))
    unpacked += b"".join(field(5, 5, struct.pack("<f", v)) for v in a.ravel())
    shape_unpacked = field(7, 2, field(1, 0, 2) + field(1, 0, 3)) + field(8, 2, a.astype("<f8").tobytes())
    net = (caffe_layer("fc", "InnerProduct", [unpacked, blob(np.ones(2), legacy=True)])
           + caffe_layer("fc_b", "InnerProduct", [shape_unpacked], legacy=True))
    src = tmp_path / "m.caffemodel"
    src.write_bytes(field(1, 2, b"n") + net)
    layers = read_caffemodel(src)
    np.testing.assert_array_equal(layers["fc"][0], a)
    np.testing.assert_array_equal(layers["fc"][1], np.ones(2))
    np.testing.assert_array_equal(layers["fc_b"][0], a)


def test_transposed_inner_product(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(3, 2)   # stored (in, out) when transpose is set
    layer = field(100, 2, field(1, 2, b"fc") + field(2, 2, b"InnerProduct") + field(7, 2, blob(a, legacy=False))
                  + field(117, 2, field(6, 0, 1)))
    src = tmp_path / "t.caffemodel"
    src.write_bytes(layer)
    np.testing.assert_array_equal(read_caffemodel(src)["fc"][0], a.T)


@pytest.mark.parametrize("data, match", [
    (caffe_layer("a", "Convolution", [blob(np.ones((1, 1, 1, 1)), True)], legacy=True)
     + caffe_layer("b", "Convolution", [blob(np.ones((1, 1, 1, 1)), False)], legacy=False), "mixes legacy"),
    (caffe_layer("a", "Convolution", [blob(np.ones((2, 2)), False)], legacy=False)[:-3], "runs past the end"),
    (field(2, 2, field(1, 2, b"v0")), "V0 layer"),
    (field(1, 3, b""), "wire type 3"),
    (field(1, 2, b"only a name"), "no layers with learned blobs"),
    (caffe_layer("a", "Convolution", [field(1, 0, 5) + field(5, 2, b"\0" * 8)], legacy=True), "does not match"),
])
def test_bad_caffemodels_are_refused(tmp_path, data, match):
    src = tmp_path / "bad.caffemodel"
    src.write_bytes(data)
    with pytest.raises(ConversionError, match=match):
        read_caffemodel(src)


def test_iter_fields_skips_unknown_fields():
    msg = field(9, 0, 5) + field(10, 1, b"\0" * 8) + field(11, 5, b"\0" * 4) + field(12, 2, b"xyz") + field(1, 0, 7)
    assert [(f, w) for f, w, _ in iter_fields(msg, 0, len(msg))] == [(9, 0), (10, 1), (11, 5), (12, 2), (1, 0)]
