"""The .pth reader on real torch output, without torch: the fixtures were written by
fixtures/make_fixtures.py (torch 2.13); the expected values are rebuilt here with NumPy."""
from pathlib import Path

import numpy as np
import pytest

from models.convert.detect import detect_format
from models.convert.torch_pth import read_pth

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def expected_state():
    base = np.arange(24, dtype=np.float32).reshape(4, 6) - 5.5
    return {
        "layer.weight": base,
        "layer.weight_t": base.T,
        "layer.strided": base.ravel()[5:17:3],
        "other.double": (np.arange(5, dtype=np.float64) / 3).astype(np.float32),
        "other.half": np.array([0.5, -2.0, 1024.0], np.float32),
        "other.bf16": np.array([1.5, -3.0, 256.0], np.float32),
        "other.scalar": np.array(7.25, np.float32),
    }


@pytest.mark.parametrize("name, fmt", [("tiny_zip.pth", "torch-zip"), ("tiny_legacy.pth", "torch-legacy")])
def test_reads_torch_written_fixture(name, fmt):
    path = FIXTURES / name
    assert detect_format(path) == fmt
    state = read_pth(path, fmt)
    expected = expected_state()
    assert list(state) == list(expected)
    for key, want in expected.items():
        got = state[key]
        assert got.dtype == np.float32 and got.shape == want.shape, key
        assert got.flags.c_contiguous, key
        np.testing.assert_array_equal(got, want, err_msg=key)


@pytest.mark.torch
def test_fixtures_are_what_the_script_writes(torch, tmp_path, monkeypatch):
    """Re-running the script gives the same tensors (so the fixtures are not stale)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for key, tensor in module.state().items():
        want = tensor.float().numpy()
        np.testing.assert_array_equal(read_pth(FIXTURES / "tiny_zip.pth", "torch-zip")[key], want)
