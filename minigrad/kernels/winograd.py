"""Winograd minimal filtering F(2x2, 3x3) for 3x3, stride-1 convolutions (Lavin & Gray 2016,
"Fast Algorithms for Convolutional Neural Networks").

A 2x2 block of outputs of a 3x3 correlation reads a 4x4 tile d of the padded input. Winograd's
algorithm computes the block with 16 multiplications instead of 36:

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A          (.) elementwise

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

Summed over the input channels, the elementwise product becomes, for each of the 16 tile
positions xi, one matrix product over channels:

    M[xi] = U[xi] @ V[xi]     U[xi] = (G g G^T)[xi]: (O, C),   V[xi] = (B^T d B)[xi]: (C, tiles)

so a convolution is 16 products of size O x C x tiles (tiles = Ho Wo / 4) where the direct
method does 9 of O x C x (Ho Wo): 2.25 times fewer multiplications, for the price of the
input and output transforms (additions only, linear in the activations' size). The
transforms run split over channels on threads.

The input gradient of a stride-1 3x3 convolution is itself one (the kernel flipped in space
and its channels swapped, padding 2 - p), so it takes the same path. Rounding: the
transforms only add, subtract and halve, and the float32 error stays within a small factor
of the direct product's (measured against float64 in tests/ops/test_kernels.py).
"""
from __future__ import annotations

import numpy as np

from backends import get_array_module
from minigrad.kernels.parallel import parallel_over_channels


#: where the Winograd path runs: at least MIN_CHANNELS input and output channels, and between
#: MIN_PIXELS and MAX_PIXELS input pixels over the batch. The transforms are passes over
#: memory; they pay off only with many channels to share them, and only while the
#: transformed planes stay small (benchmarks/results has the measurements)
MIN_CHANNELS = 512
MIN_PIXELS = 28 * 28
MAX_PIXELS = 32 * 32

_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
#: U[(a, b)] = sum_{i, j} G[a, i] G[b, j] g[i, j]: G g G^T as one (16, 9) matrix on the flattened kernel
_G_KRON = np.kron(_G, _G)


def applies(x, weight_shape, geometry):
    """Whether a convolution of x (N, C, H, W) by a weight of ``weight_shape`` takes this path:
    3x3, stride 1, no dilation, no groups, padding <= 2 (so that the adjoint is one too), NumPy
    arrays, and channels and pixels as :data:`MIN_CHANNELS`, :data:`MIN_PIXELS` and
    :data:`MAX_PIXELS` say."""
    o, c, kh, kw = weight_shape
    return (get_array_module(x).__name__ == "numpy" and (kh, kw) == (3, 3)
            and geometry.stride == (1, 1) and geometry.dilation == (1, 1) and geometry.groups == 1
            and max(geometry.padding) <= 2 and min(c, o) >= MIN_CHANNELS
            and MIN_PIXELS <= x.shape[0] * x.shape[2] * x.shape[3] <= MAX_PIXELS)


def filter_transform(weight, flip=False):
    """U = G g G^T for every (o, c), as 16 matrices: weight (O, C, 3, 3) -> (16, O, C). One
    matrix product with the (16, 9) matrix G (x) G. ``flip``: of the kernel flipped in space."""
    o, c = weight.shape[:2]
    g_kron = _G_KRON[:, ::-1] if flip else _G_KRON
    g_kron = get_array_module(weight).asarray(g_kron, dtype=weight.dtype)
    return (g_kron @ weight.reshape(o * c, 9).T).reshape(16, o, c)


def correlate(x, u, padding, bias=None):
    """y = W * x (+ b) for a 3x3 kernel at stride 1, given U = :func:`filter_transform` (W)."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    o = u.shape[1]
    ph, pw = padding
    ho, wo = h + 2 * ph - 2, w + 2 * pw - 2
    th, tw = -(-ho // 2), -(-wo // 2)
    x_pad = xp.zeros((n, c, 2 * th + 2, 2 * tw + 2), dtype=x.dtype)
    x_pad[:, :, ph:ph + h, pw:pw + w] = x
    v = xp.empty((4, 4, c, n, th, tw), dtype=x.dtype)
    parallel_over_channels(_input_transform, x_pad, v.transpose(3, 2, 0, 1, 4, 5))
    m = xp.matmul(u, v.reshape(16, c, n * th * tw)).reshape(4, 4, o, n, th, tw)
    y = xp.empty((n, o, 2 * th, 2 * tw), dtype=x.dtype)
    parallel_over_channels(_output_transform, m.transpose(3, 2, 0, 1, 4, 5), y)
    if (ho, wo) != y.shape[2:]:                    # odd sizes: the last tile's extra row or column
        y = xp.ascontiguousarray(y[:, :, :ho, :wo])
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def correlate_adjoint(gy, weight, padding):
    """dL/dx of :func:`correlate` (padding p <= 2): the correlation of gy, padded by 2 - p,
    with the kernel flipped in space and its channels swapped (U of the flipped kernel,
    each of its 16 matrices transposed: a view)."""
    u = filter_transform(weight, flip=True).transpose(0, 2, 1)
    return correlate(gy, u, (2 - padding[0], 2 - padding[1]))


def _input_transform(x_pad, v):
    """v[n, c, a, b] (tiles) = (B^T d B)[a, b] of every 4x4 tile d (stride 2) of x_pad: first
    B^T over the tile rows on whole padded rows, then B over the columns."""
    xp = get_array_module(x_pad)
    th, tw = v.shape[4:]
    d = [x_pad[:, :, r:r + 2 * th:2] for r in range(4)]                   # row r of every tile row
    rows = [xp.subtract(d[0], d[2]), xp.add(d[1], d[2]), xp.subtract(d[2], d[1]), xp.subtract(d[1], d[3])]
    for a, r in enumerate(rows):                                           # (B^T d) B
        col = [r[..., s:s + 2 * tw:2] for s in range(4)]
        xp.subtract(col[0], col[2], out=v[:, :, a, 0])
        xp.add(col[1], col[2], out=v[:, :, a, 1])
        xp.subtract(col[2], col[1], out=v[:, :, a, 2])
        xp.subtract(col[1], col[3], out=v[:, :, a, 3])


def _output_transform(m, y):
    """y's 2x2 blocks = A^T m A for every tile; m (N, O, 4, 4, th, tw), y (N, O, 2 th, 2 tw)."""
    xp = get_array_module(m)
    s0 = [m[:, :, 0, b] + m[:, :, 1, b] + m[:, :, 2, b] for b in range(4)]    # A^T m, row 0
    s1 = [m[:, :, 1, b] - m[:, :, 2, b] - m[:, :, 3, b] for b in range(4)]    # A^T m, row 1
    for i, s in enumerate((s0, s1)):
        out0, out1 = y[:, :, i::2, 0::2], y[:, :, i::2, 1::2]
        xp.add(s[0], s[1], out=out0)
        out0 += s[2]
        xp.subtract(s[1], s[2], out=out1)
        out1 -= s[3]
