"""Crafted checkpoints that would run code, escape the archive or lie about their sizes are
refused, with an error naming what was refused, and their payload never runs (the marker
file it would create never appears)."""
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from convert_test_helpers import (LEGACY_HEADER, op_global, op_str, op_tuple, state_dict_pickle,
                                  write_legacy_pth, write_zip_pth)
from models.convert.convert import convert, read_source
from models.convert.detect import detect_format
from models.convert.errors import ConversionError, UnsafeCheckpointError
from visualize.cli import main as cli_main

STATE = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2, np.float32)}


def read_without_architecture(src):
    """Read a checkpoint's tensors with only the container's own checks: ``convert`` checks the
    keys and shapes against the architecture before any storage is read, which would refuse
    these small states before the check under test."""
    return read_source(src, detect_format(src, None))


def call(module, name, *args: bytes) -> bytes:
    """GLOBAL module.name, args tuple, REDUCE."""
    return op_global(module, name) + op_tuple(*args) + b"R"


def payloads(marker):
    """name -> (pickle bytes, text the error must contain). Each would create ``marker``."""
    cmd = op_str(f"touch {marker}")
    code = op_str(f"__import__('os').system('touch {marker}')")

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    return {
        "os.system": (b"\x80\x02" + call("os", "system", cmd) + b".", "'os.system'"),
        "posix.system": (b"\x80\x02" + call("posix", "system", cmd) + b".", "'posix.system'"),
        "builtins.eval": (b"\x80\x02" + call("builtins", "eval", code) + b".", "'builtins.eval'"),
        "builtins.exec": (b"\x80\x02" + call("builtins", "exec", code) + b".", "'builtins.exec'"),
        "py2 __builtin__.eval": (b"\x80\x02" + call("__builtin__", "eval", code) + b".", "'__builtin__.eval'"),
        "subprocess.Popen": (b"\x80\x02" + call("subprocess", "Popen", op_tuple(op_str("touch"), op_str(str(marker))))
                             + b".", "'subprocess.Popen'"),
        # getattr(os, "system")(cmd): the classic two-step that avoids naming os.system
        "builtins.getattr": (b"\x80\x02" + op_global("builtins", "getattr") + op_tuple(
            op_global("os", "__dict__"), op_str("system")) + b"R" + op_tuple(cmd) + b"R.", "'builtins.getattr'"),
        "__reduce__ object": (pickle.dumps(Evil(), protocol=2), "system'"),
        # an allowed module with a dotted attribute path (protocol 4 resolves dots in names)
        "nested name": (b"\x80\x04" + op_str("torch._utils") + op_str("_rebuild_tensor_v2.__globals__") + b"\x93"
                        + b".", "'torch._utils._rebuild_tensor_v2.__globals__'"),
        "obfuscated module": (b"\x80\x02" + call("torch._utils.os", "system", cmd) + b".", "'torch._utils.os.system'"),
        "stack global": (b"\x80\x04" + op_str("os") + op_str("system") + b"\x93" + op_tuple(cmd) + b"R.",
                         "'os.system'"),
        "torch _load_from_bytes": (b"\x80\x02" + call("torch.storage", "_load_from_bytes", op_str("x")) + b".",
                                   "'torch.storage._load_from_bytes'"),
        "INST opcode": (b"(" + cmd + b"ios\nsystem\n.", "INST"),
        "NEWOBJ on OrderedDict": (b"\x80\x02" + op_global("collections", "OrderedDict") + b")\x81.", "NEWOBJ"),
        "BUILD sets __class__": (b"\x80\x02" + op_global("collections", "OrderedDict") + b")R}"
                                 + op_str("__class__") + op_global("os", "system") + b"sb.", "'os.system'"),
        "BUILD on OrderedDict with other state": (b"\x80\x02" + op_global("collections", "OrderedDict") + b")R}"
                                                  + op_str("__dict__") + b"}sb.", "_metadata"),
        "module persistent id": (b"\x80\x02" + op_tuple(op_str("module"), op_str("x"), op_str("y"), op_str("z"))
                                 + b"Q.", "'module'"),
        "EXT1 registry": (b"\x80\x02\x82\x01.", "EXT1"),
    }


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "the payload ran"


def test_payload_is_live(tmp_path):
    """The os.system payload really runs under plain pickle (so the tests below can fail)."""
    marker = tmp_path / "PWNED"
    data, _ = payloads(marker)["os.system"]
    subprocess.run([sys.executable, "-c", f"import pickle; pickle.loads({data!r})"], check=True)
    assert marker.exists()


