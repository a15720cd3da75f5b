"""Features of a dataset: a network run over many images, kept in a chunked, compressed HDF5 file.

:func:`extract` runs ``model`` over a :class:`~models.datasets.Source` in batches of
``batch_size`` images and keeps, for each requested layer, one row per readable image:

* a flat layer (fc7, (N, 4096)) as it is;
* a spatial layer (N, C, H, W) reduced per channel over the positions: ``pool="avg"`` the mean,
  ``"max"`` the maximum, ``"argmax"`` the maximum and its position (row, column) in the layer's
  grid, which is what the maximally-activating-patches method needs (Zeiler & Fergus 2014):
  with the layer's receptive field (:mod:`models.receptive_field`) the position names the
  input patch the unit saw. The whole map is never stored.

Besides the features the file holds the image names (``paths``), ``labels`` (-1: none) and
``class_names``, a ``thumbnails`` array (each image as the network sees it, after resizing and
cropping, shrunk to at most :data:`THUMBNAIL_SIDE` pixels a side, uint8, in the network's
channels: the digits' 28 x 28 gray pixels exactly), the images that could not be read
(``skipped/paths`` and ``skipped/reasons``), and root attributes: the model's architecture and
weights SHA-256, the layer names, the reduction, the source and the SHA-256 of its file list,
and the preprocessing (the weights files' ``input_*`` attributes).

Memory and failure. Only one batch is in memory. After each batch its rows are committed to
a part file in ``.<out>.parts/`` beside the output (written under a temporary name and
renamed, so a part is whole or absent); a killed run started again with the same arguments
continues after the last committed batch. When every batch is there the parts are copied, one
at a time, into the final file, written under a temporary name and renamed over ``out``: the
final name never holds a half-written file. The file embeds nothing time-dependent
(``track_times=False``, fixed attributes), so an interrupted and resumed run gives the same
bytes as an uninterrupted one. A resume with another model, layer list, reduction, batch size
or file list is refused, as is writing over a features file of another run (unless
``overwrite``).

:func:`extract_distributed` shards the file list over a dask.distributed cluster: each worker
runs :func:`extract` on a contiguous shard into its own shard file, and the final file joins
the shards with HDF5 virtual datasets into the layout above. :class:`FeatureFile` reads either.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from minigrad import no_grad
from models.atomic import atomic_path, check_writable
from models.datasets import Source
from models.images import resize
from models.network import _LUMA, _resize_to_input

__all__ = ["extract", "extract_distributed", "FeatureFile", "Extraction", "POOLS", "THUMBNAIL_SIDE"]

FORMAT = "minigrad-features"
FORMAT_VERSION = 1
POOLS = ("avg", "max", "argmax")
THUMBNAIL_SIDE = 32
CHUNK_BYTES = 1 << 18           # target size of one HDF5 chunk (rows are grouped up to it)
_STRINGS = h5py.string_dtype("utf-8")


@dataclass
class Extraction:
    """What :func:`extract` did: the output file, the number of images kept, the images it
    skipped as (name, reason), the seconds spent and images per second in this call, and the
    number of images already done by an earlier, interrupted run."""

    path: Path
    rows: int
    skipped: list = field(default_factory=list)
    seconds: float = 0.0
    images_per_second: float = 0.0
    resumed_from: int = 0
    already_complete: bool = False


# ---------------------------------------------------------------------- identity of a run
def weights_fingerprint(model) -> str:
    """The SHA-256 of the model's weights file, or for a network built from a seed, of its
    weights' bytes in state-dict order."""
    if getattr(model, "weights_sha256", None):
        return model.weights_sha256
    digest = hashlib.sha256()
    for value in model.state_dict().values():
        digest.update(np.ascontiguousarray(value.numpy() if hasattr(value, "numpy") else value).tobytes())
    return digest.hexdigest()


def _identity(model, source: Source, layers, pool, batch_size) -> dict:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "architecture": model.architecture,
            "weights_sha256": weights_fingerprint(model), "layers": list(layers),
            "layer_paths": [model.resolve(name) for name in layers], "pool": pool,
            "batch_size": int(batch_size), "source": source.spec, "images_listed": len(source),
            "list_sha256": source.sha256(), "preprocessing": model.preprocessing.describe()}


