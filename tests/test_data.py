"""The shipped data, the IDX reader and the image loader (models/mnist.py, models/images.py)."""
import gzip
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models import images, mnist

DATA = Path(mnist.__file__).resolve().parent / "data"


def test_every_shipped_file_matches_sources_md():
    rows = re.findall(r"^\| (\S+) \| (\d+) \| ([0-9a-f]{64}) \|", (DATA / "SOURCES.md").read_text(), re.M)
    listed = {name for name, _, _ in rows}
    shipped = {str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.name != "SOURCES.md"}
    assert listed == shipped
    for name, size, sha in rows:
        data = (DATA / name).read_bytes()
        assert len(data) == int(size), name
        assert hashlib.sha256(data).hexdigest() == sha, name


def test_mnist_test_set_and_split():
    imgs, labels = mnist.load_mnist_test()
    assert imgs.shape == (10000, 28, 28) and imgs.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    # class counts and mean pixel documented in SOURCES.md
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(imgs.mean() - 33.791) < 1e-3
    (tr_x, tr_y), (ho_x, ho_y) = mnist.split(imgs, labels)
    assert len(tr_x) == len(tr_y) == 8000 and len(ho_x) == len(ho_y) == 2000
    assert np.array_equal(ho_x, imgs[8000:]) and np.array_equal(tr_y, labels[:8000])
    with pytest.raises(ValueError, match="split"):
        mnist.split(imgs[:10], labels[:10])


def _idx_bytes(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(">u1").tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_roundtrip_raw_and_gzip(tmp_path, compress):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = _idx_bytes(arr, 2051)
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    out = mnist.read_idx(path, expected_magic=2051)
    assert out.dtype == np.uint8 and np.array_equal(out, arr)


def test_read_idx_big_endian_wider_types(tmp_path):
    arr = np.array([[1, -2], [300000, 4]], dtype=np.int32)
    path = tmp_path / "i4.idx"
    path.write_bytes(bytes([0, 0, 0x0C, 2]) + (2).to_bytes(4, "big") * 2 + arr.astype(">i4").tobytes())
    out = mnist.read_idx(path)
    assert out.dtype == np.int32 and out.dtype.isnative and np.array_equal(out, arr)


def test_read_idx_rejects_truncated(tmp_path):
    data = _idx_bytes(np.zeros((3, 28, 28), np.uint8), 2051)
    path = tmp_path / "short.idx"
    path.write_bytes(data[:-5])
    with pytest.raises(mnist.IDXError, match=r"short\.idx.*truncated"):
        mnist.read_idx(path, 2051)
    path.write_bytes(data[:10])  # cut inside the header
    with pytest.raises(mnist.IDXError, match=r"short\.idx.*truncated inside its header"):
        mnist.read_idx(path, 2051)
    path.write_bytes(data + b"\0")
    with pytest.raises(mnist.IDXError, match="longer than its header says"):
        mnist.read_idx(path, 2051)


def test_read_idx_rejects_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(_idx_bytes(np.zeros((50, 28, 28), np.uint8), 2051))[:-20])
    with pytest.raises(mnist.IDXError, match=r"cut\.gz.*gzip"):
        mnist.read_idx(path, 2051)


def test_read_idx_rejects_wrong_magic(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(_idx_bytes(np.zeros(7, np.uint8), 2049))
    with pytest.raises(mnist.IDXError, match=r"labels\.idx.*magic number 2049.*expected 2051"):
        mnist.read_idx(path, 2051)
    path.write_bytes(b"GIF89a" + bytes(20))
    with pytest.raises(mnist.IDXError, match=r"labels\.idx.*not an IDX file"):
        mnist.read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        mnist.read_idx(tmp_path / "nope.idx")


def test_load_mnist_test_checks_image_dims(tmp_path):
    (tmp_path / mnist.IMAGES_FILE).write_bytes(gzip.compress(_idx_bytes(np.zeros((4, 8, 8), np.uint8), 2051)))
    (tmp_path / mnist.LABELS_FILE).write_bytes(gzip.compress(_idx_bytes(np.zeros(4, np.uint8), 2049)))
    with pytest.raises(mnist.IDXError, match=r"\(4, 8, 8\).*expected \(N, 28, 28\)"):
        mnist.load_mnist_test(tmp_path)


# ---------------------------------------------------------------- images

def _check_rgb(img, shape):
    assert img.shape == shape + (3,) and img.dtype == np.float32
    assert img.min() >= 0.0 and img.max() <= 1.0


def test_load_grayscale_replicates_channels(tmp_path):
    gray = np.array([[0, 128], [255, 64]], np.uint8)
    Image.fromarray(gray, mode="L").save(tmp_path / "g.png")
    img = images.load_image(tmp_path / "g.png")
    _check_rgb(img, (2, 2))
    assert np.array_equal(img, np.repeat(gray[:, :, None] / np.float32(255), 3, axis=2).astype(np.float32))


def test_load_rgba_composites_on_white(tmp_path):
    rgba = np.array([[[255, 0, 0, 255], [255, 0, 0, 0]], [[0, 0, 255, 128], [0, 0, 0, 255]]], np.uint8)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    img = images.load_image(tmp_path / "a.png")
    _check_rgb(img, (2, 2))
    np.testing.assert_allclose(img[0, 0], [1, 0, 0])       # opaque red stays red
    np.testing.assert_allclose(img[0, 1], [1, 1, 1])       # fully transparent -> white
    a = 128 / 255
    np.testing.assert_allclose(img[1, 0], [1 - a, 1 - a, 1], rtol=1e-6)  # half blue over white
    np.testing.assert_allclose(img[1, 1], [0, 0, 0])


def test_load_palette(tmp_path):
    pal = Image.new("P", (3, 1))
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (768 - 9))
    pal.putdata([0, 1, 2])
    pal.save(tmp_path / "p.png")
    img = images.load_image(tmp_path / "p.png")
    _check_rgb(img, (1, 3))
    np.testing.assert_array_equal(img[0], np.eye(3, dtype=np.float32))


