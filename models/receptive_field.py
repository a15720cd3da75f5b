"""Receptive fields of the layers of a chain network, from its convolutions and pools.

For a layer whose output unit ``i`` (along one axis) depends on input pixels

    [start + i * jump,  start + i * jump + size - 1]

a convolution or pool with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d``
(effective kernel ``k' = d (k - 1) + 1``) maps ``(size, jump, start)`` of its input to

    size'  = size + (k' - 1) * jump
    jump'  = jump * s
    start' = start - p * jump

starting from the input itself, ``(1, 1, 0)``. Element-wise layers (ReLU, dropout, norms
acting per position) keep the field. A negative ``start`` or a window past the border reaches
into the padding: :meth:`Field.window` clips it to the image. After a layer that mixes every
position (Flatten, Linear, adaptive pooling to another size) the field is the whole input
(``None``). The rule is the one of A. Araujo, W. Norris, J. Sim, "Computing Receptive Fields
of Convolutional Neural Networks", Distill 2019; it is checked in the tests against a
brute-force measurement (perturb one input pixel, see which outputs change).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Field", "receptive_fields", "output_shapes", "INPUT"]

# Layers that act on each position by itself: the receptive field passes through unchanged.
_POINTWISE = ("ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Dropout", "BatchNorm2d", "Identity")


@dataclass(frozen=True)
class Field:
    """The receptive field of every unit of one layer, per axis (rows, columns)."""

    size: tuple
    jump: tuple
    start: tuple

    def window(self, row: int, col: int, image_size) -> tuple:
        """Input pixels (top, left, bottom, right), bottom/right exclusive, seen by the unit at
        (row, col), clipped to an image of ``image_size = (height, width)``."""
        top = self.start[0] + row * self.jump[0]
        left = self.start[1] + col * self.jump[1]
        return (max(top, 0), max(left, 0), min(top + self.size[0], image_size[0]),
                min(left + self.size[1], image_size[1]))

    def describe(self) -> str:
        def pair(v):
            return str(v[0]) if v[0] == v[1] else f"{v[0]}x{v[1]}"
        return f"size {pair(self.size)}, jump {pair(self.jump)}, start {pair(self.start)}"


INPUT = Field((1, 1), (1, 1), (0, 0))


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _step(field: Field, kernel, stride, padding, dilation=1) -> Field:
    k, s, p, d = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    size = tuple(field.size[a] + (d[a] * (k[a] - 1)) * field.jump[a] for a in range(2))
    return Field(size, tuple(field.jump[a] * s[a] for a in range(2)),
                 tuple(field.start[a] - p[a] * field.jump[a] for a in range(2)))


def receptive_fields(network, input_size=None) -> dict:
    """{dotted path: :class:`Field` or None} for every layer of ``network`` in chain order.

    ``input_size`` (h, w) decides whether an adaptive average pool is the identity (its output
    size equals its input's, as in AlexNet and VGG-16 at 224 x 224); default: the network's
    preprocessing input size. None from the first layer that mixes all positions onwards.
    """
    size = tuple(input_size or network.preprocessing.input_size)
    field, out = INPUT, {}
    for path, layer in network.layers():
        kind = type(layer).__name__
        if field is None or kind in _POINTWISE:
            pass
        elif kind == "Conv2d":
            field = _step(field, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
            size = _conv_out(size, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
        elif kind in ("MaxPool2d", "AvgPool2d"):
            field = _step(field, layer.kernel_size, layer.stride, layer.padding)
            size = _conv_out(size, layer.kernel_size, layer.stride, layer.padding, 1, layer.ceil_mode)
        elif kind == "AdaptiveAvgPool2d" and tuple(layer.output_size) == size:
            pass
        else:
            field = None
        out[path] = field
    return out


def _conv_out(size, kernel, stride, padding, dilation=1, ceil_mode=False) -> tuple:
    """Output (h, w) of a convolution or pool (floor, or ceil for ``ceil_mode`` pools)."""
    k, s, p, d = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    out = []
    for a in range(2):
        span = size[a] + 2 * p[a] - d[a] * (k[a] - 1) - 1
        out.append((-(-span // s[a]) if ceil_mode else span // s[a]) + 1)
    return tuple(out)


def output_shapes(network, input_size=None) -> dict:
    """{dotted path: output shape of one image} for every layer, (C, H, W) or (D,), worked out
    from the layers' settings (no forward pass, so it also reads a network whose weights are
    placeholders)."""
    h, w = tuple(input_size or network.preprocessing.input_size)
    shape, out = (network.preprocessing.channels, h, w), {}
    for path, layer in network.layers():
        kind = type(layer).__name__
        if kind == "Conv2d":
            shape = (layer.weight.shape[0], *_conv_out(shape[1:], layer.kernel_size, layer.stride, layer.padding,
                                                        layer.dilation))
        elif kind in ("MaxPool2d", "AvgPool2d"):
            shape = (shape[0], *_conv_out(shape[1:], layer.kernel_size, layer.stride, layer.padding, 1,
                                          layer.ceil_mode))
        elif kind == "AdaptiveAvgPool2d":
            shape = (shape[0], *layer.output_size)
        elif kind == "Flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "Linear":
            shape = (layer.weight.shape[0],)
        out[path] = tuple(int(v) for v in shape)
    return out
