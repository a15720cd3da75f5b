"""Our HDF5 weights layout: round trip, atomic writes, and every validation message of
docs/weights-format.md section 4 triggered by a crafted file. The small mnist_cnn (one input
channel, 10 classes) keeps the files tiny."""
from __future__ import annotations

import os
import re

import h5py
import numpy as np
import pytest

import models
from minigrad.tensor import Tensor
from models import hdf5_weights
from models.hdf5_weights import WeightsValidationError, load_weights, save_weights
from torch_reference import host_state

ARCH = "mnist_cnn"


@pytest.fixture(scope="module")
def net():
    return models.build(ARCH, seed=3)


@pytest.fixture
def valid(tmp_path, net):
    path = tmp_path / "w.h5"
    models.save(net, path, class_wnids=[f"n{i:08d}" for i in range(10)])
    return path


def _problems(path, architecture=None):
    with pytest.raises(WeightsValidationError) as info:
        load_weights(path, architecture)
    message = str(info.value)
    header = message.splitlines()[0]
    n = len(info.value.problems)
    assert header == f"weights file '{path}' failed validation ({n} problems):"
    assert message.splitlines()[1:] == [f"  {p}" for p in info.value.problems]
    return info.value.problems


# ---------------------------------------------------------------------- round trip
def test_round_trip(valid, net):
    state, meta = load_weights(valid, ARCH)
    assert list(state) == list(net.state_dict())
    for key, value in host_state(net).items():
        assert state[key].dtype == np.dtype("<f4") and np.array_equal(state[key], value), key
    assert meta["architecture"] == ARCH and meta["format"] == "minigrad-weights" and meta["format_version"] == 1
    assert meta["class_names"] == net.class_names and meta["class_wnids"][3] == "n00000003"
    assert meta["input_channel_order"] == "L" and meta["input_mean"] == net.preprocessing.mean
    assert models.Preprocessing.from_attrs(meta) == net.preprocessing
    loaded = models.load(valid)
    assert loaded.preprocessing == net.preprocessing and loaded.architecture == ARCH
    assert loaded.weights_sha256 == models.file_sha256(valid)


def test_extra_root_attributes_reach_the_network_and_info(valid, capsys):
    with h5py.File(valid, "r+") as f:
        f.attrs.update({"training_command": "minigrad train mnist --seed 4", "training_seed": np.int64(4),
                        "held_out_accuracy": 0.5, "notes_list": np.array([1.5, 2.0])})
    _, meta = load_weights(valid)
    net = models.load(valid)
    for m in (meta, net.metadata):
        assert (m["training_command"], m["training_seed"], m["held_out_accuracy"], m["notes_list"]) == (
            "minigrad train mnist --seed 4", 4, 0.5, [1.5, 2.0])
        assert type(m["training_seed"]) is int and m["architecture"] == ARCH
    assert set(list(net.metadata)[-4:]) == {"training_command", "training_seed", "held_out_accuracy", "notes_list"}
    from visualize.cli import main as cli_main
    assert cli_main(["weights", "info", str(valid)]) == 0
    out = capsys.readouterr().out
    assert "\n  training_command   minigrad train mnist --seed 4\n" in out and "\n  notes_list         [1.5, 2.0]\n" in out
    assert out.index("parameters:") < out.index("\nmetadata:\n  held_out_accuracy  0.5\n") < out.index("layers:")


def test_shipped_mnist_cnn_says_how_it_was_trained(capsys):
    meta = models.load("mnist_cnn").metadata
    assert meta["training_command"].startswith("minigrad train mnist") and isinstance(meta["training_seed"], int)
    assert meta["training_duration_s"] > 0 and meta["held_out_accuracy"] >= 0.985
    assert "last 2,000" in meta["held_out_note"] and "first 8,000" in meta["held_out_note"]
    from visualize.cli import main as cli_main
    assert cli_main(["weights", "info", str(models.weights_path("mnist_cnn"))]) == 0
    out = capsys.readouterr().out
    for key in ("training_command", "training_seed", "training_duration_s", "held_out_accuracy", "held_out_note"):
        assert f"\n  {key}  " in out or f"\n  {key} " in out, key


def test_gzip_datasets_and_valid_layer_attrs_are_accepted(valid):
    with h5py.File(valid, "r+") as f:
        data = f["classifier.0/weight"][()]
        del f["classifier.0/weight"]
        f["classifier.0"].create_dataset("weight", data=data, compression="gzip", chunks=(64, 98))
        f["features.0"].attrs.update({"kind": "conv2d", "stride": 1, "padding": [1, 1], "groups": 1})
        f["classifier.0"].attrs["kind"] = "linear"
    state, _ = load_weights(valid)
    assert np.array_equal(state["classifier.0.weight"], data)


