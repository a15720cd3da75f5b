"""Layers: thin modules that own parameters and call :mod:`minigrad.functional`.

Default initializations follow torch's, so a freshly built network has the statistics
people expect: Conv2d and Linear draw weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in))
(torch's kaiming_uniform with a = sqrt(5)), normalizations start at gamma = 1, beta = 0.
Random initialization takes a seeded generator (``rng``) so networks are reproducible.
"""
from __future__ import annotations

import math

import numpy as np

import backends
from minigrad import functional as F
from minigrad.nn.module import Module, Parameter
from minigrad.tensor import Tensor


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _uniform(rng, bound, shape):
    """U(-bound, bound) in the default dtype on the current backend, drawn on the host with
    NumPy so the same seed gives the same weights on every backend."""
    values = rng.uniform(-bound, bound, size=shape).astype(backends.default_dtype())
    return backends.current().asarray(values)


def _default_rng(rng):
    return rng if rng is not None else np.random.default_rng()


class Conv2d(Module):
    """2-D convolution (cross-correlation) with weight (out, in/groups, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, rng=None):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels {in_channels} and out_channels {out_channels} must "
                             f"both be divisible by groups {groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation, self.groups = _pair(padding), _pair(dilation), groups
        rng = _default_rng(rng)
        fan_in = in_channels // groups * self.kernel_size[0] * self.kernel_size[1]
        bound = 1 / math.sqrt(fan_in)
        self.weight = Parameter(_uniform(rng, bound, (out_channels, in_channels // groups) + self.kernel_size))
        self.bias = Parameter(_uniform(rng, bound, (out_channels,))) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        """The same text as torch's Conv2d repr (defaults left out)."""
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
                + (f", padding={self.padding}" if self.padding != (0, 0) else "")
                + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")
                + (f", groups={self.groups}" if self.groups != 1 else "")
                + (", bias=False" if self.bias is None else ""))


class ConvTranspose2d(Module):
    """Transposed convolution (the adjoint of Conv2d) with weight (in, out, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 bias=True, rng=None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.output_padding = _pair(padding), _pair(output_padding)
        rng = _default_rng(rng)
        bound = 1 / math.sqrt(out_channels * self.kernel_size[0] * self.kernel_size[1])
        self.weight = Parameter(_uniform(rng, bound, (in_channels, out_channels) + self.kernel_size))
        self.bias = Parameter(_uniform(rng, bound, (out_channels,))) if bias else None

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, output_padding={self.output_padding}")


class Linear(Module):
    """Fully connected layer, weight (out, in)."""

    def __init__(self, in_features, out_features, bias=True, rng=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        rng = _default_rng(rng)
        bound = 1 / math.sqrt(in_features)
        self.weight = Parameter(_uniform(rng, bound, (out_features, in_features)))
        self.bias = Parameter(_uniform(rng, bound, (out_features,))) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """max(x, 0); backward follows :func:`minigrad.relu_mode`."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                + (", ceil_mode=True" if self.ceil_mode else ""))


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = _pair(output_size)

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W), in C, H, W order as torch flattens."""

    def forward(self, x):
        return F.flatten(x, 1)


class Dropout(Module):
    """Zero each element with probability p in training and scale the rest by 1/(1-p)
    (inverted dropout); the identity in evaluation mode. ``rng`` seeds the masks."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        object.__setattr__(self, "rng", rng)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.rng is None:
            object.__setattr__(self, "rng", x.backend.rng())
        return F.dropout(x, self.p, training=True, rng=self.rng)

    def extra_repr(self):
        return f"p={self.p}"


class BatchNorm2d(Module):
    """Batch normalization over (N, H, W) per channel, with running statistics for evaluation."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        xp, dtype = backends.current().xp, backends.default_dtype()
        self.weight = Parameter(xp.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(xp.zeros(num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", Tensor(xp.zeros(num_features, dtype=dtype)))
        self.register_buffer("running_var", Tensor(xp.ones(num_features, dtype=dtype)))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean.data, self.running_var.data, self.weight, self.bias,
                            training=self.training, momentum=self.momentum, eps=self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class InstanceNorm2d(Module):
    """Instance normalization (Ulyanov et al. 2016): each sample's channel normalized over
    its own H, W; optional affine gamma, beta."""

    def __init__(self, num_features, eps=1e-5, affine=True):
        super().__init__()
        self.num_features, self.eps = num_features, eps
        xp, dtype = backends.current().xp, backends.default_dtype()
        self.weight = Parameter(xp.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(xp.zeros(num_features, dtype=dtype)) if affine else None

    def forward(self, x):
        return F.instance_norm(x, self.weight, self.bias, eps=self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}"


class ConditionalInstanceNorm2d(Module):
    """Conditional instance normalization (Dumoulin, Shlens & Kudlur 2017): one (gamma, beta)
    pair per style. ``forward(x, style)`` takes ``style`` as an int index per sample (N,) or
    as mixing weights (N, num_styles), which blend the styles' gamma and beta linearly."""

    def __init__(self, num_features, num_styles, eps=1e-5):
        super().__init__()
        self.num_features, self.num_styles, self.eps = num_features, num_styles, eps
        xp, dtype = backends.current().xp, backends.default_dtype()
        self.weight = Parameter(xp.ones((num_styles, num_features), dtype=dtype))
        self.bias = Parameter(xp.zeros((num_styles, num_features), dtype=dtype))

    def forward(self, x, style):
        style = style if isinstance(style, Tensor) else Tensor(x.backend.asarray(style))
        if style.ndim == 1:  # style indices -> one-hot mixing weights
            if style.dtype.kind not in "iu":
                raise TypeError("ConditionalInstanceNorm2d: a 1-D style must hold integer style indices")
            eye = x.backend.xp.eye(self.num_styles, dtype=x.dtype)
            style = Tensor(eye[style.data])
        if style.shape != (x.shape[0], self.num_styles):
            raise ValueError(f"ConditionalInstanceNorm2d: style has shape {style.shape}, expected "
                             f"({x.shape[0]},) indices or ({x.shape[0]}, {self.num_styles}) weights")
        return F.instance_norm(x, style @ self.weight, style @ self.bias, eps=self.eps)

    def extra_repr(self):
        return f"{self.num_features}, num_styles={self.num_styles}"


class LocalResponseNorm(Module):
    """Local response normalization across channels (Krizhevsky et al. 2012; Caffe AlexNet)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Upsample(Module):
    """Nearest-neighbour upsampling by an integer ``scale_factor``."""

    def __init__(self, scale_factor=2):
        super().__init__()
        self.scale_factor = scale_factor

    def forward(self, x):
        return F.upsample_nearest2d(x, scale_factor=self.scale_factor)

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}"


class ReflectionPad2d(Module):
    """Pad H and W by reflecting the border (no edge repeat), as torch's ReflectionPad2d."""

    def __init__(self, padding):
        super().__init__()
        self.padding = (padding,) * 4 if isinstance(padding, int) else tuple(padding)

    def forward(self, x):
        return F.pad(x, self.padding, mode="reflect")

    def extra_repr(self):
        return f"{self.padding}"