@pytest.mark.parametrize("container", ["zip", "legacy"])
@pytest.mark.parametrize("case", list(payloads("m")))
def test_malicious_pickle_is_refused(tmp_path, marker, container, case):
    data, needle = payloads(marker)[case]
    src, dst = tmp_path / "evil.pth", tmp_path / "out.h5"
    writer = write_zip_pth if container == "zip" else write_legacy_pth
    writer(src, STATE, pickle_bytes=data)
    with pytest.raises(UnsafeCheckpointError) as info:
        convert(src, dst, "alexnet")
    assert needle in str(info.value) and str(src) in str(info.value)
    assert not dst.exists()


def test_malicious_legacy_header_pickle_is_refused(tmp_path, marker):
    """The first pickle of the legacy stream (the magic number) is unpickled with the same rules."""
    data, _ = payloads(marker)["posix.system"]
    src = tmp_path / "evil.pth"
    src.write_bytes(data + LEGACY_HEADER)
    with pytest.raises(UnsafeCheckpointError, match="'posix.system'"):
        convert(src, tmp_path / "out.h5", "alexnet", "torch-legacy")


def test_refusal_through_the_command_line(tmp_path, marker, capsys):
    data, _ = payloads(marker)["builtins.eval"]
    src = tmp_path / "evil.pth"
    write_zip_pth(src, STATE, pickle_bytes=data)
    assert cli_main(["weights", "convert", str(src), str(tmp_path / "o.h5"), "--arch", "alexnet"]) == 2
    err = capsys.readouterr().err
    assert "refusing to load 'builtins.eval'" in err and "only state-dict globals are allowed" in err


@pytest.mark.parametrize("name", ["../evil", "archive/../../evil", "/abs/evil", "archive/data/..\\evil"])
def test_zip_entry_outside_the_archive_is_refused(tmp_path, marker, name):
    src = tmp_path / "evil.pth"
    write_zip_pth(src, STATE, extra={name: b"x"})
    with pytest.raises(UnsafeCheckpointError, match="outside the archive"):
        convert(src, tmp_path / "out.h5", "alexnet")
    assert not (tmp_path.parent / "evil").exists()


def test_zip_entries_in_two_folders_are_refused(tmp_path):
    src = tmp_path / "two.pth"
    write_zip_pth(src, STATE, extra={"other/data.pkl": b"x"})
    with pytest.raises(ConversionError, match="one top-level folder"):
        convert(src, tmp_path / "out.h5", "alexnet")


@pytest.mark.parametrize("writer, match", [(write_zip_pth, "declares 1000000 FloatStorage elements"),
                                           (write_legacy_pth, "declares 1000000 elements")])
def test_storage_larger_than_its_bytes_is_refused(tmp_path, writer, match):
    src = tmp_path / "big.pth"
    writer(src, STATE, storage_numel={"0": 1_000_000})
    with pytest.raises(ConversionError, match=match):
        read_without_architecture(src)   # (convert refuses it earlier: its keys are not alexnet's)


def test_view_beyond_storage_is_refused(tmp_path):
    """A tensor whose size/stride reach past its storage's declared elements."""
    src = tmp_path / "view.pth"
    data = state_dict_pickle(STATE, False, storage_numel={"0": 4})
    write_zip_pth(src, {"w": np.zeros(4, np.float32), "b": STATE["b"]}, pickle_bytes=data)
    with pytest.raises(ConversionError, match="reaches element 5 of a storage that declares only 4"):
        convert(src, tmp_path / "out.h5", "alexnet")


@pytest.mark.parametrize("writer", [write_zip_pth, write_legacy_pth])
@pytest.mark.parametrize("keep", [0.3, 0.9, 0.99])
def test_truncated_file_is_refused(tmp_path, writer, keep):
    src = tmp_path / "cut.pth"
    writer(src, STATE)
    data = src.read_bytes()
    src.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ConversionError, match="truncated|damaged|not a readable"):
        convert(src, tmp_path / "out.h5", "alexnet")
    assert not (tmp_path / "out.h5").exists()


def test_tar_checkpoint_is_refused(tmp_path):
    src = tmp_path / "old.pth"
    src.write_bytes(b"\0" * 257 + b"ustar" + b"\0" * 300)
    with pytest.raises(ConversionError, match="tar-based"):
        convert(src, tmp_path / "out.h5", "alexnet")


def test_crc_damage_in_a_storage_is_refused(tmp_path):
    src = tmp_path / "flip.pth"
    write_zip_pth(src, STATE)
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo("archive/data/0")
    data = bytearray(src.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + 3] ^= 0xFF   # inside the stored bytes
    src.write_bytes(bytes(data))
    with pytest.raises(ConversionError, match="cannot be read"):
        read_without_architecture(src)
