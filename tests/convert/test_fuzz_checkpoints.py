"""Damaged and lying PyTorch checkpoints (issue 10, items 3 and the checkpoint fuzz test).

* A tiny ``.pth`` whose tensor is an expanded (stride-0) view of one element declares a
  37 GiB tensor; it is refused before anything is allocated (before: ``weights convert``
  materialized it).
* Hypothesis changes bytes of a valid zip and legacy checkpoint of ``mnist_cnn`` outside the
  raw tensor data (pickle, zip headers and directory, legacy headers); ``convert`` of each, in a
  child process with 1 GiB address-space headroom and 30 s (tests/fuzz_worker.py), either
  succeeds or raises ConversionError / WeightsValidationError, never anything else, never a hang.
"""
from __future__ import annotations

import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
from convert_test_helpers import (op_global, op_int, op_str, op_tuple, state_dict_pickle, write_legacy_pth,
                                  write_zip_pth)
from fuzz_worker import FuzzWorker
from models.convert.convert import convert
from models.convert.errors import ConversionError


@pytest.fixture(scope="module")
def worker():
    w = FuzzWorker(memory_bytes=1 << 30, timeout_s=30)
    yield w
    w.close()


@pytest.fixture(scope="module")
def mnist_state():
    return {k: np.asarray(v.data) for k, v in models.build("mnist_cnn", seed=0).state_dict().items()}


def _expanded_pickle(size, stride, numel=1) -> bytes:
    """A state dict {"features.0.weight": tensor of ``size``/``stride`` over a ``numel``-element storage}."""
    ordered_dict = op_global("collections", "OrderedDict") + b")R"
    pid = op_tuple(op_str("storage"), op_global("torch", "FloatStorage"), op_str("0"), op_str("cpu"), op_int(numel))
    return b"".join([b"\x80\x02", ordered_dict, b"(", op_str("features.0.weight"),
                     op_global("torch._utils", "_rebuild_tensor_v2"), b"(", pid, b"Q", op_int(0),
                     op_tuple(*map(op_int, size)), op_tuple(*map(op_int, stride)), b"\x89", ordered_dict,
                     b"tR", b"u."])


def test_stride_zero_tensor_is_refused_before_allocating(tmp_path, worker):
    src = tmp_path / "expanded.pth"
    write_zip_pth(src, {"w": np.ones(1, np.float32)}, pickle_bytes=_expanded_pickle((100_000, 100_000), (0, 0)))
    assert src.stat().st_size < 2000
    answer = worker.read("checkpoint:torch-zip", src)
    assert answer.startswith("REFUSED") and "100000" in answer and "stride" in answer, answer


def test_expanded_tensor_is_refused_in_process_with_its_numbers(tmp_path):
    src = tmp_path / "expanded.pth"
    write_zip_pth(src, {"w": np.ones(1, np.float32)}, pickle_bytes=_expanded_pickle((16, 1, 3, 3), (0, 0, 0, 0)))
    with pytest.raises(ConversionError, match=r"size \(16, 1, 3, 3\).*144 elements.*storage.*1 element"):
        convert(src, tmp_path / "out.h5", "mnist_cnn")


def test_storage_far_larger_than_the_architecture_is_refused(tmp_path, mnist_state):
    """Every tensor has the right shape, but one storage declares 10x the whole network (a
    deflated record could hold that in a small file): refused before it is read."""
    total = sum(a.size for a in mnist_state.values())
    src = tmp_path / "fat.pth"
    fat = dict(mnist_state)
    fat["features.0.bias"] = np.zeros(10 * total, np.float32)
    pickle_bytes = state_dict_pickle(fat, False).replace(
        op_tuple(op_int(10 * total)) + op_tuple(op_int(1)),
        op_tuple(op_int(mnist_state["features.0.bias"].size)) + op_tuple(op_int(1)))
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", pickle_bytes)
        zf.writestr("archive/byteorder", "little")
        for i, array in enumerate(fat.values()):
            zf.writestr(f"archive/data/{i}", np.ascontiguousarray(array, "<f4").tobytes())
    with pytest.raises(ConversionError, match=r"storages declare .* elements.*mnist_cnn"):
        convert(src, tmp_path / "out.h5", "mnist_cnn")


