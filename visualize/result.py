"""What every method returns: arrays, a rendered picture and the metadata to reproduce it.

A :class:`Result` holds

* ``arrays``   the numbers the method computed (``{"saliency": (H, W) float32, ...}``),
* ``picture``  the rendered ``(H, W, 3)`` uint8 image, as the gallery and the CLI show it,
* ``metadata`` a JSON-able dict: method, model architecture, weights SHA-256, every
  hyperparameter, seed, time taken, backend, minigrad version, and what the method reports;
* ``attachments`` extra files a method makes ({"frames.gif": bytes}), written beside the PNG.

``result.save("out/saliency.png")`` writes the PNG and a JSON sidecar ``out/saliency.json``
(with ``arrays=True``, ``out/saliency.npz``; attachments as ``out/saliency.frames.gif``).
The name is kept whole: ``photo.v1`` becomes ``photo.v1.png``, never ``photo.png``. Files that
already exist are refused (FileExistsError naming them) unless ``overwrite=True``. Every file is written under a temporary
name in the target folder first and renamed over the target with ``os.replace`` only once
all of them are complete, so an existing file is never left half-written.
The sidecar records the SHA-256 of every other file of the result (``files_sha256``), and
``Result.load("out/saliency.png")`` reads them back only when each file is the one recorded
(a set mixed by an interrupted write or a replaced file raises :class:`ResultMismatchError`);
temporaries a killed write left behind are removed by the next write into the folder
(:mod:`models.atomic`). In a notebook a result shows its picture
(``_repr_png_``).
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from models.atomic import write_files_atomically

__all__ = ["Result", "ResultMismatchError", "to_jsonable", "picture_path", "output_files", "write_files_atomically"]


#: The sidecar key that records {file name: SHA-256} of the other files of the result.
FILES_KEY = "files_sha256"


class ResultMismatchError(ValueError):
    """A result's files are not of one run: a file the sidecar lists is missing or differs."""


def to_jsonable(value):
    """``value`` with NumPy scalars/arrays, tuples and paths turned into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def picture_path(path) -> Path:
    """``path`` ending in ``.png``: a suffix is added, never swapped (``a.v1`` -> ``a.v1.png``)."""
    path = Path(path)
    return path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")


def output_files(path, arrays: bool = False, attachments=()) -> list[Path]:
    """The files a result saved at ``path`` consists of: picture, sidecar, arrays (when
    saved) and attachments."""
    png = picture_path(path)
    return [png, png.with_suffix(".json")] + ([png.with_suffix(".npz")] if arrays else []) + [
        png.with_suffix(f".{name}") for name in attachments]


def _check_one_run(png: Path, digests: dict) -> None:
    """Every file the sidecar of ``png`` lists must exist with the SHA-256 it records."""
    for name, digest in digests.items():
        f = png.with_name(name)
        actual = hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else None
        if actual != digest:
            what = "is missing" if actual is None else "is not the one its sidecar records (SHA-256 differs)"
            raise ResultMismatchError(
                f"Result.load: {str(f)!r} {what}: {png.name} and {png.with_suffix('.json').name} are not "
                f"the files of one run (a write was interrupted, or a file was replaced); run the method again "
                f"to write a complete set")


def _png_bytes(picture: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Result:
    """The output of one method run: ``arrays``, ``picture`` (H, W, 3) uint8 and ``metadata``."""

    picture: np.ndarray
    arrays: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    attachments: dict = field(default_factory=dict)

    def __post_init__(self):
        pic = np.asarray(self.picture)
        if pic.dtype != np.uint8 or pic.ndim != 3 or pic.shape[2] != 3:
            raise ValueError(f"Result: picture must be an (H, W, 3) uint8 array, got {pic.dtype} {pic.shape}; "
                             "use visualize.imaging.to_uint8")
        self.picture = pic

    @staticmethod
    def sidecar(path) -> Path:
        """The JSON file that goes with picture ``path`` (same name, ``.json``)."""
        return picture_path(path).with_suffix(".json")

    def planned_files(self, path, arrays: bool = False) -> list[Path]:
        """The paths :meth:`save` writes for ``path``."""
        return output_files(path, arrays, self.attachments)

    def save(self, path, arrays: bool = False, overwrite: bool = False) -> list[Path]:
        """Write the picture to ``path`` + ``.png`` (unless it already ends so), the metadata to
        the ``.json`` sidecar, the arrays to ``.npz`` when ``arrays`` is true, and the
        attachments. Returns the paths written. Atomic: see the module docstring. Existing
        files are refused unless ``overwrite``."""
        planned = self.planned_files(path, arrays)
        if not overwrite:
            existing = [str(p) for p in planned if p.exists()]
            if existing:
                raise FileExistsError(f"{', '.join(existing)} already exist(s); choose another output folder "
                                      "or pass --overwrite (overwrite=True) to replace")
        png = planned[0]
        files = {png: _png_bytes(self.picture)}
        if arrays:
            buf = io.BytesIO()
            np.savez_compressed(buf, **{k: np.asarray(v) for k, v in self.arrays.items()})
            files[png.with_suffix(".npz")] = buf.getvalue()
        for name, data in self.attachments.items():
            files[png.with_suffix(f".{name}")] = bytes(data)
        digests = {p.name: hashlib.sha256(data).hexdigest() for p, data in files.items()}
        sidecar = {**to_jsonable(self.metadata), FILES_KEY: digests}
        files[self.sidecar(png)] = (json.dumps(sidecar, indent=2, sort_keys=True) + "\n").encode()
        write_files_atomically(files)
        return [p for p in planned if p in files]

    @classmethod
    def load(cls, path) -> "Result":
        """Read a saved result: the PNG at ``path``, its JSON sidecar, and its ``.npz`` arrays if
        they were saved."""
        png = picture_path(path)
        for needed in (png, cls.sidecar(png)):
            if not needed.is_file():
                raise FileNotFoundError(f"Result.load: {str(needed)!r} does not exist; "
                                        "pass the .png written by Result.save")
        metadata = json.loads(cls.sidecar(png).read_text())
        digests = metadata.pop(FILES_KEY, None)
        if digests is not None:
            _check_one_run(png, digests)
        with Image.open(png) as im:
            picture = np.asarray(im.convert("RGB"))
        arrays = {}
        if png.with_suffix(".npz").is_file() and (digests is None or png.with_suffix(".npz").name in digests):
            with np.load(png.with_suffix(".npz")) as data:
                arrays = {k: data[k] for k in data.files}
        return cls(picture=picture, arrays=arrays, metadata=metadata)

    def _repr_png_(self) -> bytes:
        return _png_bytes(self.picture)

    def __repr__(self):
        shapes = ", ".join(f"{k}: {tuple(np.shape(v))}" for k, v in self.arrays.items())
        return (f"Result(method={self.metadata.get('method')!r}, picture={self.picture.shape}, "
                f"arrays={{{shapes}}})")
