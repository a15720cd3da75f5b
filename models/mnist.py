"""The MNIST test set shipped in ``models/data/mnist/`` and a reader for its IDX format.

IDX (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a tiny binary format: a big-endian
header followed by the raw array in C order::

    bytes 0-3   magic number: 0x00 0x00 <type code> <ndim>   (0x08 = unsigned byte)
    bytes 4..   ndim big-endian uint32 sizes
    then        prod(sizes) items of the given type

MNIST images use magic 2051 (0x00000803: ubyte, 3 dims N x 28 x 28) and labels magic 2049
(0x00000801: ubyte, 1 dim N). Files may be gzip-compressed (detected from the content, not the
name).

Only the 10,000-image *test* set ships with minigrad (see ``models/data/SOURCES.md``). The
embedded ``mnist_cnn`` is trained on its first 8,000 images and evaluated on the last 2,000
(:func:`split`); every accuracy minigrad reports for it is on those held-out 2,000.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

__all__ = ["IDXError", "read_idx", "load_mnist_test", "split", "DATA_DIR",
           "N_TRAIN", "N_HELD_OUT", "MEAN", "STD"]

DATA_DIR = Path(__file__).resolve().parent / "data" / "mnist"
IMAGES_FILE = "t10k-images-idx3-ubyte.gz"
LABELS_FILE = "t10k-labels-idx1-ubyte.gz"
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
N_TRAIN = 8000       # first 8,000 test images: training
N_HELD_OUT = 2000    # last 2,000 test images: held out for the reported accuracy

# Pixel statistics of the MNIST training set on the [0, 1] scale (the values torchvision's
# examples use), kept so preprocessing matches the usual convention.
MEAN = 0.1307
STD = 0.3081

_ITEM_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class IDXError(ValueError):
    """An IDX file is truncated, has the wrong magic number or inconsistent dimensions."""


def read_idx(path, expected_magic: int | None = None) -> np.ndarray:
    """Read the IDX file ``path`` (raw or gzip) into a NumPy array in native byte order.

    ``expected_magic`` (e.g. 2051 for images, 2049 for labels) is checked when given. Raises
    :class:`IDXError` naming the file when the header is malformed, the magic number is wrong,
    or the data length disagrees with the dimensions in the header (truncated or padded file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_idx: no such IDX file: {str(path)!r}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IDXError(f"read_idx: {str(path)!r} is a damaged or truncated gzip file ({exc})") from exc
    if len(raw) < 4:
        raise IDXError(f"read_idx: {str(path)!r} is too short ({len(raw)} bytes) to hold an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise IDXError(f"read_idx: {str(path)!r} has magic number {magic} (0x{magic:08x}), expected "
                       f"{expected_magic} (0x{expected_magic:08x}); is it the right IDX file?")
    zero, type_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or type_code not in _ITEM_TYPES or ndim == 0:
        raise IDXError(f"read_idx: {str(path)!r} is not an IDX file (magic 0x{magic:08x} does not "
                       f"read as 0x0000<type><ndim>)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"read_idx: {str(path)!r} is truncated inside its header "
                       f"({len(raw)} bytes, header needs {header})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = _ITEM_TYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        what = "truncated" if len(raw) - header < expected else "longer than its header says"
        raise IDXError(f"read_idx: {str(path)!r} is {what}: dims {dims} need {expected} data bytes, "
                       f"found {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def load_mnist_test(data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test set: ``images`` uint8 (10000, 28, 28) and ``labels`` uint8 (10000,)."""
    data_dir = Path(data_dir) if data_dir is not None else DATA_DIR
    images = read_idx(data_dir / IMAGES_FILE, IMAGES_MAGIC)
    labels = read_idx(data_dir / LABELS_FILE, LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise IDXError(f"load_mnist_test: images in {str(data_dir)!r} have shape {images.shape} "
                       f"{images.dtype}, expected (N, 28, 28) uint8")
    if labels.shape != (images.shape[0],):
        raise IDXError(f"load_mnist_test: {labels.shape[0]} labels for {images.shape[0]} images "
                       f"in {str(data_dir)!r}")
    return images, labels


def split(images: np.ndarray, labels: np.ndarray):
    """Split the test set into (train_images, train_labels), (held_out_images, held_out_labels).

    Training uses the first :data:`N_TRAIN` (8,000) images, the held-out set the last
    :data:`N_HELD_OUT` (2,000). Returns views, no copies.
    """
    if len(images) != N_TRAIN + N_HELD_OUT or len(labels) != len(images):
        raise ValueError(f"split: expected {N_TRAIN + N_HELD_OUT} images and labels (the MNIST test "
                         f"set), got {len(images)} images and {len(labels)} labels")
    return (images[:N_TRAIN], labels[:N_TRAIN]), (images[N_TRAIN:], labels[N_TRAIN:])
