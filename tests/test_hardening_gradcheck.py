"""gradcheck cannot be fooled by NaN or Inf (issue 10, item 1).

A comparison ``|a - n| <= atol + rtol |n|`` is False for NaN, so an excess computed from it is
NaN, and ``argmax``/``> 0`` on NaN let a NaN gradient through. These tests feed gradcheck
functions whose backward is wrong (or NaN) and check that it fails, naming the element.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.function import Function


def _square_with_backward(backward):
    """y = x**2 with a hand-written ``backward(x, g) -> grad`` (the one under test)."""

    class Square(Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, g):
            return backward(self.x, g)

    return lambda x: Square()(x)


def _x(n=6):
    return mg.tensor(np.linspace(0.5, 1.5, n), dtype="float64", requires_grad=True)


def test_correct_backward_passes():
    assert mg.gradcheck(_square_with_backward(lambda x, g: 2 * x * g), [_x()])


def test_wrong_backward_with_one_nan_fails_naming_the_nan():
    def backward(x, g):
        grad = 3 * x * g
        grad[2] = np.nan
        return grad

    with pytest.raises(mg.GradcheckError, match=r"index \(2,\).*analytic nan"):
        mg.gradcheck(_square_with_backward(backward), [_x()])


def test_all_nan_backward_fails():
    with pytest.raises(mg.GradcheckError, match=r"analytic nan"):
        mg.gradcheck(_square_with_backward(lambda x, g: np.full_like(x, np.nan)), [_x()])


def test_inf_in_backward_fails():
    def backward(x, g):
        grad = 2 * x * g
        grad[4] = np.inf
        return grad

    with pytest.raises(mg.GradcheckError, match=r"index \(4,\).*analytic inf"):
        mg.gradcheck(_square_with_backward(backward), [_x()])


def test_nan_output_fails_naming_the_output_element():
    def f(x):
        return x.sqrt()

    x = mg.tensor(np.array([1.0, 4.0, -1.0, 9.0]), dtype="float64", requires_grad=True)
    with np.errstate(invalid="ignore"):
        with pytest.raises(mg.GradcheckError, match=r"output.*index \(2,\).*nan"):
            mg.gradcheck(f, [x])


def test_nan_numeric_gradient_fails():
    """The output is finite at x but NaN one step away: the numeric gradient is NaN."""
    def f(x):
        return (x - 1.0) ** 0.5

    x = mg.tensor(np.array([2.0, 1.0 + 1e-7, 3.0]), dtype="float64", requires_grad=True)
    with np.errstate(invalid="ignore"):
        with pytest.raises(mg.GradcheckError, match=r"index \(1,\).*numeric nan"):
            mg.gradcheck(f, [x])


def test_no_raise_returns_false_on_nan():
    ok = mg.gradcheck(_square_with_backward(lambda x, g: np.full_like(x, np.nan)), [_x()],
                      raise_on_failure=False)
    assert ok is False