def _zip_structure(path) -> list[int]:
    """Offsets of a zip's bytes that are not tensor data (local headers, pickle, directory)."""
    data = path.read_bytes()
    keep = np.ones(len(data), bool)
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if "/data/" in info.filename:
                name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
                start = info.header_offset + 30 + name_len + extra_len
                keep[start:start + info.compress_size] = False
    return np.flatnonzero(keep).tolist()


def _legacy_structure(path, state) -> list[int]:
    """Offsets of a legacy file's pickles and per-storage element counts."""
    size = path.stat().st_size
    data_bytes = [8 + a.size * 4 for a in state.values()]
    start = size - sum(data_bytes)
    offsets, pos = list(range(start)), start
    for n in data_bytes:
        offsets += range(pos, pos + 8)
        pos += n
    return offsets


@pytest.fixture(scope="module")
def valid_checkpoints(tmp_path_factory, mnist_state):
    folder = tmp_path_factory.mktemp("ckpt")
    zip_path, legacy_path = folder / "zip.pth", folder / "legacy.pth"
    write_zip_pth(zip_path, mnist_state)
    write_legacy_pth(legacy_path, mnist_state)
    return {"torch-zip": (zip_path, _zip_structure(zip_path)),
            "torch-legacy": (legacy_path, _legacy_structure(legacy_path, mnist_state))}


@pytest.mark.parametrize("fmt", ["torch-zip", "torch-legacy"])
def test_valid_checkpoints_convert_in_the_worker(worker, valid_checkpoints, fmt):
    assert worker.read(f"checkpoint:{fmt}", valid_checkpoints[fmt][0]) == "OK"


@pytest.mark.parametrize("fmt", ["torch-zip", "torch-legacy"])
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_checkpoint_converts_or_is_refused(worker, valid_checkpoints, tmp_path, fmt, data):
    path, offsets = valid_checkpoints[fmt]
    changes = data.draw(st.lists(st.tuples(st.sampled_from(offsets), st.integers(0, 255)), min_size=1, max_size=3),
                        label="changes (offset, new byte)")
    damaged = bytearray(path.read_bytes())
    for offset, value in changes:
        damaged[offset] = value
    out = tmp_path / f"damaged-{fmt}.pth"
    out.write_bytes(bytes(damaged))
    answer = worker.read(f"checkpoint:{fmt}", out)
    assert answer == "OK" or (answer.startswith("REFUSED") and str(out) in answer), answer


def test_huge_declared_pickle_length_is_refused_not_a_memory_error(worker, valid_checkpoints, tmp_path):
    """Found by the fuzz test: byte 14 of the legacy header pickles set to 141 turns an opcode into
    BINUNICODE8 with a declared length of 1.8e17 bytes; pickletools read it in one call
    (MemoryError). Reads are now bounded by the bytes left in the file."""
    damaged = bytearray(valid_checkpoints["torch-legacy"][0].read_bytes())
    damaged[14] = 141
    path = tmp_path / "long_string.pth"
    path.write_bytes(bytes(damaged))
    answer = worker.read("checkpoint:torch-legacy", path)
    assert answer.startswith("REFUSED") and "damaged inside a pickle" in answer, answer


def test_damaged_zip_version_field_is_refused(worker, valid_checkpoints, tmp_path):
    """Found by a longer fuzz run: a central-directory entry asking for zip version 22.7 made
    zipfile raise NotImplementedError, which escaped."""
    damaged = bytearray(valid_checkpoints["torch-zip"][0].read_bytes())
    entry = damaged.find(b"PK\x01\x02")                 # the first central-directory entry (data.pkl)
    damaged[entry + 6] = 227                             # "version needed to extract"
    path = tmp_path / "version.pth"
    path.write_bytes(bytes(damaged))
    answer = worker.read("checkpoint:torch-zip", path)
    assert answer.startswith("REFUSED") and "22.7" in answer, answer
