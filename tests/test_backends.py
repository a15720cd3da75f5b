"""Choosing a backend, the errors where CuPy or a GPU is missing, and CuPy against NumPy."""
import sys
import types

import numpy as np
import pytest

import backends
import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim

HAVE_CUPY = backends.available("cupy")
needs_cupy = pytest.mark.skipif(not HAVE_CUPY, reason="CuPy with a CUDA GPU is not available here")


@pytest.fixture
def fresh_backends(monkeypatch):
    """Forget the created backends and the current choice, restoring both afterwards."""
    monkeypatch.setattr(backends, "_instances", {})
    monkeypatch.setattr(backends, "_current", None)
    return monkeypatch


def test_use_sets_the_backend_of_new_tensors(fresh_backends):
    assert backends.use("numpy") is backends.current() is backends.get("NumPy")
    assert mg.Tensor([1.0]).backend.name == "numpy"
    assert backends.get_array_module(np.ones(2)) is np and backends.backend_of(np.ones(2)).name == "numpy"


def test_environment_variable_chooses_the_default(fresh_backends):
    fresh_backends.setenv("MINIGRAD_BACKEND", "numpy")
    assert backends.current().name == "numpy"
    fresh_backends.setattr(backends, "_current", None)
    fresh_backends.setenv("MINIGRAD_BACKEND", "tpu")
    with pytest.raises(ValueError, match="unknown backend 'tpu'; choose one of numpy, cupy"):
        backends.current()


def test_missing_cupy_says_it_is_not_installed_and_how_to_get_it(fresh_backends):
    fresh_backends.setitem(sys.modules, "cupy", None)   # makes `import cupy` fail
    with pytest.raises(backends.BackendUnavailable, match=r"needs CuPy, which is not installed.*cuda12"):
        backends.get("cupy")
    assert not backends.available("cupy")
    fresh_backends.setenv("MINIGRAD_BACKEND", "cupy")
    with pytest.raises(backends.BackendUnavailable, match="not installed"):
        backends.current()
    with pytest.raises(backends.BackendUnavailable, match="not installed"):
        mg.Tensor(np.ones(2)).to("cupy")


def test_cupy_without_a_gpu_says_so(fresh_backends):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device))
    cupyx = types.ModuleType("cupyx")
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.ndimage = types.ModuleType("cupyx.scipy.ndimage")
    for name, module in [("cupy", cupy), ("cupyx", cupyx), ("cupyx.scipy", cupyx.scipy),
                         ("cupyx.scipy.ndimage", cupyx.scipy.ndimage)]:
        fresh_backends.setitem(sys.modules, name, module)
    with pytest.raises(backends.BackendUnavailable, match="CuPy is installed but no CUDA GPU can be used here"):
        backends.get("cupy")


def test_seeded_generators_repeat():
    numpy = backends.get("numpy")
    assert numpy.rng(3).normal(size=5).tobytes() == numpy.rng(3).normal(size=5).tobytes()


# ---------------------------------------------------------------------- on a GPU
def _conv_case(backend_name):
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.normal(size=(2, 4, 9, 8)), requires_grad=True, backend=backend_name)
    w = mg.Tensor(rng.normal(size=(6, 2, 3, 3)), requires_grad=True, backend=backend_name)
    b = mg.Tensor(rng.normal(size=6), requires_grad=True, backend=backend_name)
    y = F.conv2d(x, w, b, stride=2, padding=1, dilation=1, groups=2)
    g = rng.normal(size=y.shape)
    y.backward(g)
    return [y.numpy(), x.backend.to_numpy(x.grad), w.backend.to_numpy(w.grad), b.backend.to_numpy(b.grad)]


@needs_cupy
def test_conv2d_forward_backward_on_cupy_matches_numpy():
    for ours, reference in zip(_conv_case("cupy"), _conv_case("numpy")):
        np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-12)


@needs_cupy
def test_mixing_real_numpy_and_cupy_tensors_raises():
    with pytest.raises(TypeError, match=r"numpy tensor but input 1 is a cupy tensor; move one with"):
        mg.Tensor(np.ones(2)) + mg.Tensor(np.ones(2), backend="cupy")
    with pytest.raises(TypeError, match=r"batch_norm: running_mean is a numpy array but input x is a cupy tensor"):
        F.batch_norm(mg.Tensor(np.ones((2, 3)), backend="cupy"), np.zeros(3), np.ones(3), training=True)


@needs_cupy
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.01),
    lambda ps: optim.LBFGS(ps, history_size=5, max_iter=5, line_search_fn="strong_wolfe"),
])
def test_optimizers_on_cupy_take_the_numpy_steps(make):
    def run(backend_name):
        net = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0)), nn.Tanh(),
                            nn.Linear(4, 2, rng=np.random.default_rng(1))).astype("float64").to(backend_name)
        data = np.random.default_rng(2).normal(size=(5, 3))
        x, y = mg.Tensor(data, backend=backend_name), mg.Tensor(data[:, :2] ** 2, backend=backend_name)
        opt = make(net.parameters())

        def closure():
            opt.zero_grad()
            loss = ((net(x) - y) ** 2).mean()
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        return [p.numpy() for p in net.parameters()]

    for ours, reference in zip(run("cupy"), run("numpy")):
        np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12)
