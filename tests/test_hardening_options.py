"""Bad option values outside the method commands get a clear error where they enter
(issue 10, item 8): ``relu_mode("bogus")`` when called, ``MINIGRAD_BACKEND=cupy`` without
CuPy when the command line starts, ``weights fetch --url notaurl`` when it is parsed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import backends
import minigrad as mg

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args, env=None, cwd=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "visualize.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=120)


def test_relu_mode_refuses_an_unknown_mode_when_called():
    with pytest.raises(ValueError, match="unknown mode 'bogus'; choose one of normal, guided, deconvnet"):
        mg.relu_mode("bogus")          # no `with`: the call itself fails


def test_relu_mode_still_switches_and_restores():
    from minigrad.functional import current_relu_mode
    block = mg.relu_mode("guided")
    assert current_relu_mode() == "normal"      # creating the block does not switch yet
    with block:
        assert current_relu_mode() == "guided"
    assert current_relu_mode() == "normal"


@pytest.mark.skipif(backends.available("cupy"), reason="CuPy is installed and has a GPU here")
@pytest.mark.parametrize("args", [["weights", "list"], ["weights", "info", "weights/mnist_cnn.h5"]])
def test_cupy_backend_without_cupy_is_one_line_at_cli_start(args):
    run = _cli(*args, env={"MINIGRAD_BACKEND": "cupy"})
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minigrad: error: MINIGRAD_BACKEND=cupy"), run.stderr
    assert "not installed" in lines[0] and "numpy" in lines[0]


def test_unknown_backend_name_is_one_line_at_cli_start():
    run = _cli("weights", "list", env={"MINIGRAD_BACKEND": "tpu"})
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "MINIGRAD_BACKEND=tpu" in run.stderr and "numpy, cupy" in run.stderr


def test_backend_error_names_the_environment_variable(monkeypatch):
    monkeypatch.setattr(backends, "_instances", {})
    monkeypatch.setattr(backends, "_current", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setenv("MINIGRAD_BACKEND", "cupy")
    with pytest.raises(backends.BackendUnavailable, match=r"^MINIGRAD_BACKEND=cupy: .*not installed"):
        backends.current()


@pytest.mark.parametrize("url", ["notaurl", "vgg16.pth", "http://", "gopher://x/y", "://nohost"])
def test_fetch_url_that_is_not_a_url_fails_at_parse_time(url, tmp_path):
    run = _cli("weights", "fetch", "vgg16", "--url", url, env={"MINIGRAD_HOME": str(tmp_path)})
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"--url: {url!r} is not a URL" in run.stderr and "https://" in run.stderr
    assert not any(tmp_path.iterdir())           # nothing was downloaded or created