def test_load_palette_with_transparent_index(tmp_path):
    pal = Image.new("P", (2, 1))
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * (768 - 6))
    pal.putdata([0, 1])
    pal.save(tmp_path / "pt.png", transparency=0)
    img = images.load_image(tmp_path / "pt.png")
    np.testing.assert_array_equal(img[0], [[1, 1, 1], [0, 1, 0]])


def test_load_16bit_grayscale_keeps_precision(tmp_path):
    g16 = np.array([[0, 1, 65535], [32768, 300, 65534]], np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    img = images.load_image(tmp_path / "g16.png")
    _check_rgb(img, (2, 3))
    np.testing.assert_allclose(img[:, :, 1], g16 / 65535.0, rtol=1e-6, atol=1e-9)
    assert img[0, 1, 0] > 0  # a value of 1/65535 survives (no rounding to 8 bits)


def test_load_rejects_non_image_truncated_and_missing(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    with pytest.raises(ValueError, match=r"notes\.png.*not a readable image"):
        images.load_image(text)
    good = tmp_path / "good.png"
    Image.fromarray(np.full((64, 64, 3), 7, np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ValueError, match=r"cut\.png"):
        images.load_image(cut)
    with pytest.raises(FileNotFoundError, match=r"missing\.jpg"):
        images.load_image(tmp_path / "missing.jpg")


def test_load_shipped_jpeg():
    img = images.load_image(DATA / "style" / "starry_night.jpg")
    _check_rgb(img, (640, 1024))


def test_resize_shorter_side_and_center_crop():
    img = np.random.default_rng(0).random((40, 60, 3), dtype=np.float32)
    small = images.resize_shorter_side(img, 20)
    assert small.shape == (20, 30, 3) and small.dtype == np.float32
    assert img.min() <= small.min() and small.max() <= img.max()
    crop = images.center_crop(small, (20, 20))
    assert crop.shape == (20, 20, 3) and np.shares_memory(crop, small)
    np.testing.assert_array_equal(crop, small[:, 5:25])
    with pytest.raises(ValueError, match=r"center_crop.*larger than the image"):
        images.center_crop(small, (21, 20))


def test_resize_constant_image_stays_constant_and_grayscale_shape():
    img = np.full((9, 13), 0.25, np.float32)
    out = images.resize(img, (5, 7))
    assert out.shape == (5, 7)
    np.testing.assert_allclose(out, 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="resize"):
        images.resize(np.zeros((1, 3, 4, 4)), (2, 2))


def test_save_image_roundtrip_atomic(tmp_path):
    img = np.random.default_rng(1).random((5, 6, 3), dtype=np.float32)
    out = tmp_path / "sub" / "x.png"
    out.parent.mkdir()
    out.write_bytes(b"old")
    images.save_image(out, img)
    back = images.load_image(out)
    assert np.abs(back - img).max() <= 0.5 / 255 + 1e-6
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.png"]  # no temp files left


def test_save_image_failure_leaves_existing_file(tmp_path):
    out = tmp_path / "keep.png"
    out.write_bytes(b"users file")
    with pytest.raises(ValueError, match="channels"):
        images.save_image(out, np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="suffix"):
        images.save_image(tmp_path / "noext", np.zeros((4, 4, 3)))
    assert out.read_bytes() == b"users file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]
