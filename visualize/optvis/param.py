"""Parameterizations: what the optimizer changes, and how it becomes the image.

A parameterization is a callable with trainable tensors: ``param()`` returns the image
(N, C, H, W) in the loop's image space (:mod:`visualize.optvis.space`), ``param.parameters()``
the tensors the optimizer updates, ``param.image()`` the current image as a host array.
The same objective looks very different through different parameterizations, because
gradient steps are steepest-descent steps in the parameterization's own metric (Olah et
al. 2017):

* :class:`Pixels`: the image itself (Simonyan et al. 2014; the projections of Yosinski et al.
  2015, the attacks); ``pixels`` is the tensor projections act on.
* :class:`Fourier`: I = sigmoid(M irfft2(w * X)), X the spectrum, w the 1/f scale and M the
  decorrelating colour matrix (Olah, Mordvintsev & Schubert 2017, "Feature Visualization");
  steps in this space change all frequencies at natural-image rates, which avoids the
  high-frequency patterns of pixel steps. :meth:`Fourier.from_image` is its exact inverse.
* :class:`Pyramid`: I = sigmoid(sum_k up(L_k)), L_k an image at 1/2^k of the size, resized
  up bilinearly: coarse levels move large areas at once (the octaves of DeepDream, as one
  parameterization).

Every random start takes a :class:`numpy.random.Generator`, so a seed fixes the bytes.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad import functional as F
from minigrad.tensor import Tensor
from visualize.optvis.resample import resize
from visualize.optvis.spectral import COLOR_CORRELATION, frequency_scale, irfft2, rfft2

PARAMETERIZATIONS = ("pixels", "fourier", "pyramid")
_EPS = 1e-6


def _check_shape(shape):
    shape = tuple(int(s) for s in shape)
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"an image shape is (N, C, H, W) of positive ints, got {shape}")
    return shape


def _logit(image):
    p = np.clip(image, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


class Pixels:
    """The image is the parameter: I = P (no squashing; keep it in [0, 1] with a
    :class:`~visualize.optvis.projections.ClipRange` projection)."""

    def __init__(self, image, backend=None, dtype=None):
        image = np.asarray(image) if not isinstance(image, Tensor) else image.numpy()
        _check_shape(image.shape)
        self.pixels = Tensor(np.array(image, dtype=dtype or image.dtype), requires_grad=True, backend=backend)

    @classmethod
    def random(cls, shape, rng, mean=0.5, std=0.01, backend=None, dtype="float32"):
        """``mean`` (a number or one value per channel) plus Gaussian noise of ``std``."""
        shape = _check_shape(shape)
        mean = np.asarray(mean, dtype=np.float64).reshape(-1, 1, 1)
        return cls(mean + std * rng.standard_normal(shape), backend=backend, dtype=dtype)

    def __call__(self) -> Tensor:
        return self.pixels

    def parameters(self):
        return [self.pixels]

    def image(self) -> np.ndarray:
        return self.pixels.numpy().copy()


class Fourier:
    """I = sigmoid(M irfft2(w * X)) per image and channel (see the module docstring).

    ``spectrum``: (N, C, H, W//2+1, 2) real and imaginary parts; ``decay_power``: the
    exponent of 1/f; ``decorrelate``: apply the colour matrix M (3-channel images only).
    """

    def __init__(self, spectrum, size, decay_power=1.0, decorrelate=True, backend=None, dtype=None):
        spectrum = np.asarray(spectrum)
        self.size = tuple(int(s) for s in size)
        n, c = spectrum.shape[:2]
        _check_shape((n, c) + self.size)
        if spectrum.shape[2:] != (self.size[0], self.size[1] // 2 + 1, 2):
            raise ValueError(f"Fourier: a {self.size} image needs a spectrum (N, C, {self.size[0]}, "
                             f"{self.size[1] // 2 + 1}, 2), got {spectrum.shape}")
        self.decorrelate = bool(decorrelate) and c == 3
        self.scale = frequency_scale(self.size, decay_power)
        self.spectrum = Tensor(np.array(spectrum, dtype=dtype or spectrum.dtype), requires_grad=True,
                               backend=backend)
        xp = self.spectrum.backend.xp
        self._w = xp.asarray(self.scale[..., None], dtype=self.spectrum.dtype)
        self._m = xp.asarray(COLOR_CORRELATION.T, dtype=self.spectrum.dtype)

    @classmethod
    def random(cls, shape, rng, std=0.01, decay_power=1.0, decorrelate=True, backend=None, dtype="float32"):
        """A random start: the spectrum of white noise of ``std`` (times the 1/f scale's
        inverse, so the image's frequencies start at natural-image proportions); it lies in
        the space of valid real spectra, so it maps back and forth exactly."""
        n, c, h, w = _check_shape(shape)
        noise = std * rng.standard_normal((n, c, h, w))
        return cls(rfft2(noise) / (h * w) ** 0.5, (h, w), decay_power, decorrelate, backend, dtype)

    @classmethod
    def from_image(cls, image, decay_power=1.0, decorrelate=True, backend=None, dtype=None):
        """The parameter whose image is ``image`` (N, C, H, W) in (0, 1): the inverse of
        sigmoid, of the colour matrix, of irfft2 and of the scale, in that order."""
        image = np.asarray(image, dtype=np.float64)
        n, c, h, w = _check_shape(image.shape)
        linear = _logit(image)
        if decorrelate and c == 3:
            linear = np.einsum("nchw,dc->ndhw", linear, np.linalg.inv(COLOR_CORRELATION))
        spectrum = rfft2(linear) / frequency_scale((h, w), decay_power)[..., None]
        return cls(spectrum, (h, w), decay_power, decorrelate, backend, dtype or np.float32)

    def __call__(self) -> Tensor:
        linear = irfft2(self.spectrum * self._w, self.size)        # (N, C, H, W)
        if self.decorrelate:
            linear = F.permute(F.permute(linear, 0, 2, 3, 1) @ self._m, 0, 3, 1, 2)
        return F.sigmoid(linear)

    def parameters(self):
        return [self.spectrum]

    def image(self) -> np.ndarray:
        return self().numpy().copy()


class Pyramid:
    """I = sigmoid(sum_k resize(L_k, (H, W))) with levels L_k of size ceil(H / 2^k) x
    ceil(W / 2^k), k = 0 .. levels - 1 (see the module docstring)."""

    def __init__(self, levels, size, backend=None, dtype=None):
        self.size = tuple(int(s) for s in size)
        self.levels = [Tensor(np.array(level, dtype=dtype or np.asarray(level).dtype), requires_grad=True,
                              backend=backend) for level in levels]

    @classmethod
    def random(cls, shape, rng, levels=4, std=0.01, backend=None, dtype="float32"):
        n, c, h, w = _check_shape(shape)
        if levels < 1:
            raise ValueError(f"Pyramid: levels must be >= 1, got {levels}")
        sizes = [(math.ceil(h / 2 ** k), math.ceil(w / 2 ** k)) for k in range(levels)]
        return cls([std * rng.standard_normal((n, c) + s) for s in sizes], (h, w), backend, dtype)

    def __call__(self) -> Tensor:
        total = None
        for level in self.levels:
            up = level if tuple(level.shape[-2:]) == self.size else resize(level, self.size)
            total = up if total is None else total + up
        return F.sigmoid(total)

    def parameters(self):
        return list(self.levels)

    def image(self) -> np.ndarray:
        return self().numpy().copy()


def make(kind, shape, rng, backend=None, dtype="float32", **options):
    """A random start of parameterization ``kind`` ("pixels", "fourier", "pyramid")."""
    classes = {"pixels": Pixels, "fourier": Fourier, "pyramid": Pyramid}
    if kind not in classes:
        raise ValueError(f"unknown parameterization {kind!r}; choose one of {', '.join(PARAMETERIZATIONS)}")
    return classes[kind].random(shape, rng, backend=backend, dtype=dtype, **options)
