"""Normalization layers: batch_norm, instance_norm (plain, affine and conditional) and
local_response_norm.

Batch and instance normalization share one computation, differing only in the axes the
statistics are taken over::

    x_hat = (x - mu) / sqrt(var + eps),   y = gamma * x_hat + beta

with mu and the biased variance var taken over the axes A (batch norm: N and the spatial
axes, per channel; instance norm: the spatial axes, per sample and channel). With
g_hat = dL/dx_hat = gamma * dL/dy and m the number of elements averaged over,

    dL/dx = (g_hat - mean_A(g_hat) - x_hat * mean_A(g_hat * x_hat)) / sqrt(var + eps)

when mu and var are statistics of x itself, and simply g_hat / sqrt(var + eps) when they
are fixed (batch norm in evaluation mode). dL/dgamma and dL/dbeta sum g * x_hat and g over
the axes gamma and beta were broadcast along.
"""
from __future__ import annotations

import backends
from backends import get_array_module
from minigrad.function import Function, sum_to
from minigrad.tensor import Tensor  # defined before minigrad.tensor imports the functions


class _Normalize(Function):
    """y = gamma * (x - mean) * inv_std + beta; subclasses choose the statistics."""

    #: whether mean and inv_std are functions of x (then they take part in backward)
    batch_statistics = True

    def statistics(self, x):
        """Return (mean, inv_std), each shaped to broadcast against x."""
        raise NotImplementedError

    def forward(self, x, weight, bias):
        mean, self.inv_std = self.statistics(x)
        self.x_hat = (x - mean) * self.inv_std
        self.gamma = None if weight is None else weight.reshape(self.param_view)
        self.param_shapes = (None if weight is None else weight.shape, None if bias is None else bias.shape)
        y = self.x_hat if weight is None else self.x_hat * self.gamma
        return y if bias is None else y + bias.reshape(self.param_view)

    def backward(self, gy):
        g_hat = gy if self.gamma is None else gy * self.gamma
        gx = None
        if self.needs_input_grad[0]:
            if self.batch_statistics:
                axes = self.axes
                g_hat = (g_hat - g_hat.mean(axis=axes, keepdims=True)
                         - self.x_hat * (g_hat * self.x_hat).mean(axis=axes, keepdims=True))
            gx = g_hat * self.inv_std
        weight_shape, bias_shape = self.param_shapes
        gw = gb = None
        if weight_shape is not None and self.needs_input_grad[1]:
            gw = sum_to(gy * self.x_hat, self.param_view).reshape(weight_shape)
        if bias_shape is not None and self.needs_input_grad[2]:
            gb = sum_to(gy, self.param_view).reshape(bias_shape)
        return gx, gw, gb


class BatchNorm(_Normalize):
    """Batch normalization (Ioffe & Szegedy 2015) of x (N, C, ...) per channel.

    Training: statistics of the batch over N and the spatial axes, and the running
    statistics move towards them in place,
    running = (1 - momentum) * running + momentum * batch (with the unbiased batch variance,
    as torch does). Evaluation: the running statistics, which are constants for backward.
    """

    def __init__(self, running_mean, running_var, training, momentum, eps):
        self.running_mean, self.running_var = running_mean, running_var
        self.batch_statistics = training or running_mean is None
        self.momentum, self.eps = momentum, eps

    def forward(self, x, weight, bias):
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.param_view = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        return super().forward(x, weight, bias)

    def statistics(self, x):
        xp = get_array_module(x)
        if not self.batch_statistics:
            view = self.param_view
            return (self.running_mean.reshape(view),
                    1 / xp.sqrt(self.running_var.reshape(view) + self.eps))
        mean = x.mean(axis=self.axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=self.axes, keepdims=True)
        if self.running_mean is not None:
            count = x.size // x.shape[1]
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean.reshape(-1)
            self.running_var *= 1 - m
            self.running_var += (m * count / (count - 1)) * var.reshape(-1)
        return mean, 1 / xp.sqrt(var + self.eps)


class InstanceNorm(_Normalize):
    """Instance normalization (Ulyanov, Vedaldi & Lempitsky 2016): each sample's channel
    normalized over its own spatial axes. gamma and beta are (C,) or, for conditional
    instance normalization (Dumoulin, Shlens & Kudlur 2017), per sample (N, C)."""

    def __init__(self, eps, per_sample):
        self.eps, self.per_sample = eps, per_sample

    def forward(self, x, weight, bias):
        self.axes = tuple(range(2, x.ndim))
        lead = x.shape[:2] if self.per_sample else (1, x.shape[1])
        self.param_view = lead + (1,) * (x.ndim - 2)
        return super().forward(x, weight, bias)

    def statistics(self, x):
        xp = get_array_module(x)
        mean = x.mean(axis=self.axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=self.axes, keepdims=True)
        return mean, 1 / xp.sqrt(var + self.eps)


