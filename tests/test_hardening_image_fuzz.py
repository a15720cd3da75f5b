"""Damaged image files (issue 10, the image-loader fuzz test): ``models.images.load_image`` of a
PNG or JPEG with hypothesis-drawn bytes changed either returns an image or raises
ImageFileError, in a child process with 1 GiB address-space headroom and 30 s per file
(tests/fuzz_worker.py, which loads with max_pixels=4_000_000): no other exception, no
DecompressionBombError, no hang."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fuzz_worker import FuzzWorker


@pytest.fixture(scope="module")
def worker():
    w = FuzzWorker(memory_bytes=1 << 30, timeout_s=30)
    yield w
    w.close()


@pytest.fixture(scope="module")
def valid_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("img")
    rng = np.random.default_rng(0)
    pixels = (rng.random((24, 32, 3)) * 255).astype(np.uint8)
    paths = {}
    for suffix, options in ((".png", {}), (".jpg", {"quality": 90}), (".gif", {})):
        paths[suffix] = folder / f"valid{suffix}"
        Image.fromarray(pixels).save(paths[suffix], **options)
    return paths


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif"])
def test_valid_images_load_in_the_worker(worker, valid_images, suffix):
    assert worker.read("image", valid_images[suffix]) == "OK"


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif"])
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_image_loads_or_is_refused(worker, valid_images, tmp_path, suffix, data):
    original = valid_images[suffix].read_bytes()
    changes = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)),
                                 min_size=1, max_size=4), label="changes (offset, new byte)")
    cut = data.draw(st.sampled_from([None, None, None, len(original) // 2]), label="truncate at")
    damaged = bytearray(original)
    for offset, value in changes:
        damaged[offset] = value
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(bytes(damaged[:cut]))
    answer = worker.read("image", path)
    assert answer == "OK" or (answer.startswith("REFUSED") and str(path) in answer), answer
