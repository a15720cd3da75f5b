"""The graph machinery: backward order, accumulation, freeing, error messages."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F


def test_backward_accumulates_through_shared_subexpressions():
    x = mg.Tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x * x          # used twice below
    z = (y + y * 3.0).sum()
    z.backward()
    np.testing.assert_allclose(x.grad, 8 * x.data)


def test_deep_graph_needs_no_recursion():
    x = mg.Tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(20000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.ones(3))


def test_graph_is_freed_unless_retained():
    x = mg.Tensor(np.ones(2), requires_grad=True)
    y = (x * 2.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, [4.0, 4.0])
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_nonscalar_backward_needs_a_gradient():
    x = mg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="needs grad="):
        (x * 2.0).backward()
    (x * 2.0).backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad, [2.0, 4.0, 6.0])


def test_no_grad_records_nothing():
    x = mg.Tensor(np.ones(2), requires_grad=True)
    with mg.no_grad():
        y = x * 2.0
    assert y.creator is None and not y.requires_grad


def test_frozen_inputs_get_no_gradient():
    x = mg.Tensor(np.ones(2), requires_grad=True)
    w = mg.Tensor(np.full(2, 3.0))
    (x * w).sum().backward()
    assert w.grad is None
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_retain_grad_on_intermediate():
    x = mg.Tensor(np.ones(2), requires_grad=True)
    h = (x * 2.0).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)


def test_shape_mismatch_names_function_and_shapes():
    a = mg.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        a + mg.Tensor(np.ones(4))
    with pytest.raises(ValueError, match="matmul"):
        a @ mg.Tensor(np.ones((2, 2)))


def test_python_numbers_keep_the_tensor_dtype():
    x = mg.Tensor(np.ones(2, dtype=np.float32))
    assert (x * 2.5).dtype == np.float32
    assert (1.0 - x).dtype == np.float32
    assert mg.Tensor([1.0, 2.0]).dtype == np.float32