_WHAT = {"architecture": "model", "weights_sha256": "weights (SHA-256)", "layers": "layers",
         "layer_paths": "layers", "pool": "--pool", "batch_size": "--batch", "source": "data source",
         "images_listed": "number of images", "list_sha256": "file list",
         "preprocessing": "preprocessing", "format_version": "format version"}


def _differences(old: dict, new: dict) -> list:
    out = []
    for key, what in _WHAT.items():
        if old.get(key) != new.get(key) and what not in [w for w, _ in out]:
            out.append((what, f"{what} {old.get(key)!r}, not {new.get(key)!r}"))
    return [text for _, text in out]


# ---------------------------------------------------------------------- one batch
def _reduce(a: np.ndarray, pool: str):
    """A layer's batch output -> (values (N, D), positions (N, C, 2) or None)."""
    if a.ndim == 2:
        return a, None
    if a.ndim != 4:
        raise ValueError(f"cannot store a layer output of shape {a.shape}: expected (N, D) or (N, C, H, W)")
    n, c, h, w = a.shape
    if pool == "avg":
        return a.mean(axis=(2, 3)), None
    flat = a.reshape(n, c, h * w)
    index = flat.argmax(axis=2)
    values = np.take_along_axis(flat, index[..., None], axis=2)[..., 0]
    if pool == "max":
        return values, None
    return values, np.stack([index // w, index % w], axis=-1).astype(np.int32)


def _fit(model, img: np.ndarray) -> np.ndarray:
    """One image -> (H, W, C) float32 at the network's input size (resized and cropped as its
    preprocessing says), C = 1 for a gray image, else 3."""
    if tuple(img.shape[:2]) != tuple(model.preprocessing.input_size):
        img = _resize_to_input(img, model.preprocessing)
    return img[..., None] if img.ndim == 2 else img


def _thumbnails(model, images: np.ndarray) -> np.ndarray:
    """Images (N, H, W, C) in [0, 1] at input size -> uint8 (N, h, w, c): what the network sees
    in its own channels (gray for a one-channel net), at most THUMBNAIL_SIDE pixels a side."""
    if model.preprocessing.channels == 1 and images.shape[-1] == 3:
        images = (images @ _LUMA)[..., None]
    elif model.preprocessing.channels == 3 and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    h, w = images.shape[1:3]
    scale = THUMBNAIL_SIDE / max(h, w)
    if scale < 1:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        images = np.stack([resize(img, size).reshape(*size, -1) for img in images])
    return np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)


def _run_batch(model, source: Source, start: int, stop: int, layers, pool) -> dict:
    """Read, preprocess and run images ``start`` to ``stop - 1``; the part's arrays."""
    fitted, kept, skipped, reasons = [], [], [], []
    for i in range(start, stop):
        try:
            fitted.append(_fit(model, source.load(i)))
            kept.append(i)
        except (ValueError, OSError) as exc:
            skipped.append(i)
            reasons.append(str(exc))
    part = {"index": np.asarray(kept, np.int64), "skipped": np.asarray(skipped, np.int64),
            "reasons": np.asarray(reasons, dtype=str)}
    if not fitted:
        return part
    channels = max(img.shape[-1] for img in fitted)
    images = np.stack([np.repeat(img, channels // img.shape[-1], axis=-1) for img in fitted])
    with no_grad():
        outs = model.capture(model.preprocess(images), layers)
    for j, out in enumerate(outs.values()):
        a = out.numpy()
        values, positions = _reduce(a, pool)
        part[f"values{j}"] = np.ascontiguousarray(values, dtype=np.float32)
        part[f"shape{j}"] = np.asarray(a.shape[1:], np.int64)
        if positions is not None:
            part[f"positions{j}"] = positions
    part["thumbnails"] = _thumbnails(model, images)
    return part


# ---------------------------------------------------------------------- the parts folder
def _parts_folder(out: Path) -> Path:
    return out.parent / f".{out.name}.parts"


def _committed(work: Path, batch_size: int) -> list:
    parts = sorted(work.glob("part-*.npz"))
    for k, part in enumerate(parts):
        if part.name != f"part-{k * batch_size:010d}.npz":
            raise ValueError(f"the parts folder {str(work)!r} is not a sequence of batches ({part.name} where "
                             f"part-{k * batch_size:010d}.npz was expected); delete it to start over")
    return parts


def _read_identity(path: Path) -> dict:
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise ValueError(f"{str(path)!r} exists and is not a minigrad features file; choose another "
                                 f"--out or pass --overwrite to replace it")
            return json.loads(f.attrs["identity"])
    except OSError as exc:
        raise ValueError(f"{str(path)!r} exists and is not a readable HDF5 features file ({exc}); choose "
                         f"another --out or pass --overwrite to replace it") from None


def _existing_result(out: Path, identity: dict, overwrite: bool):
    """None when ``out`` is to be (re)written; the finished Extraction when it already holds this run."""
    if overwrite or not out.exists():
        return None
    old = _read_identity(out)
    diff = _differences(old, identity)
    if diff:
        raise FileExistsError(f"{str(out)!r} already holds the features of another run ({'; '.join(diff)}); "
                              f"choose another --out or pass --overwrite to replace it")
    with FeatureFile(out) as f:
        done = Extraction(out, len(f), list(zip(f.skipped_paths, f.skipped_reasons)), already_complete=True)
    shutil.rmtree(_parts_folder(out), ignore_errors=True)
    return done


def _open_parts(work: Path, identity: dict, overwrite: bool) -> None:
    manifest = work / "manifest.json"
    if work.exists() and (overwrite or not manifest.exists()):
        shutil.rmtree(work)
    if manifest.exists():
        old = json.loads(manifest.read_text(encoding="utf-8"))
        diff = _differences(old, identity)
        if diff:
            raise ValueError(f"cannot resume the interrupted extraction in {str(work)!r}: it was started with "
                             f"{'; '.join(diff)}. Rerun with the same arguments to finish it, pass --overwrite "
                             f"to start over, or delete that folder")
        return
    work.mkdir(parents=True)
    with atomic_path(manifest) as tmp:
        Path(tmp).write_text(json.dumps(identity, indent=1), encoding="utf-8")


# ---------------------------------------------------------------------- extraction
def extract(model, source: Source, layers, out, *, pool: str = "avg", batch_size: int = 64,
            progress: bool = True, overwrite: bool = False) -> Extraction:
    """Run ``model`` over ``source`` and write the features of ``layers`` to ``out`` (see the
    module docstring). ``progress`` shows a bar with images/s and the time left on stderr.
    Raises KeyError for an unknown layer, ValueError for bad arguments, an unfinished run of
    other arguments, or a source none of whose images can be read, FileExistsError for an
    ``out`` of another run, :class:`models.atomic.DestinationError` (an OSError) for an ``out``
    that cannot be written."""
    layers = list(layers)
    if not layers:
        raise ValueError("no layer given: name at least one layer (--layer), e.g. the last hidden layer")
    if len(set(layers)) != len(layers):
        raise ValueError(f"a layer is named twice in {layers}")
    if pool not in POOLS:
        raise ValueError(f"--pool must be one of {', '.join(POOLS)}, got {pool!r}")
    if int(batch_size) < 1:
        raise ValueError(f"--batch must be at least 1, got {batch_size}")
    if len(source) == 0:
        raise ValueError(f"the data source {source.spec!r} lists no images")
    out = Path(out)
    identity = _identity(model, source, layers, pool, batch_size)      # KeyError: unknown layer
    check_writable(out)
    finished = _existing_result(out, identity, overwrite)
    if finished is not None:
        return finished
    work = _parts_folder(out)
    _open_parts(work, identity, overwrite)
    start_at = len(_committed(work, batch_size)) * batch_size
    t0 = time.perf_counter()
    from tqdm import tqdm
    bar = tqdm(total=len(source), initial=min(start_at, len(source)), unit="img", desc=out.name,
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    with bar:
        for start in range(start_at, len(source), batch_size):
            stop = min(start + batch_size, len(source))
            part = _run_batch(model, source, start, stop, layers, pool)
            with atomic_path(work / f"part-{start:010d}.npz") as tmp, open(tmp, "wb") as f:
                np.savez(f, **part)
            bar.update(stop - start)
    seconds = time.perf_counter() - t0
    parts = _committed(work, batch_size)
    rows, skipped = _assemble(out, parts, identity, source, model.preprocessing.to_attrs())
    shutil.rmtree(work)
    done = len(source) - start_at
    return Extraction(out, rows, skipped, seconds, done / seconds if seconds > 0 else 0.0, start_at)


def _chunk_rows(row_shape, itemsize, rows) -> int:
    row_bytes = max(1, int(np.prod(row_shape, dtype=np.int64)) * itemsize)
    return max(1, min(rows, CHUNK_BYTES // row_bytes))


def _dataset(f, name, rows, row_shape, dtype, attrs=None):
    d = f.create_dataset(name, shape=(rows, *row_shape), dtype=dtype, compression="gzip", compression_opts=4,
                         shuffle=True, chunks=(_chunk_rows(row_shape, np.dtype(dtype).itemsize, rows), *row_shape),
                         track_times=False)
    for key, value in (attrs or {}).items():
        d.attrs[key] = value
    return d


def _write_header(f, identity: dict, source: Source, preprocessing: dict) -> None:
    f.attrs["format"] = FORMAT
    f.attrs["identity"] = json.dumps(identity, sort_keys=True)
    for key in ("format_version", "architecture", "weights_sha256", "pool", "source", "list_sha256",
                "images_listed"):
        f.attrs[key] = identity[key]
    f.attrs["layers"] = np.asarray(identity["layers"], dtype=_STRINGS)
    for key, value in preprocessing.items():
        f.attrs[key] = value
    f.create_dataset("class_names", data=np.asarray(source.class_names, dtype=object), dtype=_STRINGS,
                     track_times=False)


def _layer_attrs(identity, j, shape, pool) -> dict:
    spatial = len(shape) == 3
    return {"layer": identity["layers"][j], "layer_path": identity["layer_paths"][j],
            "output_shape": np.asarray(shape, np.int64), "reduction": pool if spatial else "none"}


def _assemble(out: Path, parts, identity: dict, source: Source, preprocessing: dict):
    """Copy the parts, one at a time, into the final file (written under a temporary name)."""
    counts, skipped, first = [], [], None
    for part in parts:
        with np.load(part) as p:
            counts.append(len(p["index"]))
            skipped += [(source.paths[i], str(r)) for i, r in zip(p["skipped"], p["reasons"])]
            if first is None and len(p["index"]):
                first = {k: p[k] for k in p.files if k.startswith("shape") or k == "thumbnails"}
                first.update({k: p[k][:1] for k in p.files if k.startswith(("values", "positions"))})
    rows = sum(counts)
    if rows == 0:
        shutil.rmtree(_parts_folder(out), ignore_errors=True)
        _, reason = skipped[0]
        raise ValueError(f"none of the {len(source)} images of {source.spec!r} could be read; the first: "
                         f"{reason}")
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        _write_header(f, identity, source, preprocessing)
        sets = {}
        for j in range(len(identity["layers"])):
            shape = tuple(int(v) for v in first[f"shape{j}"])
            attrs = _layer_attrs(identity, j, shape, identity["pool"])
            width = first[f"values{j}"].shape[1:]
            sets[f"values{j}"] = _dataset(f, f"features/{identity['layers'][j]}", rows, width, np.float32, attrs)
            if f"positions{j}" in first:
                sets[f"positions{j}"] = _dataset(f, f"positions/{identity['layers'][j]}", rows,
                                                 first[f"positions{j}"].shape[1:], np.int32, attrs)
        sets["thumbnails"] = _dataset(f, "thumbnails", rows, first["thumbnails"].shape[1:], np.uint8)
        sets["labels"] = _dataset(f, "labels", rows, (), np.int64)
        paths = f.create_dataset("paths", shape=(rows,), dtype=_STRINGS, track_times=False)
        at, all_labels = 0, np.asarray(source.labels, np.int64)
        for part, n in zip(parts, counts):
            if n == 0:
                continue
            with np.load(part) as p:
                index = p["index"]
                for key, d in sets.items():
                    if key == "labels":
                        d[at:at + n] = all_labels[index]
                    else:
                        d[at:at + n] = p[key]
                paths[at:at + n] = [source.paths[i] for i in index]
            at += n
        _write_skipped(f, skipped)
    return rows, skipped


def _write_skipped(f, skipped) -> None:
    f.create_dataset("skipped/paths", data=np.asarray([s for s, _ in skipped], dtype=object), dtype=_STRINGS,
                     track_times=False)
    f.create_dataset("skipped/reasons", data=np.asarray([r for _, r in skipped], dtype=object),
                     dtype=_STRINGS, track_times=False)


# ---------------------------------------------------------------------- reading
class FeatureFile:
    """A features file opened for reading (local or joined from shards)::

        with FeatureFile("digits.h5") as f:
            x = f.features("relu_fc1")          # (N, 256) float32
            f.labels, f.paths, f.class_names, f.thumbnails(), f.positions("relu2_2")
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no such features file: {str(self.path)!r}; make one with "
                                    f"`minigrad features --model M --data SRC --layer L --out F.h5`")
        self.identity = _read_identity(self.path)
        self._f = h5py.File(self.path, "r")
        f = self._f
        self.architecture = self.identity["architecture"]
        self.weights_sha256 = self.identity["weights_sha256"]
        self.layers = list(self.identity["layers"])
        self.pool = self.identity["pool"]
        self.paths = [p.decode("utf-8") if isinstance(p, bytes) else p for p in f["paths"][()]]
        self.labels = f["labels"][()]
        self.class_names = [s.decode("utf-8") for s in f["class_names"][()]]
        self.skipped_paths = [s.decode("utf-8") for s in f["skipped/paths"][()]]
        self.skipped_reasons = [s.decode("utf-8") for s in f["skipped/reasons"][()]]

    def __len__(self) -> int:
        return len(self.paths)

    def _layer(self, group, layer):
        if layer not in self.layers:
            raise KeyError(f"{str(self.path)!r} has no features of layer {layer!r}; it holds "
                           f"{', '.join(self.layers)} (extract the layer with `minigrad features --layer`)")
        if layer not in self._f.get(group, {}):
            raise KeyError(f"{str(self.path)!r} keeps no positions of {layer!r} (extracted with --pool "
                           f"{self.pool}); extract it with --pool argmax")
        return self._f[group][layer]

    def features(self, layer: str) -> np.ndarray:
        return self._layer("features", layer)[()]

    def positions(self, layer: str) -> np.ndarray:
        """(N, C, 2) row and column of each channel's maximum (files made with pool="argmax")."""
        return self._layer("positions", layer)[()]

    def layer_info(self, layer: str) -> dict:
        d = self._layer("features", layer)
        return {key: (v.tolist() if isinstance(v, np.ndarray) else v) for key, v in d.attrs.items()}

    def thumbnails(self, rows=None) -> np.ndarray:
        d = self._f["thumbnails"]
        if rows is None:
            return d[()]
        wanted, back = np.unique(np.asarray(rows, np.int64), return_inverse=True)
        return d[wanted][back]

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------- beyond one machine
def _extract_shard(model_ref: str, source: Source, layers, out: str, pool: str, batch_size: int) -> dict:
    """Runs on a dask worker: :func:`extract` of one shard into its own file."""
    import models
    done = extract(models.load(model_ref), source, layers, out, pool=pool, batch_size=batch_size, progress=False)
    return {"path": out, "rows": done.rows, "seconds": done.seconds}


def _shard_bounds(n: int, shards: int, batch_size: int) -> list:
    """Contiguous (start, stop) shards cut at multiples of the batch size, so every batch
    holds the same images as in a local run (and gives the same bytes)."""
    batches = math.ceil(n / batch_size)
    cuts = [min(n, round(k * batches / shards) * batch_size) for k in range(shards + 1)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def extract_distributed(address: str, model_ref: str, source: Source, layers, out, *, pool: str = "avg",
                        batch_size: int = 64, shards: int | None = None, progress: bool = True,
                        overwrite: bool = False) -> Extraction:
    """:func:`extract` over a dask.distributed cluster at ``address`` (``tcp://host:8786``).

    The file list is cut into ``shards`` contiguous pieces (default: one per worker); each
    worker loads ``model_ref`` (a registered name or a weights path every worker can read)
    and writes its shard to ``<out stem>.shards/shard-<k>.h5`` beside ``out`` (a folder the
    workers can reach: a shared file system beyond one machine). Shards are resumable like
    any extraction; a rerun recomputes only the unfinished ones. The final file holds the
    features, positions and thumbnails as HDF5 virtual datasets over the shard files (keep
    the ``.shards`` folder beside it) and copies paths, labels and the skipped list.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError("--dask needs dask.distributed: pip install 'minigrad[dask]'") from None
    import models
    out = Path(out)
    check_writable(out)
    model = models.load(model_ref)
    identity = _identity(model, source, layers, pool, batch_size)
    finished = _existing_result(out, identity, overwrite)
    if finished is not None:
        return finished
    folder = out.parent / f"{out.stem}.shards"
    if overwrite:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with Client(address) as client:
        count = shards or max(1, len(client.scheduler_info()["workers"]))
        bounds = _shard_bounds(len(source), count, batch_size)
        futures = [client.submit(_extract_shard, model_ref, source.subset(a, b), list(layers),
                                 str(folder / f"shard-{k:05d}.h5"), pool, batch_size, pure=False)
                   for k, (a, b) in enumerate(bounds)]
        from tqdm import tqdm
        with tqdm(total=len(source), unit="img", desc=out.name, disable=not progress, file=sys.stderr) as bar:
            size = {future.key: b - a for future, (a, b) in zip(futures, bounds)}
            for future in as_completed(futures):
                bar.update(size[future.key])
        results = client.gather(futures)
    seconds = time.perf_counter() - t0
    rows, skipped = _join(out, [Path(r["path"]) for r in results], identity, source,
                          model.preprocessing.to_attrs())
    return Extraction(out, rows, skipped, seconds, len(source) / seconds if seconds > 0 else 0.0)


def _join(out: Path, shard_paths, identity: dict, source: Source, preprocessing: dict):
    """The final file: virtual datasets over the shards' features, positions and thumbnails."""
    shard_files = [FeatureFile(p) for p in shard_paths]
    try:
        for s in shard_files:
            if s.weights_sha256 != identity["weights_sha256"]:
                raise ValueError(f"shard {str(s.path)!r} was computed with other weights "
                                 f"({s.weights_sha256}); delete the shards folder and run again")
        rows = sum(len(s) for s in shard_files)
        skipped = [(p, r) for s in shard_files for p, r in zip(s.skipped_paths, s.skipped_reasons)]
        datasets = [f"{g}/{layer}" for g in ("features", "positions") for layer in identity["layers"]
                    if layer in shard_files[0]._f.get(g, {})] + ["thumbnails"]
        with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
            _write_header(f, identity, source, preprocessing)
            for name in datasets:
                first = shard_files[0]._f[name]
                layout = h5py.VirtualLayout(shape=(rows, *first.shape[1:]), dtype=first.dtype)
                at = 0
                for s in shard_files:
                    n = len(s)
                    layout[at:at + n] = h5py.VirtualSource(os.path.relpath(s.path, out.parent), name,
                                                           shape=(n, *first.shape[1:]))
                    at += n
                d = f.create_virtual_dataset(name, layout)
                for key, value in first.attrs.items():
                    d.attrs[key] = value
            f.create_dataset("labels", data=np.concatenate([s.labels for s in shard_files]), track_times=False)
            f.create_dataset("paths", data=np.asarray([p for s in shard_files for p in s.paths], dtype=object),
                             dtype=_STRINGS, track_times=False)
            _write_skipped(f, skipped)
    finally:
        for s in shard_files:
            s.close()
    return rows, skipped
