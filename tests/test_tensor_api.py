"""The Tensor's user-facing API: indexing with backward, conversions, dtypes, errors."""
import numpy as np
import pytest

import backends
import minigrad as mg
from minigrad import functional as F
from backends.base import Backend


pytestmark = pytest.mark.usefixtures("numpy_backend")  # CPU reference checks


@pytest.mark.parametrize("index", [
    (slice(1, None), slice(None, None, 2)),
    (Ellipsis, 1),
    np.array([2, 0, 2, 2]),                                  # repeated rows accumulate
    (np.array([0, 1, 1]), np.array([3, 3, 0])),
    np.array([[True, False, True, False]] * 3),              # boolean mask
])
def test_indexing_backward_matches_torch(torch, index):
    x_np = np.random.default_rng(0).normal(size=(3, 4))
    x = mg.Tensor(x_np, requires_grad=True)
    y = x[index]
    g = np.random.default_rng(1).normal(size=y.shape)
    y.backward(g)

    tx = torch.tensor(x_np, requires_grad=True)
    tindex = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index) \
        if isinstance(index, tuple) else torch.from_numpy(index)
    ty = tx[tindex]
    ty.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_indexing_with_a_tensor_index_and_repeats():
    x = mg.Tensor(np.arange(4.0), requires_grad=True)
    x[mg.Tensor(np.array([1, 1, 3]))].sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0, 1.0]


def test_to_same_backend_is_the_same_tensor_and_data_is_not_copied():
    data = np.ones((2, 2), dtype=np.float32)
    x = mg.Tensor(data, backend="numpy")
    assert x.data is data and x.to("numpy") is x and x.to(backends.get("numpy")) is x
    assert x.backend.name == "numpy"


def test_numpy_item_detach():
    x = mg.Tensor(np.array([[1.5, 2.0]]), requires_grad=True)
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().tolist() == [[1.5, 2.0]]
    y = (x * 2.0).sum()
    assert y.item() == 7.0 and isinstance(y.item(), float)
    with pytest.raises(ValueError, match=r"item\(\) needs a tensor with one element.*\(1, 2\)"):
        x.item()
    d = (x * 3.0).detach()
    assert d.creator is None and not d.requires_grad and d.numpy().tolist() == [[4.5, 6.0]]
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        d.sum().backward()


def test_backward_on_a_non_scalar_without_gradient_says_so():
    x = mg.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\) needs grad="):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the tensor has shape \(2, 3\)"):
        (x * 2.0).backward(np.ones(3))


class _FakeGPU(Backend):
    """Stands in for CuPy so the mixing checks run on machines without a GPU."""
    name, xp = "cupy", np

    def asarray(self, data, dtype=None):
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return np.asarray(array)


def test_mixing_numpy_and_cupy_tensors_names_both_and_the_fix():
    a = mg.Tensor(np.ones(3), requires_grad=True)
    b = mg.Tensor(np.ones(3))
    b.backend = _FakeGPU()
    with pytest.raises(TypeError) as err:
        a + b
    message = str(err.value)
    assert "add" in message and "input 0 is a numpy tensor" in message and "input 1 is a cupy tensor" in message
    assert ".to('numpy')" in message and ".to('cupy')" in message


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved_through_ops_and_gradients(dtype):
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.normal(size=(3, 4)).astype(dtype), requires_grad=True)
    w = mg.Tensor(rng.normal(size=(4, 2)).astype(dtype), requires_grad=True)
    y = ((x @ w).relu() * 0.5 + 1.0) ** 2
    z = (F.log_softmax(y, axis=1)[:, 0].exp() / 3.0 - np.float64(2.0)).mean()
    assert y.dtype == dtype and z.dtype == dtype
    z.backward()
    assert x.grad.dtype == dtype and w.grad.dtype == dtype


def test_python_data_takes_the_default_float_dtype_and_ints_stay_ints():
    assert mg.Tensor([1.0, 2.0]).dtype == np.float32
    assert mg.Tensor([1, 2]).dtype.kind == "i"
    assert mg.Tensor([1.0], dtype="float64").dtype == np.float64
