"""minigrad: a small, readable deep-learning engine in NumPy, with CuPy on the GPU.

    import minigrad as mg
    x = mg.Tensor(np.random.rand(1, 3, 32, 32), requires_grad=True)
    y = mg.functional.conv2d(x, w, b, padding=1).relu().sum()
    y.backward()            # x.grad is dL/dx
"""
__version__ = "0.1.0"

from minigrad.autograd_mode import enable_grad, is_grad_enabled, no_grad
from minigrad.tensor import Tensor, tensor
from minigrad import functional
from minigrad.functional import relu_mode
from minigrad.gradcheck import gradcheck, GradcheckError
from minigrad import nn, optim

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "functional",
           "relu_mode", "gradcheck", "GradcheckError", "nn", "optim", "__version__"]
