"""Dropout (Srivastava et al. 2014), in its inverted form."""
from __future__ import annotations

import backends
from minigrad.function import Function


class Dropout(Function):
    """y = x * m with m_i = [u_i >= p] / (1 - p) for u_i uniform in [0, 1);  dy/dx = m.

    Scaling the kept units by 1 / (1 - p) in training keeps E[y] = x, so evaluation is the
    identity.
    """

    def __init__(self, p, rng):
        self.p, self.rng = p, rng

    def forward(self, x):
        # a generator of the other backend (a NumPy one for a CuPy tensor) draws there; copy over
        u = backends.backend_of(x).asarray(self.rng.random(x.shape, dtype=x.dtype))
        keep = u >= self.p
        scale = 1 / (1 - self.p) if self.p < 1 else 0.0
        self.mask = keep * x.dtype.type(scale)
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x, p=0.5, training=True, rng=None):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) in training;
    return ``x`` unchanged otherwise.

    ``rng`` is a backend generator (``x.backend.rng(seed)``) or an int seed; the same seed
    gives the same mask on the same backend (CuPy's generator draws other numbers than
    NumPy's; pass a NumPy generator to get NumPy's mask on the GPU too). None draws fresh
    entropy.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: input must be a float tensor, got dtype {x.dtype}")
    if not training or p == 0:
        return x
    if rng is None or isinstance(rng, int):
        rng = x.backend.rng(rng)
    return Dropout(p, rng)(x)
