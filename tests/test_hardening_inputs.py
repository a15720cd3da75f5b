"""User images and image files at the models boundary (issue 10, items 3 and 5).

* ``Network.preprocess`` refuses NaN/Inf, integer arrays and floats outside [0, 1], saying which
  and what to pass instead (before: a 0-255 array gave logit 3998, a NaN pixel "p=nan");
* ``models.images.load_image`` refuses images above a pixel limit before decoding them, with a
  message naming the limit and the option that raises it; Pillow's DecompressionBombError and
  DecompressionBombWarning never escape.
"""
from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

import models
from minigrad.tensor import Tensor
from models import images


@pytest.fixture(scope="module")
def mnist():
    return models.build("mnist_cnn", seed=0)


@pytest.fixture(scope="module")
def rgb_net():
    return models.build("alexnet", seed=0)


# ---------------------------------------------------------------------- Network.preprocess
@pytest.mark.parametrize("value, what", [(np.nan, "1 NaN"), (np.inf, "1 Inf"), (-np.inf, "1 Inf")])
def test_preprocess_refuses_non_finite_pixels(mnist, value, what):
    img = np.full((28, 28), 0.5, np.float32)
    img[3, 7] = value
    with pytest.raises(ValueError, match=rf"mnist_cnn.preprocess: the image has {what}.*index \(3, 7\)"):
        mnist.preprocess(img)


def test_preprocess_refuses_nan_in_a_tensor_and_a_batch(mnist):
    batch = np.zeros((2, 28, 28), np.float32)
    batch[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*\(1, 0, 0\)"):
        mnist.preprocess(Tensor(batch))


def test_preprocess_refuses_uint8_saying_divide_by_255(rgb_net):
    img = (np.arange(64 * 64 * 3) % 256).astype(np.uint8).reshape(64, 64, 3)
    with pytest.raises(ValueError, match=r"got uint8 values 0\.\.255.*pass image / 255"):
        rgb_net.preprocess(img)


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.bool_])
def test_preprocess_refuses_other_integer_and_bool_arrays(mnist, dtype):
    img = np.ones((28, 28), dtype)
    with pytest.raises(ValueError, match=rf"got {np.dtype(dtype).name} values.*float"):
        mnist.preprocess(img)


@pytest.mark.parametrize("low, high, hint", [(0.0, 255.0, "image / 255"), (-0.5, 0.5, "[0, 1]"),
                                             (0.0, 1.5, "[0, 1]")])
def test_preprocess_refuses_floats_outside_0_1_saying_which(mnist, low, high, hint):
    img = np.linspace(low, high, 28 * 28, dtype=np.float32).reshape(28, 28)
    with pytest.raises(ValueError, match=rf"float32 values {low:g}\.\.{high:g} outside \[0, 1\]") as info:
        mnist.preprocess(img)
    assert hint in str(info.value)


def test_preprocess_accepts_images_in_0_1(mnist, rgb_net):
    """The boundary still takes what it took: floats of any width in [0, 1], both ends included."""
    assert mnist.preprocess(np.linspace(0, 1, 28 * 28).reshape(28, 28)).shape == (1, 1, 28, 28)
    assert rgb_net.preprocess(np.ones((40, 50, 3), np.float16)).shape == (1, 3, 224, 224)


# ---------------------------------------------------------------------- load_image
def _png(path, size):
    Image.new("RGB", size, (10, 200, 30)).save(path)
    return path


def test_load_image_refuses_more_pixels_than_the_limit_naming_the_option(tmp_path):
    path = _png(tmp_path / "big.png", (400, 300))
    with pytest.raises(images.ImageFileError, match=r"400 x 300.*120000 pixels.*limit of 100000.*--max-pixels"):
        images.load_image(path, max_pixels=100_000)
    assert images.load_image(path, max_pixels=120_000).shape == (300, 400, 3)
    assert images.load_image(path, max_pixels=None).shape == (300, 400, 3)


def _with_declared_size(path, width, height):
    """Rewrite the IHDR of the PNG at ``path`` to declare ``width`` x ``height`` pixels."""
    data = bytearray(path.read_bytes())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")     # the chunk's CRC
    path.write_bytes(bytes(data))
    return path


def test_default_pixel_limit_is_the_module_constant(tmp_path):
    import inspect
    assert inspect.signature(images.load_image).parameters["max_pixels"].default == images.DEFAULT_MAX_PIXELS
    side = int(np.ceil(np.sqrt(images.DEFAULT_MAX_PIXELS + 1)))
    path = _with_declared_size(_png(tmp_path / "a.png", (8, 8)), side, side)
    with pytest.raises(images.ImageFileError, match=rf"{side} x {side}.*limit of {images.DEFAULT_MAX_PIXELS}"):
        images.load_image(path)


@pytest.mark.parametrize("bad", [0, -5, 2.5, "10", True])
def test_max_pixels_must_be_a_positive_int_or_none(tmp_path, bad):
    with pytest.raises(ValueError, match="max_pixels must be a positive int or None"):
        images.load_image(_png(tmp_path / "a.png", (4, 4)), max_pixels=bad)


def test_pillow_decompression_bomb_never_escapes(tmp_path, monkeypatch):
    """An image Pillow itself calls a bomb (here: its limit lowered to 100 pixels) is our
    error under our limit, and loads when the caller lifts the limit; no Pillow warning leaks."""
    path = _png(tmp_path / "bomb.png", (40, 40))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)     # 1600 px > 2 x 100: Pillow raises
    with pytest.raises(images.ImageFileError, match="limit"):
        images.load_image(path, max_pixels=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert images.load_image(path, max_pixels=None).shape == (40, 40, 3)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)   # 1600 px: Pillow would warn
        assert images.load_image(path, max_pixels=2000).shape == (40, 40, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000                   # Pillow's own setting is restored


def test_huge_declared_size_is_refused_before_decoding(tmp_path):
    """A PNG header declaring 100000 x 100000 pixels (a 10-gigapixel bomb in a few bytes)."""
    path = _with_declared_size(_png(tmp_path / "small.png", (8, 8)), 100_000, 100_000)
    with pytest.raises(images.ImageFileError, match=r"100000 x 100000"):
        images.load_image(path)


def test_float_image_with_nan_is_refused(tmp_path):
    path = tmp_path / "f.tiff"
    plane = np.full((4, 5), 0.5, np.float32)
    plane[2, 3] = np.nan
    Image.fromarray(plane, mode="F").save(path)
    with pytest.raises(images.ImageFileError, match="NaN"):
        images.load_image(path)


def test_image_file_error_is_a_value_error():
    assert issubclass(images.ImageFileError, ValueError)


def test_save_image_refuses_nan_instead_of_writing_black(tmp_path):
    img = np.full((4, 4, 3), 0.5, np.float32)
    img[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="save_image: img has 1 NaN and 0 Inf"):
        images.save_image(tmp_path / "x.png", img)
    assert not (tmp_path / "x.png").exists()
