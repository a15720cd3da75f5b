"""Turning arrays into pictures: scaling, colour maps, overlays, tile grids and labels.

Every function here takes and returns NumPy arrays: images are ``(H, W, 3)`` (or ``(H, W)``
gray) floats in ``[0, 1]`` until :func:`to_uint8` makes the final ``uint8`` picture. Methods
compose their pictures from these pieces so that every method looks alike and no method
carries its own drawing code. Text is drawn with Pillow's ``ImageDraw``; no matplotlib.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["normalize", "normalize_contrast", "signed_unit", "colormap", "colorbar", "heatmap", "gray_on_white", "overlay", "to_rgb", "to_uint8",
           "upscale", "resize_to", "tile_grid", "label_above", "hstack", "vstack", "text_block",
           "border", "panel", "categorical_colors", "BACKGROUND", "PANEL_MIN_SIDE"]

BACKGROUND = 1.0        # white page behind panels and grids
PANEL_MIN_SIDE = 160    # small inputs (28 x 28 digits) are enlarged to at least this for display
MARK_COLOR = (0.86, 0.1, 0.1)

# Inferno (van der Walt & Smith 2015, the matplotlib colour map, CC0): every 16th entry of its
# 256-entry table; the rest is linear interpolation, which stays within a few 1/255 of it.
_INFERNO_ANCHORS = np.array([
    [0.001462, 0.000466, 0.013866], [0.042253, 0.028139, 0.141141], [0.129285, 0.047293, 0.290788],
    [0.238273, 0.036621, 0.396353], [0.341500, 0.062325, 0.429425], [0.441207, 0.099338, 0.431594],
    [0.540920, 0.134729, 0.415123], [0.640135, 0.171438, 0.381065], [0.735683, 0.215906, 0.330245],
    [0.822386, 0.275197, 0.266085], [0.894305, 0.353399, 0.193584], [0.946965, 0.449191, 0.115272],
    [0.978422, 0.557937, 0.034931], [0.987874, 0.675267, 0.065257], [0.974638, 0.797692, 0.206332],
    [0.947594, 0.917399, 0.410665], [0.988362, 0.998364, 0.644924]], dtype=np.float32)
_INFERNO_POSITIONS = np.minimum(np.arange(17) * 16, 255) / 255.0

# A blue-white-red scale for signed values (after Moreland's "cool to warm", 2009): zero is
# white at the middle, negative blue, positive red.
_DIVERGING_ANCHORS = np.array([[0.230, 0.299, 0.754], [0.552, 0.690, 0.996], [0.970, 0.970, 0.970],
                               [0.957, 0.604, 0.482], [0.706, 0.016, 0.150]], dtype=np.float32)

_COLORMAPS = {
    "inferno": (_INFERNO_POSITIONS, _INFERNO_ANCHORS),
    "diverging": (np.linspace(0.0, 1.0, 5), _DIVERGING_ANCHORS),
    "gray": (np.array([0.0, 1.0]), np.array([[0, 0, 0], [1, 1, 1]], dtype=np.float32)),
}


def _lut(name: str) -> np.ndarray:
    """The 256 x 3 float32 table of colour map ``name``."""
    if name not in _COLORMAPS:
        raise ValueError(f"colormap: unknown colour map {name!r}; choose one of {', '.join(_COLORMAPS)}")
    positions, anchors = _COLORMAPS[name]
    grid = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(grid, positions, anchors[:, c]) for c in range(3)], axis=1).astype(np.float32)


def normalize(a, axis=None) -> np.ndarray:
    """Min-max scale ``a`` to [0, 1] (over ``axis``, e.g. per tile); constant parts become 0.

    ``(a - min) / (max - min)``, float32. NaN-free: a constant block has range 0 and maps to 0.
    """
    a = np.asarray(a, dtype=np.float32)
    lo = a.min(axis=axis, keepdims=True)
    span = a.max(axis=axis, keepdims=True) - lo
    return np.divide(a - lo, span, out=np.zeros_like(a), where=span > 0)


def normalize_contrast(a, spread: float = 0.15) -> np.ndarray:
    """Show a signed array (a gradient image) as a picture centred on gray.

    ``0.5 + spread * (a - mean) / std``, clipped to [0, 1]: the display used for guided
    backpropagation and deconvnet pictures in most re-implementations; zero change is mid-gray,
    and the colour of a pixel is the sign pattern of its three channel gradients.
    """
    a = np.asarray(a, dtype=np.float32)
    std = float(a.std())
    centred = a - a.mean()
    scaled = centred / std if std > 0 else centred
    return np.clip(0.5 + np.float32(spread) * scaled, 0.0, 1.0)


def signed_unit(a, axis=None) -> np.ndarray:
    """Map signed values to [0, 1] with zero at 0.5: ``0.5 + a / (2 max |a|)`` (over ``axis``).
    Returns the mapped array and the scale ``max |a|`` (for the colour bar)."""
    a = np.asarray(a, dtype=np.float32)
    peak = np.abs(a).max(axis=axis, keepdims=True)
    return np.divide(a, 2 * peak, out=np.zeros_like(a), where=peak > 0) + np.float32(0.5), peak


def colormap(values, name: str = "inferno") -> np.ndarray:
    """Map ``values`` in [0, 1] (any shape) to RGB through colour map ``name``: shape + (3,)."""
    idx = np.clip(np.rint(np.asarray(values, dtype=np.float32) * 255), 0, 255).astype(np.intp)
    return _lut(name)[idx]


def categorical_colors(n: int) -> np.ndarray:
    """``n`` well separated colours (golden-ratio hues, fixed saturation/value), (n, 3) in [0, 1]."""
    hues = (np.arange(n) * 0.618033988749895) % 1.0
    hsv = np.stack([hues * 255, np.full(n, 190), np.full(n, 230)], axis=1).astype(np.uint8)
    rgb = Image.fromarray(hsv[None], mode="HSV").convert("RGB")
    return np.asarray(rgb, dtype=np.float32)[0] / 255.0


def to_rgb(img) -> np.ndarray:
    """(H, W), (H, W, 1) or (H, W, 3) float -> (H, W, 3) float32."""
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"to_rgb: expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {img.shape}")
    return img


def to_uint8(img) -> np.ndarray:
    """Float image in [0, 1] -> (H, W, 3) uint8 (clipped and rounded)."""
    return np.rint(np.clip(to_rgb(img), 0.0, 1.0) * 255).astype(np.uint8)


def resize_to(img, size, smooth: bool = True) -> np.ndarray:
    """Resample ``img`` (H, W[, C]) to ``size = (height, width)``: bilinear, or nearest when
    ``smooth`` is False (to keep pixels visible when enlarging a small map)."""
    img = np.asarray(img, dtype=np.float32)
    h, w = int(size[0]), int(size[1])
    if img.shape[:2] == (h, w):
        return img
    resample = Image.Resampling.BILINEAR if smooth else Image.Resampling.NEAREST
    planes = img[:, :, None] if img.ndim == 2 else img
    out = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(planes[:, :, c]), mode="F")
                               .resize((w, h), resample)) for c in range(planes.shape[2])], axis=2)
    return out[:, :, 0] if img.ndim == 2 else out


def upscale(img, min_side: int) -> np.ndarray:
    """Enlarge ``img`` by the smallest integer factor that makes its shorter side at least
    ``min_side`` pixels, repeating pixels (no blur): a 28 x 28 digit becomes 112 x 112 at 112."""
    img = np.asarray(img)
    factor = max(1, -(-int(min_side) // max(1, min(img.shape[:2]))))
    if factor == 1:
        return img
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def gray_on_white(image) -> np.ndarray:
    """The image as a faint gray picture, ``0.55 + 0.4 (1 - luma)`` inverted for light
    strokes on dark (a digit's white strokes become mid-gray on white) and ``0.5 + 0.5 luma``
    otherwise: a backdrop that a colour map drawn over it does not hide."""
    image = to_rgb(image)
    luma = image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if float(luma.mean()) < 0.35:      # light strokes on a dark ground (MNIST): invert
        luma = 1 - luma
    return to_rgb(np.float32(0.45) + np.float32(0.55) * luma)


def overlay(image, heat, alpha: float = 0.75, cmap: str = "inferno") -> np.ndarray:
    """Blend heat map ``heat`` (h, w), values in [0, 1], over ``image`` (H, W[, 3]).

    The heat map is resized to the image (bilinear) and coloured with ``cmap``; the image
    becomes a faint gray backdrop (:func:`gray_on_white`), and
    ``out = (1 - alpha heat) backdrop + alpha heat colour``: cold regions show the image,
    hot ones the colour map, and bright strokes never wash the colour out.
    """
    backdrop = gray_on_white(image)
    heat = np.clip(resize_to(np.asarray(heat, dtype=np.float32), backdrop.shape[:2]), 0.0, 1.0)
    weight = (np.float32(alpha) * np.sqrt(heat))[:, :, None]
    return (1 - weight) * backdrop + weight * colormap(heat, cmap)


def colorbar(lo: float, hi: float, cmap: str = "inferno", height: int = 160, label: str = "") -> np.ndarray:
    """A vertical colour bar ``height`` pixels tall for values ``lo`` (bottom) to ``hi`` (top),
    with the two ends and the middle written beside it, and an optional ``label`` above."""
    ramp = np.linspace(1.0, 0.0, max(int(height), 16), dtype=np.float32)[:, None]
    bar = colormap(np.repeat(ramp, 12, axis=1), cmap)
    bar[[0, -1], :], bar[:, [0, -1]] = 0.3, 0.3
    ticks = [f"{hi:.3g}", f"{(lo + hi) / 2:.3g}", f"{lo:.3g}"]
    width = max(_text_size(t, 10)[0] for t in ticks) + 6
    column = np.full((bar.shape[0], width, 3), BACKGROUND, dtype=np.float32)
    for text, top in zip(ticks, (0, bar.shape[0] // 2 - 6, bar.shape[0] - 13)):
        block = text_block(text, size=10)[:13, :width]
        column[top:top + block.shape[0], :block.shape[1]] = block
    out = hstack([bar, column], gap=3)
    return label_above(out, label, size=10) if label else out


def heatmap(values, title: str = "", cmap: str = "inferno", signed: bool = False, lo=None, hi=None,
            min_side: int = PANEL_MIN_SIDE) -> np.ndarray:
    """A heat map panel with its colour bar: ``values`` (h, w) scaled from ``lo`` to ``hi``
    (default: their min and max; for ``signed`` maps, -max|v| to +max|v| on the diverging
    scale, zero white), enlarged to ``min_side``, titled."""
    v = np.asarray(values, dtype=np.float32)
    if signed:
        peak = float(np.abs(v).max()) or 1.0
        lo, hi, cmap = -peak, peak, "diverging"
    lo = float(v.min()) if lo is None else float(lo)
    hi = float(v.max()) if hi is None else float(hi)
    scaled = np.clip((v - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(v)
    picture = panel(colormap(scaled, cmap), title, min_side)
    return hstack([picture, colorbar(lo, hi, cmap, height=picture.shape[0] - 18)], gap=4)


@lru_cache(maxsize=8)
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one fixed bitmap font
        return ImageFont.load_default()


def _text_size(text: str, size: int) -> tuple[int, int]:
    box = ImageDraw.Draw(Image.new("RGB", (1, 1))).multiline_textbbox((0, 0), text, font=_font(size))
    return box[2] - box[0], box[3] - box[1]


def text_block(text: str, width: int | None = None, size: int = 12, color=(0, 0, 0)) -> np.ndarray:
    """White block with ``text`` (may contain newlines) drawn in black; at least ``width`` wide."""
    tw, th = _text_size(text, size) if text else (0, 0)
    w = max(int(width or 0), tw + 4)
    canvas = Image.new("RGB", (w, th + 6), (255, 255, 255))
    if text:
        ImageDraw.Draw(canvas).multiline_text((2, 1), text, font=_font(size),
                                              fill=tuple(int(255 * c) for c in color))
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _pad_to_width(img, width: int) -> np.ndarray:
    img = to_rgb(img)
    if img.shape[1] >= width:
        return img
    out = np.full((img.shape[0], width, 3), BACKGROUND, dtype=np.float32)
    left = (width - img.shape[1]) // 2
    out[:, left:left + img.shape[1]] = img
    return out


def vstack(images, gap: int = 4) -> np.ndarray:
    """Stack pictures vertically, centred, on a white page with ``gap`` pixels between them."""
    images = [to_rgb(i) for i in images]
    width = max(i.shape[1] for i in images)
    sep = np.full((gap, width, 3), BACKGROUND, dtype=np.float32)
    parts = []
    for i, img in enumerate(images):
        parts.extend(([sep] if i else []) + [_pad_to_width(img, width)])
    return np.concatenate(parts, axis=0)


def hstack(images, gap: int = 8) -> np.ndarray:
    """Place pictures side by side, top-aligned, on a white page with ``gap`` pixels between."""
    images = [to_rgb(i) for i in images]
    height = max(i.shape[0] for i in images)
    parts = []
    for i, img in enumerate(images):
        if i:
            parts.append(np.full((height, gap, 3), BACKGROUND, dtype=np.float32))
        pad = np.full((height - img.shape[0], img.shape[1], 3), BACKGROUND, dtype=np.float32)
        parts.append(np.concatenate([img, pad], axis=0))
    return np.concatenate(parts, axis=1)


def label_above(img, text: str, size: int = 12) -> np.ndarray:
    """``img`` with the caption ``text`` above it."""
    img = to_rgb(img)
    return vstack([text_block(text, img.shape[1], size), img], gap=0)


def panel(img, title: str = "", min_side: int = PANEL_MIN_SIDE) -> np.ndarray:
    """One picture of a row: ``img`` enlarged (pixels repeated) to ``min_side`` if smaller,
    with ``title`` above it."""
    return label_above(upscale(to_rgb(img), min_side), title)


def border(img, width: int = 2, color=MARK_COLOR) -> np.ndarray:
    """``img`` with a coloured frame of ``width`` pixels drawn over its edge (same size)."""
    out = to_rgb(img).copy()
    out[:width], out[-width:], out[:, :width], out[:, -width:] = color, color, color, color
    return out


def tile_grid(tiles, columns: int | None = None, labels=None, marked=None, gap: int = 2,
              label_size: int = 10) -> np.ndarray:
    """Arrange ``tiles`` (N, h, w) or (N, h, w, 3), values in [0, 1], in a grid.

    ``columns`` defaults to ceil(sqrt(N)). ``labels`` (N strings) are written under each tile;
    tiles whose index is in ``marked`` (a boolean mask or index list) get a red frame.
    """
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim == 3:
        tiles = tiles[..., None]
    if tiles.ndim != 4 or tiles.shape[-1] not in (1, 3):
        raise ValueError(f"tile_grid: tiles must be (N, h, w) or (N, h, w, 3), got shape {tiles.shape}")
    tiles = np.broadcast_to(tiles, tiles.shape[:3] + (3,))
    n, h, w, _ = tiles.shape
    columns = int(columns or int(np.ceil(np.sqrt(n))))
    rows = -(-n // columns)
    mask = np.zeros(n, dtype=bool)
    if marked is not None:
        mask[np.asarray(marked)] = True
    caption_h = text_block("0", size=label_size).shape[0] if labels is not None else 0
    cell_h, cell_w = h + caption_h + gap, w + gap
    page = np.full((rows * cell_h + gap, columns * cell_w + gap, 3), BACKGROUND, dtype=np.float32)
    for i in range(n):
        top, left = gap + (i // columns) * cell_h, gap + (i % columns) * cell_w
        tile = border(tiles[i], max(1, min(h, w) // 16)) if mask[i] else tiles[i]
        page[top:top + h, left:left + w] = tile
        if labels is not None:
            text = text_block(str(labels[i]), size=label_size)[:caption_h, :w]
            page[top + h:top + h + text.shape[0], left:left + text.shape[1]] = text
    return page
