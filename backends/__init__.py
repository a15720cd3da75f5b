"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

The engine never imports numpy or cupy for computation directly; it asks for the
array module of the arrays at hand, as Chainer's ``get_array_module`` does::

    xp = backends.get_array_module(x)      # numpy or cupy
    y = xp.maximum(x, 0)

A :class:`Backend` bundles the few things that differ between the two:

* ``xp``       the array module (``numpy`` / ``cupy``)
* ``ndimage``  its ``scipy.ndimage`` counterpart (``cupyx.scipy.ndimage`` on the GPU)
* ``rng(seed)``  a seeded random generator that lives on the device
* ``asarray`` / ``to_numpy``  moving data on and off the device

Choose the default with :func:`use` (``backends.use("cupy")``) or the environment
variable ``MINIGRAD_BACKEND``; move one tensor with ``tensor.to("cupy")``.
"""
from __future__ import annotations

import os

from backends.base import Backend, BackendUnavailable
from backends.numpy_backend import NumpyBackend

__all__ = [
    "Backend", "BackendUnavailable", "available", "current", "get", "get_array_module",
    "backend_of", "use", "default_dtype", "set_default_dtype",
]

_BACKEND_NAMES = ("numpy", "cupy")
_instances: dict[str, Backend] = {}
_current: Backend | None = None
_default_dtype = "float32"


def get(name: str) -> Backend:
    """Return the backend called ``name`` ("numpy" or "cupy"), creating it on first use.

    Raises :class:`BackendUnavailable` with the reason (CuPy not installed, no GPU) when the
    backend cannot run on this machine.
    """
    if isinstance(name, Backend):
        return name
    key = str(name).lower()
    if key not in _BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(_BACKEND_NAMES)}")
    if key not in _instances:
        if key == "numpy":
            _instances[key] = NumpyBackend()
        else:
            from backends.cupy_backend import CupyBackend  # imported lazily: cupy is optional
            _instances[key] = CupyBackend()
    return _instances[key]


def available(name: str) -> bool:
    """True when backend ``name`` can run here (CuPy installed and a GPU present)."""
    try:
        get(name)
        return True
    except BackendUnavailable:
        return False


def current() -> Backend:
    """The default backend: set by :func:`use`, else ``$MINIGRAD_BACKEND``, else NumPy.

    A bad ``$MINIGRAD_BACKEND`` (an unknown name, or ``cupy`` where CuPy or a GPU is missing)
    raises ValueError or :class:`BackendUnavailable` whose message starts with
    ``MINIGRAD_BACKEND=<value>:`` and says what to do; the command line calls this before
    any work and prints that message as one line."""
    global _current
    if _current is None:
        name = os.environ.get("MINIGRAD_BACKEND", "numpy") or "numpy"
        try:
            _current = get(name)
        except (BackendUnavailable, ValueError) as exc:
            raise type(exc)(f"MINIGRAD_BACKEND={name}: {exc}; unset MINIGRAD_BACKEND (or set it to "
                            f"numpy) to run on the CPU") from None
    return _current


def use(name: str) -> Backend:
    """Make ``name`` the default backend for new tensors and return it."""
    global _current
    _current = get(name)
    return _current


def backend_of(array) -> Backend:
    """The backend that owns ``array`` (a NumPy or CuPy array)."""
    module = type(array).__module__
    if module.startswith("cupy"):
        return get("cupy")
    return get("numpy")


def get_array_module(*arrays):
    """The array module (numpy or cupy) of the given arrays, as Chainer's helper of that name."""
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            return get("cupy").xp
    return get("numpy").xp


def default_dtype() -> str:
    """The floating dtype new tensors get: "float32" unless changed with :func:`set_default_dtype`."""
    return _default_dtype


def set_default_dtype(dtype: str) -> None:
    """Set the floating dtype of new tensors ("float32" or "float64")."""
    global _default_dtype
    if str(dtype) not in ("float32", "float64"):
        raise ValueError(f"default dtype must be 'float32' or 'float64', got {dtype!r}")
    _default_dtype = str(dtype)
