"""Reading, resizing and writing images as float arrays.

Every image in minigrad is a NumPy ``float32`` array of shape ``(H, W, 3)`` with RGB values in
``[0, 1]`` (the networks' ``preprocess`` turns that into their own channel order, range, mean and
std). Pillow does the decoding, resampling and encoding; this module only converts modes and
checks arguments.

Mode conversions done by :func:`load_image`:

* grayscale (``1``, ``L``), palette (``P``), ``CMYK``, ``YCbCr``, ... -> RGB via Pillow;
* 16-bit grayscale (``I;16*``, and ``I``, which Pillow uses for 16-bit PNGs) -> divided by 65535
  and replicated to three channels; 32-bit float grayscale (``F``) is taken as already in
  ``[0, 1]`` and clipped;
* anything with transparency (``RGBA``, ``LA``, ``PA``, a palette with a transparent index) is
  **composited on a white background** (``out = alpha * rgb + (1 - alpha) * 1``), so transparent
  areas look as they would on a white page rather than revealing whatever colour the hidden pixels
  happen to hold;
* the EXIF orientation tag is applied, so photos appear upright.

**Pixel limit.** A few hundred bytes of PNG can declare a 10-gigapixel image (a "decompression
bomb"). :func:`load_image` reads the declared size from the header and refuses an image of more
than ``max_pixels`` pixels (default :data:`DEFAULT_MAX_PIXELS`) before decoding a byte of it;
the command line raises the limit with ``--max-pixels N``. Pillow's own bomb guard
(``Image.MAX_IMAGE_PIXELS``) is replaced by this limit for the call, so a caller who lifts
the limit can read a genuine large image and no ``DecompressionBombError`` or
``DecompressionBombWarning`` escapes.
"""
from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from models.atomic import atomic_path

__all__ = ["load_image", "save_image", "resize", "resize_shorter_side", "center_crop",
           "ImageFileError", "DEFAULT_MAX_PIXELS"]

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")

#: The largest image :func:`load_image` decodes unless told otherwise: 50 megapixels (an
#: 8660 x 5773 photo; decoded as float32 RGB it takes 600 MB).
DEFAULT_MAX_PIXELS = 50_000_000

_pillow_limit = threading.Lock()


class ImageFileError(ValueError):
    """An image file cannot be used: not decodable, truncated, above the pixel limit, or
    holding NaN/Inf values. The message names the file and what to do."""


@contextmanager
def _pillow_bomb_check_off():
    """Pillow's global ``MAX_IMAGE_PIXELS`` off for the block (our own limit applies instead)."""
    with _pillow_limit, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def load_image(path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read the image file ``path`` as a float32 ``(H, W, 3)`` RGB array in ``[0, 1]``.

    ``max_pixels``: refuse images with more pixels than this (checked on the header, before
    decoding); default :data:`DEFAULT_MAX_PIXELS`; ``None`` for no limit.

    Raises ``FileNotFoundError`` for a missing file and :class:`ImageFileError` (a ValueError)
    naming the file when it is not an image Pillow can decode, is truncated, is above the
    pixel limit, or holds non-finite values (a float TIFF).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_image: no such image file: {str(path)!r}")
    if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer))
                                   or max_pixels < 1):
        raise ValueError(f"load_image: max_pixels must be a positive int or None (no limit), got {max_pixels!r}")
    try:
        with _pillow_bomb_check_off(), Image.open(path) as im:
            _check_pixel_count(path, im.size, max_pixels)
            im.load()
            im = ImageOps.exif_transpose(im)
            rgb = _to_rgb_float(im)
    except ImageFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of Pillow's decoders on a damaged file
        # (OSError, SyntaxError, ValueError, struct.error, IndexError, EOFError, ...)
        raise ImageFileError(f"load_image: {str(path)!r} is not a readable image "
                             f"(Pillow says: {type(exc).__name__}: {exc}); pass a PNG, JPEG or other "
                             f"Pillow-readable file") from exc
    if not np.isfinite(rgb).all():
        raise ImageFileError(f"load_image: {str(path)!r} holds {int(np.isnan(rgb).sum()) // 3} NaN and "
                             f"{int(np.isinf(rgb).sum()) // 3} Inf pixel values; fix the file")
    return rgb


def _check_pixel_count(path: Path, size, max_pixels) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageFileError(
            f"load_image: {str(path)!r} is {width} x {height} = {width * height} pixels, above the limit of "
            f"{max_pixels} pixels (a guard against decompression bombs: small files that decode to "
            f"gigabytes); if the image is genuine, raise the limit with the option --max-pixels N "
            f"(Python: load_image(path, max_pixels=N), or None for no limit)")