def test_layer_attrs_come_from_the_architecture():
    attrs = hdf5_weights.layer_attrs("caffe_alexnet")
    assert attrs["features.4"] == {"kind": "conv2d", "stride": (1, 1), "padding": (2, 2), "groups": 2}
    assert attrs["features.0"]["stride"] == (4, 4) and attrs["classifier.6"] == {"kind": "linear"}


def test_save_weights_copies_backend_arrays_and_tensors_to_the_host(tmp_path, net, valid):
    """The network's own arrays (CuPy ones on the GPU) and Tensors are accepted as they are."""
    meta = {k: v for k, v in load_weights(valid)[1].items() if k not in ("format", "format_version")}
    state = {k: Tensor(v) if i % 2 else v for i, (k, v) in enumerate(net.state_dict().items())}
    save_weights(tmp_path / "raw.h5", state, architecture=ARCH, meta=meta)
    loaded, _ = load_weights(tmp_path / "raw.h5", ARCH)
    for key, value in host_state(net).items():
        assert np.array_equal(loaded[key], value), key


# ---------------------------------------------------------------------- atomic writes
def test_failed_save_leaves_nothing_and_keeps_the_old_file(tmp_path, net, valid):
    before = valid.read_bytes()
    state = {k: v.copy() for k, v in host_state(net).items()}
    state["features.0.bias"][0] = np.nan
    meta = {k: v for k, v in load_weights(valid)[1].items() if k not in ("format", "format_version")}
    with pytest.raises(WeightsValidationError, match="non-finite values in 'features.0/bias': 1 NaN, 0 Inf"):
        save_weights(valid, state, architecture=ARCH, meta=meta)
    assert valid.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.h5"]
    fresh = tmp_path / "new.h5"
    with pytest.raises(KeyError):  # a crash while writing (missing class names) leaves no file either
        save_weights(fresh, state, architecture=ARCH, meta={k: v for k, v in meta.items() if k != "class_names"})
    assert os.listdir(tmp_path) == ["w.h5"]


