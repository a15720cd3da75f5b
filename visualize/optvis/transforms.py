"""Transforms: random changes of the image before each step, differentiated through.

A transform is a callable ``transform(image, rng) -> image`` on tensors (N, C, H, W), built
from differentiable ops, so the gradient reaches the parameters through it. Optimizing the
objective in expectation over small shifts, scalings and rotations removes the
high-frequency patterns that fit one exact pixel grid (Mordvintsev et al. 2015's jitter;
"transformation robustness" in Olah et al. 2017). Every random draw comes from ``rng``, a
:class:`numpy.random.Generator`, so a seed fixes the result. All but :func:`pad` and :func:`crop` keep the size, and
:func:`standard` crops its padding off again, so the network sees the size it was built for.

* :func:`jitter` (d): a circular shift by (dy, dx), each uniform in -d..d (np.roll);
* :func:`pad` (w): a border of w pixels (reflected, or a constant such as the mean), which
  gives the other transforms room at the edges;
* :func:`random_scale` (scales): zoom about the centre by a factor drawn from ``scales``;
* :func:`random_rotate` (degrees): rotate about the centre by an angle drawn from ``degrees``;
* :func:`compose` (*transforms): one after another;
* :func:`standard` (): Lucid's default chain, pad 12, jitter 8, scale 0.9..1.1, rotate
  -10..10 degrees, jitter 4 (in pixels of a 224-pixel image; pass ``unit`` to shrink).
"""
from __future__ import annotations

from minigrad import functional as F
from visualize.optvis.resample import affine_resample, centred_matrix


def _check_non_negative(name, **values):
    for key, value in values.items():
        if value < 0:
            raise ValueError(f"{name}: {key} must be >= 0, got {value}")


def jitter(d: int):
    """Circular shift by up to ``d`` pixels in each direction."""
    _check_non_negative("jitter", d=d)
    d = int(d)

    def transform(image, rng):
        if d == 0:
            return image
        dy, dx = (int(v) for v in rng.integers(-d, d + 1, size=2))
        return F.roll(image, (dy, dx), axis=(2, 3))
    return transform


def pad(width: int, mode: str = "reflect", value: float = 0.5):
    """A border of ``width`` pixels; ``mode`` "reflect" or "constant" (filled with ``value``)."""
    _check_non_negative("pad", width=width)
    width = int(width)

    def transform(image, rng):
        return F.pad(image, (width,) * 4, mode=mode, value=value) if width else image
    return transform


def random_scale(scales):
    """Zoom about the centre by a factor drawn uniformly from ``scales`` (size kept)."""
    scales = [float(s) for s in scales]
    if not scales or min(scales) <= 0:
        raise ValueError(f"random_scale: scales must be positive numbers, got {scales}")

    def transform(image, rng):
        s = scales[int(rng.integers(len(scales)))]
        return image if s == 1 else affine_resample(image, centred_matrix(image.shape[-2:], scale=s))
    return transform


def random_rotate(degrees):
    """Rotate about the centre by an angle (degrees) drawn uniformly from ``degrees``."""
    degrees = [float(a) for a in degrees]
    if not degrees:
        raise ValueError("random_rotate: give at least one angle")

    def transform(image, rng):
        a = degrees[int(rng.integers(len(degrees)))]
        return image if a == 0 else affine_resample(image, centred_matrix(image.shape[-2:], degrees=a))
    return transform


def crop(width: int):
    """Remove a border of ``width`` pixels (the inverse of :func:`pad`'s size change)."""
    _check_non_negative("crop", width=width)
    width = int(width)

    def transform(image, rng):
        return image[:, :, width:image.shape[2] - width, width:image.shape[3] - width] if width else image
    return transform


def compose(*transforms):
    """Apply ``transforms`` in order."""
    def transform(image, rng):
        for t in transforms:
            image = t(image, rng)
        return image
    return transform


def standard(unit: float = 1.0):
    """Lucid's transformation-robustness chain, distances multiplied by ``unit``; the padding
    is cropped off again at the end, so the image keeps its size."""
    def px(v):
        return max(0, round(v * unit))
    return compose(pad(px(12)), jitter(px(8)), random_scale([1 + (i - 5) / 50 for i in range(11)]),
                   random_rotate(range(-10, 11)), jitter(px(4)), crop(px(12)))
