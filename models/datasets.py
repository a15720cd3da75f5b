"""Dataset sources: an ordered list of images (and their labels) that a network is run over.

:func:`open_source` ``(spec)`` understands three kinds of ``spec``:

* a **folder**: every file below it (recursively) whose suffix Pillow registers as an image
  format, in sorted path order. Labels come from the folder names, ImageNet style: an image
  ``root/<class>/.../x.jpg`` has the class ``<class>`` (classes sorted by name, label = index);
  images directly in ``root`` have no label (-1). Other files (a README, a ``.txt``) are
  ignored;
* a **text file of paths**: one image per line, ``path`` or ``path<TAB>class``; relative paths
  are relative to the text file's folder; blank lines and lines starting with ``#`` are skipped;
* ``"mnist"``: the 10,000 shipped MNIST test digits (:mod:`models.mnist`) with their labels;
  image ``i`` is named ``mnist:<i>`` (five digits).

A source is a plain, picklable description (paths and labels, no pixels), so it can be sent to
another process and cut into shards (:meth:`Source.subset`). Pixels are read one image at a
time by :meth:`Source.load` (float32 RGB ``(H, W, 3)`` in [0, 1], or ``(H, W)`` gray for the
digits); an image that cannot be read raises ``ValueError`` naming the file, which the feature
extractor counts and lists instead of stopping (:mod:`models.features`).
"""
from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from models.images import load_image
from models.mnist import load_mnist_test

__all__ = ["Source", "open_source", "load_path", "MNIST", "image_suffixes"]

MNIST = "mnist"
_MNIST_PREFIX = "mnist:"


def image_suffixes() -> frozenset:
    """The file suffixes Pillow can open (lower case, with the dot)."""
    return frozenset(Image.registered_extensions())


@dataclass(frozen=True)
class Source:
    """``spec``: what the user named; ``paths``: one name per image, in order; ``labels``: int
    per image (-1 for none); ``class_names``: label -> name."""

    spec: str
    paths: tuple
    labels: tuple
    class_names: tuple

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, i: int) -> np.ndarray:
        """Pixels of image ``i`` (see :func:`load_path`)."""
        return load_path(self.paths[i])

    def subset(self, start: int, stop: int) -> "Source":
        """Images ``start`` to ``stop - 1`` (a shard), with the same class names."""
        return Source(self.spec, self.paths[start:stop], self.labels[start:stop], self.class_names)

    def sha256(self) -> str:
        """A fingerprint of the ordered list of (path, label): a resumed or joined extraction
        must be over exactly this list."""
        digest = hashlib.sha256()
        for path, label in zip(self.paths, self.labels):
            digest.update(f"{path}\t{label}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _mnist_images() -> np.ndarray:
    images, _ = load_mnist_test()
    images.flags.writeable = False
    return images


def load_path(path: str) -> np.ndarray:
    """Pixels of one image name of a source: ``mnist:<i>`` is shipped digit ``i`` as a float32
    (28, 28) gray image in [0, 1]; anything else is a file read by
    :func:`models.images.load_image` (ValueError when Pillow cannot decode it)."""
    if path.startswith(_MNIST_PREFIX):
        return _mnist_images()[int(path[len(_MNIST_PREFIX):])].astype(np.float32) / np.float32(255)
    return load_image(path)


def open_source(spec) -> Source:
    """The source named by ``spec`` (a folder, a text file of paths, or ``"mnist"``; see the
    module docstring). Raises FileNotFoundError for a path that does not exist and ValueError
    for a folder or list without images, with what was looked for."""
    text = os.fspath(spec)
    if text == MNIST:
        _, labels = load_mnist_test()
        return Source(MNIST, tuple(f"{_MNIST_PREFIX}{i:05d}" for i in range(len(labels))),
                      tuple(int(v) for v in labels), tuple(str(d) for d in range(10)))
    path = Path(text)
    if path.is_dir():
        return _folder(text, path)
    if path.is_file():
        return _list_file(text, path)
    raise FileNotFoundError(f"no such folder or file: {text!r}; --data takes a folder of images, a text "
                            f"file with one image path per line, or 'mnist' (the shipped digits)")


def _folder(spec: str, root: Path) -> Source:
    suffixes = image_suffixes()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise ValueError(f"the folder {spec!r} holds no image files (searched it and its subfolders for "
                         f"the formats Pillow reads: .png, .jpg, .jpeg, ...)")
    firsts = [p.relative_to(root).parts for p in files]
    classes = sorted({parts[0] for parts in firsts if len(parts) > 1})
    index = {name: i for i, name in enumerate(classes)}
    labels = tuple(index[parts[0]] if len(parts) > 1 else -1 for parts in firsts)
    return Source(spec, tuple(str(p) for p in files), labels, tuple(classes))


def _list_file(spec: str, listing: Path) -> Source:
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{spec!r} is not a text file of image paths (it is not UTF-8 text); "
                         f"--data takes a folder, a text file with one path per line, or 'mnist'") from None
    entries = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, label = line.rstrip("\r\n").partition("\t")
        file = Path(name.strip())
        entries.append((str(file if file.is_absolute() else listing.parent / file), label.strip()))
    if not entries:
        raise ValueError(f"the list {spec!r} names no images (one path per line, optionally "
                         f"path<TAB>class; '#' starts a comment)")
    classes = sorted({label for _, label in entries if label})
    index = {name: i for i, name in enumerate(classes)}
    return Source(spec, tuple(p for p, _ in entries), tuple(index.get(label, -1) for _, label in entries),
                  tuple(classes))