# ---------------------------------------------------------------------- each check of section 5.4
def test_1_not_hdf5(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(WeightsValidationError, match=re.escape(f"'{path}' is not a readable HDF5 file: ")):
        load_weights(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_weights(tmp_path / "missing.h5")


def _set_attr(path, name, value):
    with h5py.File(path, "r+") as f:
        if value is None:
            del f.attrs[name]
        else:
            f.attrs[name] = value


@pytest.mark.parametrize("name,value,message", [
    ("format", "keras", "not a minigrad weights file: root attribute 'format' is 'keras'"),
    ("format", None, "not a minigrad weights file: root attribute 'format' is missing"),
    ("format_version", 2, "unsupported format_version 2; this loader reads version 1"),
    ("source_url", None, "missing root attribute 'source_url'"),
    ("num_classes", "ten", "root attribute 'num_classes' must be an integer, got str 'ten'"),
    ("input_size", 224, "root attribute 'input_size' must be a 1-D array of integers, got int64 array(224)"),
    ("architecture", "resnet",
     f"unknown architecture 'resnet'; expected one of: {', '.join(models.registry.names())}"),
    ("source_sha256", "ABC123", "root attribute 'source_sha256' must be 64 lowercase hex characters, got 'ABC123'"),
    ("input_std", [0.0], "root attribute 'input_std' must be 1 non-zero values, got [0.0]"),
    ("input_mean", [0.1, 0.2, 0.3], "root attribute 'input_mean' must be 1 values, got [0.1, 0.2, 0.3]"),
    ("input_range", [1.0, 0.0], "root attribute 'input_range' must be 2 values lo < hi, got [1.0, 0.0]"),
    ("input_channel_order", "RGBA", "root attribute 'input_channel_order' must be one of RGB, BGR, L, got 'RGBA'"),
])
def test_root_attribute_checks(valid, name, value, message):
    _set_attr(valid, name, value)
    assert message in _problems(valid)


def test_5_architecture_mismatch(valid):
    assert _problems(valid, "vgg16") == ["architecture mismatch: file has 'mnist_cnn', caller requested 'vgg16'"]


def test_15_channel_order_must_fit_the_architecture(valid):
    with h5py.File(valid, "r+") as f:
        f.attrs.update({"input_channel_order": "RGB", "input_mean": [0.5] * 3, "input_std": [0.5] * 3})
    assert _problems(valid) == [
        "root attribute 'input_channel_order' is 'RGB', but architecture 'mnist_cnn' takes 1 input channel(s)"]


def test_7_to_10_weight_checks(valid, monkeypatch):
    monkeypatch.setattr(hdf5_weights, "_CHUNK", 1000)   # the finite check streams in chunks
    with h5py.File(valid, "r+") as f:
        del f["features.0/bias"]
        del f["features.2/weight"]
        f["features.2"].create_dataset("weight", data=np.zeros((16, 16, 3, 2), "<f4"))
        del f["features.5/bias"]
        f["features.5"].create_dataset("bias", data=np.zeros(32, "<f8"))
        del f["features.7/bias"]
        f["features.7"].create_dataset("bias", data=np.zeros(32, ">f4"))
        w = f["classifier.0/weight"][()]
        w.reshape(-1)[[5, 4000, 9999]] = [np.nan, np.nan, -np.inf]
        f["classifier.0/weight"][...] = w
    assert _problems(valid) == [
        "non-finite values in 'classifier.0/weight': 2 NaN, 1 Inf",
        "missing weight 'features.0/bias' (expected shape (16,))",
        "shape mismatch for 'features.2/weight': expected (16, 16, 3, 3), got (16, 16, 3, 2)",
        "dtype mismatch for 'features.5/bias': expected float32, got float64",
        "dtype mismatch for 'features.7/bias': expected float32, got float32 (big-endian)",
    ]


def test_11_unexpected_entries(valid):
    with h5py.File(valid, "r+") as f:
        f.create_group("features.99")
        f["features.0"].create_dataset("running_mean", data=np.zeros(16, "<f4"))
        f.create_dataset("notes", data=np.zeros(1))
    assert _problems(valid) == [
        "unexpected entry '/features.0/running_mean' in weights file",
        "unexpected entry '/features.99' in weights file",
        "unexpected entry '/notes' in weights file",
    ]


@pytest.mark.parametrize("names,got", [(None, "missing"), ([str(i) for i in range(9)], "shape (9,)"),
                                       (np.arange(10), "dtype int64")])
def test_12_class_names(valid, names, got):
    with h5py.File(valid, "r+") as f:
        del f["class_names"]
        if names is not None:
            f.create_dataset("class_names", data=names if isinstance(names, np.ndarray) else
                             np.array(names, dtype=object), dtype=None if isinstance(names, np.ndarray)
                             else h5py.string_dtype())
    [problem] = _problems(valid)
    assert problem.startswith("class_names must be 10 strings, got ") and got in problem


def test_12_num_classes_must_be_the_architectures_outputs(valid):
    with h5py.File(valid, "r+") as f:
        f.attrs["num_classes"] = 9
    problems = _problems(valid)
    assert "root attribute 'num_classes' is 9, but architecture 'mnist_cnn' has 10 outputs " \
           "(0: a headless network)" in problems
    assert any(p.startswith("class_names must be 9 strings") for p in problems)


def test_headless_network_has_no_classes(tmp_path):
    net = models.build("vgg16_features", seed=0)
    path = models.save(net, tmp_path / "features.h5")
    with h5py.File(path) as f:
        assert int(f.attrs["num_classes"]) == 0 and f["class_names"].shape == (0,)
    loaded = models.load(path)
    assert loaded.class_names == [] and loaded.metadata["num_classes"] == 0
    assert "classes:         none (a headless network" in models.describe(path)
    with h5py.File(path, "r+") as f:   # claiming 1000 classes without a classifier is refused
        f.attrs["num_classes"] = 1000
    assert "root attribute 'num_classes' is 1000, but architecture 'vgg16_features' has 0 outputs " \
           "(0: a headless network)" in _problems(path)


def test_13_class_wnids(valid):
    with h5py.File(valid, "r+") as f:
        wnids = [f"n{i:08d}" for i in range(10)]
        wnids[3], wnids[7] = "x", "n123"
        del f["class_wnids"]
        f.create_dataset("class_wnids", data=np.array(wnids, dtype=object), dtype=h5py.string_dtype())
    assert _problems(valid) == ["class_wnids entry 3 is not a WordNet id: 'x'",
                                "class_wnids entry 7 is not a WordNet id: 'n123'"]


def test_14_layer_attributes(valid):
    with h5py.File(valid, "r+") as f:
        f["features.0"].attrs.update({"stride": 2, "groups": 1, "kind": "conv2d"})
        f["classifier.3"].attrs["kind"] = "conv2d"
    assert _problems(valid) == [
        "layer 'classifier.3' attribute 'kind' is 'conv2d', architecture requires 'linear'",
        "layer 'features.0' attribute 'stride' is 2, architecture requires 1",
    ]


def test_all_problems_are_reported_together_sorted_by_key(valid):
    with h5py.File(valid, "r+") as f:
        f.attrs["source_sha256"] = "short"
        del f["features.0/weight"]
        f.create_group("zzz")
        f.create_group("aaa")
    problems = _problems(valid)
    assert problems == [
        "root attribute 'source_sha256' must be 64 lowercase hex characters, got 'short'",
        "unexpected entry '/aaa' in weights file",
        "missing weight 'features.0/weight' (expected shape (16, 1, 3, 3))",
        "unexpected entry '/zzz' in weights file",
    ]
