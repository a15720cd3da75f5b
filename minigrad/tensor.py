"""The :class:`Tensor`: a backend array that remembers how it was made.

A tensor wraps a NumPy or CuPy array (``tensor.data``). When it is the result of a
:class:`~minigrad.function.Function` applied to tensors that require a gradient, it keeps a
link to that function (``tensor.creator``), and the functions keep links to their inputs:
that chain of links is the computation graph. :meth:`Tensor.backward` walks it once, in
reverse topological order, and applies the chain rule at each function.
"""
from __future__ import annotations

import numpy as np

import backends


class Tensor:
    """An n-dimensional array with an optional gradient.

    Parameters
    ----------
    data : array-like, Tensor
        A NumPy or CuPy array (kept as it is, without a copy), or a Python number or list
        (converted to the default float dtype, float32 unless changed).
    requires_grad : bool
        Whether :meth:`backward` should compute ``self.grad``.
    backend : str, optional
        Put the data on this backend ("numpy" or "cupy"); default: where ``data`` already is,
        or the current backend for Python data.
    dtype : optional
        Convert the data to this dtype.
    """

    __array_priority__ = 1000  # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, backend=None, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        module = type(data).__module__.split(".")[0]
        if module in ("numpy", "cupy") and hasattr(data, "shape"):
            owner = backends.backend_of(data)
            target = backends.get(backend) if backend is not None else owner
            if target is not owner:
                data = target.asarray(owner.to_numpy(data))
            if dtype is not None and data.dtype != np.dtype(dtype):
                data = data.astype(dtype)
        else:
            target = backends.get(backend) if backend is not None else backends.current()
            if dtype is None and _is_float_data(data):
                dtype = backends.default_dtype()
            data = target.asarray(data, dtype=dtype)
        self.data = data
        self.backend = target
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.creator = None
        self.creator_index = 0
        self.retains_grad = False
        self.name = None

    # ---------------------------------------------------------------- properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.backend.to_numpy(self.data), prefix="Tensor(", threshold=20)
        extra = f", backend={self.backend.name}" if self.backend.name != "numpy" else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.dtype}{extra}{grad})"

    # ---------------------------------------------------------------- conversion
    def numpy(self):
        """The data as a NumPy array (a copy off the GPU; the array itself on the CPU)."""
        return self.backend.to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.reshape(()).item()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (no creator, no gradient)."""
        return Tensor(self.data)

    def to(self, backend) -> "Tensor":
        """This tensor on ``backend`` ("numpy" or "cupy"), as a new leaf tensor."""
        target = backends.get(backend)
        if target is self.backend:
            return self
        return Tensor(target.asarray(self.backend.to_numpy(self.data)), requires_grad=self.requires_grad)

    def astype(self, dtype) -> "Tensor":
        """A leaf copy of this tensor with another dtype."""
        return Tensor(self.data.astype(dtype), requires_grad=self.requires_grad)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        self.retains_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    # ---------------------------------------------------------------- backward
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires one.

        ``grad`` is dL/dself; it may be left out only when this tensor has one element
        (then it is 1). Gradients accumulate into ``leaf.grad``. Functions are visited in
        reverse topological order, found without recursion so that deep graphs work. The
        graph's saved buffers are freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require a gradient and has no graph; "
                               "create the inputs with requires_grad=True")
        xp = self.backend.xp
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} needs grad=, an array of the same "
                    "shape (dL/dself); only a one-element tensor gets the implicit gradient 1")
            grad = xp.ones(self.shape, dtype=self.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = self.backend.asarray(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad has shape {grad.shape} but the tensor has shape {self.shape}")

        if self.creator is None:
            self._accumulate(grad)
            return
        if getattr(self.creator, "released", False):
            raise RuntimeError("backward() through a graph that was already freed; "
                               "pass retain_graph=True to the first backward() to keep it")

        pending = {(id(self.creator), self.creator_index): grad}
        if self.retains_grad:
            self._accumulate(grad)
        for function in _reverse_topological_order(self.creator):
            grads_out = []
            for index, (shape, dtype) in enumerate(function.output_meta):
                g = pending.pop((id(function), index), None)
                grads_out.append(xp.zeros(shape, dtype=dtype) if g is None else g)
            grads_in = function.backward(*grads_out)
            if not isinstance(grads_in, tuple):
                grads_in = (grads_in,)
            for tensor, g, needed in zip(function.inputs, grads_in, function.needs_input_grad):
                if not needed or g is None:
                    continue
                if g.shape != tensor.shape:
                    raise RuntimeError(f"{function._name()}.backward returned a gradient of shape "
                                       f"{g.shape} for an input of shape {tensor.shape}")
                if tensor.creator is None or tensor.retains_grad:
                    tensor._accumulate(g)
                if tensor.creator is not None:
                    key = (id(tensor.creator), tensor.creator_index)
                    pending[key] = g if key not in pending else pending[key] + g
            if not retain_graph:
                function.release()

    def _accumulate(self, grad) -> None:
        if grad.dtype != self.dtype:
            grad = grad.astype(self.dtype)
        self.grad = grad if self.grad is None else self.grad + grad

    # ---------------------------------------------------------------- operators
    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pow__(self, exponent):
        return F.pow(self, exponent)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __getitem__(self, index):
        return F.getitem(self, index)

    # comparisons give plain (non-differentiable) boolean tensors
    def __lt__(self, other):
        return Tensor(self.data < _raw(other))

    def __le__(self, other):
        return Tensor(self.data <= _raw(other))

    def __gt__(self, other):
        return Tensor(self.data > _raw(other))

    def __ge__(self, other):
        return Tensor(self.data >= _raw(other))

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- methods
    def sum(self, axis=None, keepdims=False):
        return F.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return F.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return F.max(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return F.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return F.transpose(self, axes or None)

    def permute(self, *axes):
        return self.transpose(*axes)

    @property
    def T(self):
        return F.transpose(self, None)

    def flatten(self, start_dim=1):
        return F.flatten(self, start_dim)

    def exp(self):
        return F.exp(self)

    def log(self):
        return F.log(self)

    def sqrt(self):
        return F.sqrt(self)

    def abs(self):
        return F.abs(self)

    def tanh(self):
        return F.tanh(self)

    def sigmoid(self):
        return F.sigmoid(self)

    def relu(self):
        return F.relu(self)

    def clip(self, low=None, high=None):
        return F.clip(self, low, high)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _is_float_data(data) -> bool:
    """Python floats (and lists of them) take the default float dtype; ints and bools keep theirs."""
    return np.asarray(data).dtype.kind == "f"


def tensor(data, requires_grad: bool = False, backend=None, dtype=None) -> Tensor:
    """Create a :class:`Tensor` (a convenience alias of the constructor)."""
    return Tensor(data, requires_grad=requires_grad, backend=backend, dtype=dtype)


def _reverse_topological_order(root_function):
    """Functions reachable from ``root_function``, each after every function that uses its
    outputs: an iterative depth-first post-order, reversed."""
    order, visited = [], set()
    stack = [(root_function, False)]
    while stack:
        function, children_done = stack.pop()
        if children_done:
            order.append(function)
            continue
        if id(function) in visited:
            continue
        visited.add(id(function))
        stack.append((function, True))
        for tensor in function.inputs:
            if tensor is not None and tensor.creator is not None and id(tensor.creator) not in visited:
                stack.append((tensor.creator, False))
    order.reverse()
    return order


# the one import back into the package (see minigrad/__init__.py): the functions import Tensor,
# so they are imported once it is defined
from minigrad import functional as F  # noqa: E402
