"""im2col and col2im (:mod:`minigrad.functional.im2col`) with their copy loops split over
the CPU cores by :func:`~minigrad.kernels.parallel.parallel_over_channels` (over the batch
when it is longer than the channels, as for an RGB input). Same results, byte for byte.
"""
from __future__ import annotations

import functools

from backends import get_array_module
from minigrad.functional.im2col import add_windows, col2im_canvas, patches
from minigrad.kernels.parallel import parallel_over_channels


def im2col(x, kernel, stride, padding, dilation):
    """:func:`minigrad.functional.im2col.im2col`, copied on several threads."""
    view = patches(x, kernel, stride, padding, dilation)
    cols = get_array_module(x).empty(view.shape, dtype=x.dtype)
    parallel_over_channels(get_array_module(x).copyto, cols, view, axis=_split_axis(x.shape))
    return cols


def col2im(cols, x_shape, stride, padding, dilation):
    """:func:`minigrad.functional.im2col.col2im`, added back on several threads."""
    x_pad = col2im_canvas(cols, x_shape, stride, padding, dilation)
    parallel_over_channels(functools.partial(add_windows, stride=stride, dilation=dilation), x_pad, cols,
                           axis=_split_axis(x_shape))
    return x_pad[:, :, padding[0]:padding[0] + x_shape[2], padding[1]:padding[1] + x_shape[3]]


def _split_axis(x_shape):
    """Split the copies over the batch when it is longer than the channels (an RGB input)."""
    return 0 if x_shape[0] > x_shape[1] else 1
