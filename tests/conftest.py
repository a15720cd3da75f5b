"""Shared test fixtures.

* ``torch``: the PyTorch module for reference comparisons. Skips the test when torch is
  not installed, unless ``MINIGRAD_REQUIRE_TORCH=1`` (set by ``.ci/run``), where a missing
  torch is a failure, so CI cannot silently skip the comparisons.
* ``backend``: the backend the suite runs on (``MINIGRAD_BACKEND``, default numpy).

``MINIGRAD_BACKEND=cupy`` runs the suite on the GPU: tensors the tests make from NumPy data go to
``backends.current()``. Where CuPy or a GPU is missing, every test is skipped with the reason
(:func:`pytest_collection_modifyitems`), instead of erroring wherever a test first asks for the
backend; an unknown name is a usage error.

Hypothesis runs without deadlines (these 2-core machines are shared, and a slow example is not
a wrong one) and, under CI (``CI`` set), derandomized: CI draws the same examples every run, so
a red build is reproducible; a developer's run explores new ones.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import backends

settings.register_profile("minigrad", deadline=None, derandomize=bool(os.environ.get("CI")),
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("minigrad")


def _load_torch():
    try:
        import torch
    except ImportError:
        if os.environ.get("MINIGRAD_REQUIRE_TORCH") == "1":
            pytest.fail("MINIGRAD_REQUIRE_TORCH=1 but torch is not installed: pip install torch")
        pytest.skip("torch is not installed (reference comparisons skipped)")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    return torch


@pytest.fixture(scope="session")
def torch():
    return _load_torch()


def _unavailable_backend_reason():
    """Why the backend named by ``MINIGRAD_BACKEND`` cannot run here, or None when it can."""
    name = os.environ.get("MINIGRAD_BACKEND", "numpy") or "numpy"
    try:
        backends.get(name)
    except backends.BackendUnavailable as exc:
        return f"MINIGRAD_BACKEND={name}: {exc}"
    except ValueError as exc:
        raise pytest.UsageError(f"MINIGRAD_BACKEND={name}: {exc}") from None
    return None


def pytest_collection_modifyitems(config, items):
    reason = _unavailable_backend_reason()
    if reason is not None:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def backend():
    """The backend the suite runs on; CuPy runs skip cleanly where no GPU is present."""
    name = os.environ.get("MINIGRAD_BACKEND", "numpy")
    if not backends.available(name):
        pytest.skip(f"backend {name!r} is not available here")
    return backends.get(name)


@pytest.fixture
def numpy_backend():
    """Build on NumPy whatever ``MINIGRAD_BACKEND`` says, for tests that check bookkeeping
    against NumPy/torch on the CPU (the CuPy paths have their own tests)."""
    previous = backends.current()
    backends.use("numpy")
    yield backends.get("numpy")
    backends.use(previous.name)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
