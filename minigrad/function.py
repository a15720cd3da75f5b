"""The base of every differentiable operation.

A :class:`Function` is one node of the computation graph (the design of DeZero and of
Chainer). Its ``forward`` takes backend arrays and returns arrays; its ``backward`` takes the
gradients of the loss with respect to the outputs and returns the gradients with respect to
the inputs, by the chain rule::

    y = f(x)            dL/dx = dL/dy · dy/dx      (a vector-Jacobian product)

``Function.__call__`` wraps this in tensors: it unwraps the inputs, runs ``forward``, wraps
the outputs and, when a gradient is wanted, links each output to this function
(``output.creator``) so that :meth:`Tensor.backward` can walk the graph in reverse.

Subclasses keep what ``backward`` needs as attributes during ``forward`` (``self.x = x``).
They may read ``self.needs_input_grad`` (a tuple of bools, one per input) to skip gradients
nobody asked for: the input gradient of a frozen network, for example, needs no weight
gradients.
"""
from __future__ import annotations

import backends
from minigrad.autograd_mode import is_grad_enabled
from minigrad.tensor import Tensor  # defined before minigrad.tensor imports the functions


class Function:
    """One differentiable operation. Subclass and implement ``forward`` and ``backward``."""

    #: the name used in error messages (defaults to the lower-case class name)
    name: str | None = None

    def __call__(self, *inputs):
        tensors = _as_tensors(inputs, self._name())
        arrays = [None if t is None else t.data for t in tensors]
        outputs = self.forward(*arrays)
        single = not isinstance(outputs, tuple)
        if single:
            outputs = (outputs,)
        needs = tuple(t is not None and t.requires_grad for t in tensors)
        record = is_grad_enabled() and any(needs)
        results = tuple(Tensor(y, requires_grad=record) for y in outputs)
        if record:
            self.inputs = tensors
            self.needs_input_grad = needs
            self.output_meta = tuple((y.shape, y.dtype) for y in outputs)
            for index, result in enumerate(results):
                result.creator = self
                result.creator_index = index
        else:
            self.release()
        return results[0] if single else results

    def forward(self, *xs):
        """Compute the outputs from input arrays. Return one array or a tuple of arrays."""
        raise NotImplementedError

    def backward(self, *grad_outputs):
        """Return one gradient (or None) per input, given one gradient per output."""
        raise NotImplementedError

    def release(self) -> None:
        """Drop the inputs and everything saved for backward (called after backward)."""
        self.__dict__.clear()
        self.released = True

    def _name(self) -> str:
        return self.name or type(self).__name__.lower()


def _as_tensors(inputs, function_name):
    """Wrap plain arrays and Python numbers as constant tensors on the inputs' backend, and
    refuse a mix of NumPy and CuPy tensors with a message that says how to fix it."""
    tensor_inputs = [(i, x) for i, x in enumerate(inputs) if isinstance(x, Tensor)]
    if not tensor_inputs:
        raise TypeError(f"{function_name}: at least one input must be a Tensor")
    first_index, first = tensor_inputs[0]
    for index, t in tensor_inputs[1:]:
        if t.backend is not first.backend:
            raise TypeError(
                f"{function_name}: input {first_index} is a {first.backend.name} tensor but input "
                f"{index} is a {t.backend.name} tensor; move one with .to('{first.backend.name}') "
                f"or .to('{t.backend.name}')")
    float_dtype = next((t.dtype for _, t in tensor_inputs if t.dtype.kind == "f"), None)
    out = []
    for x in inputs:
        if x is None or isinstance(x, Tensor):
            out.append(x)
            continue
        if type(x).__module__.split(".")[0] in ("numpy", "cupy") and getattr(x, "ndim", 0) > 0:
            if backends.backend_of(x) is not first.backend:
                raise TypeError(
                    f"{function_name}: a {backends.backend_of(x).name} array was mixed with "
                    f"{first.backend.name} tensors; convert it with Tensor(array).to('{first.backend.name}')")
            out.append(Tensor(x))
        else:  # a Python or NumPy number, or a list: take the dtype of the tensors (torch's rule,
            # so a float64 scalar does not promote float32 data)
            out.append(Tensor(first.backend.asarray(x, dtype=float_dtype)))
    return out


def sum_to(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``.

    If ``y = x + b`` broadcast ``b`` from ``shape`` to ``grad.shape``, then
    dL/db = sum of dL/dy over the broadcast axes.
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(grad.shape[lead:])
    return grad