def _raw(array):
    return array.data if isinstance(array, Tensor) else array


def _check_params(name, x, allowed, **params):
    for label, p in params.items():
        if p is not None and tuple(p.shape) not in allowed:
            options = " or ".join(str(s) for s in allowed)
            raise ValueError(f"{name}: {label} has shape {tuple(p.shape)} but input {tuple(x.shape)} needs {options}")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization of x (N, C) or (N, C, H, W) per channel.

    ``running_mean`` and ``running_var`` are raw backend arrays of shape (C,) (or None, then
    batch statistics are used in both modes); in training they are updated in place.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, ...), got shape {tuple(x.shape)}")
    running_mean, running_var = _raw(running_mean), _raw(running_var)
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    c = x.shape[1]
    _check_params("batch_norm", x, [(c,)], running_mean=running_mean, running_var=running_var,
                  weight=weight, bias=bias)
    if training and x.size // c < 2:
        raise ValueError(f"batch_norm: training needs more than one value per channel, input has shape "
                         f"{tuple(x.shape)}; use a larger batch or eval mode")
    for label, array in (("running_mean", running_mean), ("running_var", running_var)):
        if array is not None and backends.backend_of(array) is not x.backend:
            raise TypeError(f"batch_norm: {label} is a {backends.backend_of(array).name} array but input x is a "
                            f"{x.backend.name} tensor; the running statistics are updated in place, so create "
                            f"them on the input's backend (x.backend.asarray(array))")
    return BatchNorm(running_mean, running_var, training, momentum, eps)(x, weight, bias)


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    """Instance normalization of x (N, C, H, W); ``weight`` and ``bias`` are (C,) or per-sample
    (N, C) (conditional instance normalization)."""
    if x.ndim < 3:
        raise ValueError(f"instance_norm: input must be (N, C, H, W) (or (N, C, L)), got shape {tuple(x.shape)}")
    n, c = x.shape[:2]
    _check_params("instance_norm", x, [(c,), (n, c)], weight=weight, bias=bias)
    per_sample = any(p is not None and p.ndim == 2 for p in (weight, bias))
    return InstanceNorm(eps, per_sample)(x, weight, bias)


class LocalResponseNorm(Function):
    """Local response normalization across channels (Krizhevsky et al. 2012, Caffe's AlexNet
    LRN; torch semantics):

        y_c = x_c / d_c^beta,   d_c = k + alpha / size * sum_{j in W(c)} x_j^2

    where the window W(c) = [c - size//2, c + (size-1)//2] is zero-padded at the ends. Then

        dL/dx_i = g_i / d_i^beta - 2 alpha beta / size * x_i * sum_{c: i in W(c)} g_c y_c / d_c
    """

    def __init__(self, size, alpha, beta, k):
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        front, back = self.size // 2, (self.size - 1) // 2
        self.d = self.k + (self.alpha / self.size) * _window_sum(x * x, front, back)
        self.x = x
        self.scale = self.d ** -self.beta
        self.y = x * self.scale
        return self.y

    def backward(self, gy):
        front, back = self.size // 2, (self.size - 1) // 2
        spread = _window_sum(gy * self.y / self.d, back, front)  # the transposed window
        return gy * self.scale - (2 * self.alpha * self.beta / self.size) * self.x * spread


def _window_sum(a, front, back):
    """s_c = sum of a_j for j in [c - front, c + back] along axis 1, zero outside."""
    xp = get_array_module(a)
    c = a.shape[1]
    padding = [(0, 0)] * a.ndim
    padding[1] = (front, back)
    padded = xp.pad(a, padding)
    total = padded[:, 0:c].copy()
    for offset in range(1, front + back + 1):
        total += padded[:, offset:offset + c]
    return total


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Normalize each activation by the energy of ``size`` neighbouring channels (torch's
    ``local_response_norm``, Caffe's AlexNet LRN across channels)."""
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: input must be (N, C, H, W) (or (N, C, L)), got shape {tuple(x.shape)}")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    return LocalResponseNorm(size, alpha, beta, k)(x)
