"""minigrad: a small, readable deep-learning engine in NumPy, with CuPy on the GPU.

    import minigrad as mg
    x = mg.Tensor(np.random.rand(1, 3, 32, 32), requires_grad=True)
    y = mg.functional.conv2d(x, w, b, padding=1).relu().sum()
    y.backward()            # x.grad is dL/dx

Every op is written first as its plain reference (:mod:`minigrad.functional`); faster
kernels for the same results live in :mod:`minigrad.kernels`.
``with mg.fast_paths(False):`` (or ``MINIGRAD_FAST_PATHS=0``) runs the references alone.

Imports inside the package go one way, ``autograd_mode, kernels <- tensor <- function <-
functional <- nn, optim``, with one documented edge back: :mod:`minigrad.tensor` imports
:mod:`minigrad.functional` at its end (after ``Tensor`` is defined), so that ``x.relu()``
and ``x + y`` can call the functions that build Tensors.
"""
__version__ = "0.1.0"

from minigrad.autograd_mode import enable_grad, is_grad_enabled, no_grad
from minigrad.kernels import fast_paths
from minigrad.tensor import Tensor, tensor
from minigrad import functional
from minigrad.functional import relu_mode
from minigrad.gradcheck import gradcheck, GradcheckError
from minigrad import nn, optim

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "functional",
           "relu_mode", "fast_paths", "gradcheck", "GradcheckError", "nn", "optim", "__version__"]