def _to_rgb_float(im: Image.Image) -> np.ndarray:
    """Convert a decoded Pillow image of any mode to float32 (H, W, 3) RGB in [0, 1]."""
    if im.mode in _SIXTEEN_BIT_MODES:
        gray = np.asarray(im, dtype=np.float32) / np.float32(65535.0)
        return np.repeat(np.clip(gray, 0.0, 1.0)[:, :, None], 3, axis=2)
    if im.mode == "F":
        gray = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / np.float32(255.0)
        alpha = rgba[:, :, 3:4]
        return np.ascontiguousarray(rgba[:, :, :3] * alpha + (np.float32(1.0) - alpha))
    return np.asarray(im.convert("RGB"), dtype=np.float32) / np.float32(255.0)


def _check_image(fn: str, img) -> np.ndarray:
    """Return ``img`` as a NumPy array of shape (H, W) or (H, W, C); raise a clear error otherwise."""
    if hasattr(img, "get") and not isinstance(img, np.ndarray):  # a CuPy array: bring it to the host
        img = img.get()
    img = np.asarray(img)
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"{fn}: img must be an (H, W) or (H, W, C) array with H, W > 0, got shape "
                         f"{img.shape}; for a network tensor (1, C, H, W) use net.deprocess(x) first")
    return img


def _check_size(fn: str, name: str, size) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {name} must be a pair (height, width) of positive ints, got {size!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"{fn}: {name} must be positive, got {(h, w)}")
    return h, w


def resize(img, size) -> np.ndarray:
    """Resample ``img`` (H, W[, C]) to ``size = (height, width)`` with Pillow's bicubic filter.

    Pillow widens the filter when shrinking, so downsampling is antialiased. Float data is
    resampled in 32-bit float (mode ``F``) per channel, never quantised; bicubic overshoot is
    clipped back into the input's value range. Returns float32.
    """
    img = _check_image("resize", img)
    h, w = _check_size("resize", "size", size)
    src = img.astype(np.float32, copy=False)
    if src.shape[:2] == (h, w):
        return src.copy()
    planes = src[:, :, None] if src.ndim == 2 else src
    out = np.empty((h, w, planes.shape[2]), dtype=np.float32)
    for c in range(planes.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(planes[:, :, c]), mode="F")
        out[:, :, c] = np.asarray(plane.resize((w, h), Image.Resampling.BICUBIC))
    np.clip(out, src.min(), src.max(), out=out)
    return out[:, :, 0] if src.ndim == 2 else out


def resize_shorter_side(img, size: int) -> np.ndarray:
    """Resize ``img`` so its shorter side is ``size`` pixels, keeping the aspect ratio."""
    img = _check_image("resize_shorter_side", img)
    if int(size) <= 0:
        raise ValueError(f"resize_shorter_side: size must be a positive int, got {size!r}")
    h, w = img.shape[:2]
    scale = int(size) / min(h, w)
    return resize(img, (max(1, round(h * scale)), max(1, round(w * scale))))


def center_crop(img, size) -> np.ndarray:
    """Cut the central ``size = (height, width)`` window out of ``img`` (a view, no copy)."""
    img = _check_image("center_crop", img)
    h, w = _check_size("center_crop", "size", size)
    H, W = img.shape[:2]
    if h > H or w > W:
        raise ValueError(f"center_crop: crop {(h, w)} is larger than the image {(H, W)}; "
                         f"resize first (e.g. resize_shorter_side(img, {max(h, w)}))")
    top, left = (H - h) // 2, (W - w) // 2
    return img[top:top + h, left:left + w]


def save_image(path, img) -> Path:
    """Write ``img`` (H, W[, 3]) with values in [0, 1] to ``path``; the format follows the suffix.

    Values are clipped to [0, 1] and rounded to 8 bits; NaN or Inf is refused (a ValueError),
    not written as black. The file is written under a temporary name
    in the same folder and then renamed with ``os.replace`` (:func:`models.atomic.atomic_path`,
    normal file mode), so an existing file is never left half-written. Missing parent folders
    are created. Returns the path.
    """
    img = _check_image("save_image", img)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] != 3:
        raise ValueError(f"save_image: img must have 1 or 3 channels (H, W, 3), got shape {img.shape}")
    if img.dtype.kind == "f" and not np.isfinite(img).all():
        raise ValueError(f"save_image: img has {int(np.isnan(img).sum())} NaN and {int(np.isinf(img).sum())} Inf "
                         f"values, which have no pixel value; fix the computation that made it")
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"save_image: cannot tell the image format from {str(path)!r}; "
                         f"use a suffix such as .png or .jpg")
    pixels = np.round(np.clip(img.astype(np.float32, copy=False), 0.0, 1.0) * 255.0).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format=fmt)
    return path
