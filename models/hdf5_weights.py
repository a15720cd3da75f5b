"""Weight files: our HDF5 layout (docs/weights-format.md), written atomically and read
back only after every check of its section 4 passes.

Layout: root attributes describe the file (format, architecture, source, preprocessing);
one group per parametrized layer, named by its torchvision-style path (``features.0``),
holding little-endian float32 datasets ``weight`` and ``bias``; ``class_names`` (and
optionally ``class_wnids``) as variable-length UTF-8 strings in logit order.

A state dict key ``features.0.weight`` is the dataset ``features.0/weight``.

Departures from the spec (documented in the README): architectures with one input channel
(``mnist_cnn``) use ``input_channel_order = "L"`` and one-element ``input_mean`` /
``input_std``; headless architectures (``vgg16_features``) have ``num_classes = 0`` and an
empty ``class_names`` dataset, and ``num_classes`` must equal the architecture's number of
outputs.

**Damaged files.** Every failure to read a file is one :class:`WeightsValidationError` naming
it, within bounded time and memory: each attribute's declared size and each dataset's declared
shape and dtype are checked before it is read (a dataset is read only when it has exactly the
architecture's shape), errors of h5py/HDF5 become that error, and the global heap collections
(where HDF5 keeps variable-length strings) are walked first as HDF5 walks them, because a heap
whose object list does not tile its collection makes HDF5 1.14 loop forever while reading a
string attribute (found by the corruption fuzz test: a two-byte change).
"""
from __future__ import annotations

import mmap
import os
import re
from importlib import metadata as _metadata

import h5py
import numpy as np

from minigrad.tensor import Tensor
from models import registry
from models.atomic import atomic_path
from models.network import CHANNEL_ORDERS, MAX_INPUT_SIDE

FORMAT = "minigrad-weights"
FORMAT_VERSION = 1
_FLOAT32 = np.dtype("<f4")
_CHUNK = 1 << 20  # elements per finite-check chunk
_SHA256 = re.compile(r"[0-9a-f]{64}")
_WNID = re.compile(r"n\d{8}")
MAX_ATTR_BYTES = 1 << 16   # declared size of one attribute (ours hold at most a few hundred bytes)
MAX_ATTRS = 256            # attributes on one object
MAX_CLASSES = 100_000      # entries of class_names / class_wnids
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError, OverflowError,
              UnicodeError, AttributeError, SystemError)

# required root attributes: name -> kind ("str", "int", "float[]", "int[]")
ROOT_ATTRS = {
    "format": "str", "format_version": "int", "architecture": "str", "num_classes": "int",
    "source_format": "str", "source_file": "str", "source_url": "str", "source_sha256": "str",
    "converter_version": "str", "input_channel_order": "str", "input_range": "float[]",
    "input_mean": "float[]", "input_std": "float[]", "input_size": "int[]",
    "resize_shorter_side": "int",
}
_KIND_TEXT = {"str": "a string", "int": "an integer", "float[]": "a 1-D array of numbers",
              "int[]": "a 1-D array of integers"}


class WeightsValidationError(ValueError):
    """A weights file failed validation; ``problems`` lists every problem found."""

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


def converter_version() -> str:
    try:
        return _metadata.version("minigrad")
    except _metadata.PackageNotFoundError:
        return "0+unknown"


# ---------------------------------------------------------------------- layout
def expected_shapes(architecture: str) -> dict:
    """{state key: shape} of ``architecture``, read from its registered builder (no weights
    are allocated)."""
    return {k: tuple(v.shape) for k, v in registry.skeleton(architecture).state_dict().items()}


def _split(key):
    group, _, name = key.rpartition(".")
    return group, name


def _layer_attrs(module) -> dict:
    """The per-layer attributes a file may carry for ``module`` and the values the
    architecture requires (check 14)."""
    if hasattr(module, "groups"):  # a convolution
        return {"kind": "conv2d", "stride": tuple(module.stride), "padding": tuple(module.padding),
                "groups": module.groups}
    return {"kind": "linear"}


def layer_attrs(architecture: str) -> dict:
    """{group: {attr: value}} for every parametrized layer of ``architecture``; the optional
    per-layer attributes converters may write (docs/weights-format.md section 2)."""
    net = registry.skeleton(architecture)
    groups = {_split(k)[0] for k in net.state_dict()}
    return {g: _layer_attrs(net.get_submodule(g)) for g in sorted(groups)}


# ---------------------------------------------------------------------- writing
def save_weights(path, state: dict, *, architecture: str, meta: dict) -> str:
    """Write ``state`` (key -> array) as a weights file for ``architecture`` at ``path``.

    ``meta`` holds the root attributes of docs/weights-format.md section 2 (source_*, input_* as from
    :meth:`Preprocessing.to_attrs`, ...) and ``class_names`` (and optionally
    ``class_wnids``); ``format``, ``format_version``, ``architecture``, ``converter_version``
    and ``num_classes`` (= len(class_names)) are filled in when absent. Optional per-layer
    attributes go in ``meta["layer_attrs"]`` ({group: {attr: value}}).

    The file is written under a temporary name in the same folder, validated with
    :func:`load_weights`, and only then moved to ``path`` (:func:`models.atomic.atomic_path`,
    mode ``0o666 & ~umask``): a failure leaves neither a partial file nor a changed ``path``.
    Returns ``path``.
    """
    path = os.fspath(path)
    meta = dict(meta)
    class_names = list(meta.pop("class_names"))
    class_wnids = meta.pop("class_wnids", None)
    per_layer = meta.pop("layer_attrs", {})
    attrs = {"format": FORMAT, "format_version": FORMAT_VERSION, "architecture": architecture,
             "converter_version": converter_version(), "num_classes": len(class_names)}
    attrs.update(meta)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, value in attrs.items():
                f.attrs[name] = value
            for key, array in state.items():
                group_name, name = _split(key)
                group = f.require_group(group_name)
                group.create_dataset(name, data=np.asarray(_to_host(array), dtype=_FLOAT32))
            for group_name, values in per_layer.items():
                for name, value in values.items():
                    f.require_group(group_name).attrs[name] = value
            strings = h5py.string_dtype("utf-8")
            f.create_dataset("class_names", data=np.array(class_names, dtype=object), dtype=strings)
            if class_wnids is not None:
                f.create_dataset("class_wnids", data=np.array(list(class_wnids), dtype=object), dtype=strings)
        validate(tmp, architecture, shown_path=path)
    return path


def _to_host(array):
    if isinstance(array, Tensor):  # (not hasattr "data": a CuPy array's .data is its memory pointer)
        array = array.data
    if type(array).__module__.startswith("cupy"):
        array = array.get()
    return array


# ---------------------------------------------------------------------- reading
def load_weights(path, architecture: str | None = None):
    """Validate the weights file at ``path`` (every check of docs/weights-format.md section 4) and return
    ``(state, meta)``: state key -> float32 array, and the root attributes as Python values
    (the required ones and any extra ones, see :func:`extra_attrs`) plus ``class_names`` (and
    ``class_wnids`` when present).

    Raises :class:`WeightsValidationError` listing every problem, or FileNotFoundError.
    """
    return _read(os.fspath(path), architecture, os.fspath(path), keep=True)


def validate(path, architecture: str | None = None, shown_path=None) -> None:
    """Run the checks of :func:`load_weights` without keeping the arrays."""
    _read(os.fspath(path), architecture, os.fspath(shown_path or path), keep=False)


def _read(path, architecture, shown, keep):
    if not os.path.exists(path):
        raise FileNotFoundError(f"weights file '{shown}' does not exist")
    if os.path.isdir(path):
        raise WeightsValidationError(f"'{shown}' is a folder, not a weights file")
    try:
        _check_global_heaps(path, shown)
        f = h5py.File(path, "r")
    except WeightsValidationError:
        raise
    except _H5_ERRORS as e:
        raise WeightsValidationError(f"'{shown}' is not a readable HDF5 file: {e}") from None
    try:
        with f:
            problems = []   # (key, message)
            _check_attr_sizes(f, "/", problems)
            if problems:
                raise WeightsValidationError(f"weights file '{shown}' is damaged: {problems[0][1]}",
                                             [msg for _, msg in problems])
            attrs = _check_root(f, architecture, problems)
            state = _check_weights(f, attrs.get("architecture"), problems, keep)
            meta = _check_class_names(f, attrs, problems)
            extra = extra_attrs(f)
    except WeightsValidationError:
        raise
    except (*_H5_ERRORS, MemoryError) as e:
        raise WeightsValidationError(
            f"weights file '{shown}' is damaged: HDF5 cannot read it ({type(e).__name__}: {e}); "
            f"download or convert it again") from None
    if problems:
        problems.sort(key=lambda p: str(p[0]))   # (a damaged link name may come back as bytes)
        lines = "\n".join(f"  {msg}" for _, msg in problems)
        raise WeightsValidationError(
            f"weights file '{shown}' failed validation ({len(problems)} problems):\n{lines}",
            [msg for _, msg in problems])
    meta.update(attrs)
    meta.update(extra)
    return state, meta


def _check_global_heaps(path, shown) -> None:
    """Walk every global heap collection (signature ``GCOL``) as HDF5's
    ``H5HG__cache_heap_deserialize`` does and refuse one that walk cannot finish: each object
    ``index (2) refcount (2) reserved (4) size (8) data`` (data padded to 8 bytes) must lie
    inside the collection, and the free-space object (index 0) must not be empty: HDF5
    advances by its size, so a size of 0 never ends its loop. A signature found inside raw weight data that does not parse is
    not a heap (checked against the float datasets' byte ranges) and is ignored."""
    size = os.path.getsize(path)
    if size == 0:
        raise WeightsValidationError(f"'{shown}' is empty (0 bytes), not a weights file")
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        bad = []
        start = data.find(b"GCOL")
        while start >= 0:
            problem = _heap_problem(data, start, size)
            if problem:
                bad.append((start, problem))
            start = data.find(b"GCOL", start + 4)
    if bad:
        raw = _raw_data_ranges(path)
        bad = [(at, problem) for at, problem in bad if not any(lo <= at < hi for lo, hi in raw)]
    if bad:
        at, problem = bad[0]
        raise WeightsValidationError(f"weights file '{shown}' is damaged: the global heap at byte {at} "
                                     f"{problem}; download or convert it again")


def _heap_problem(data, start, file_size):
    """Why the collection at ``start`` is unusable (None when it tiles correctly)."""
    if start + 16 > file_size or data[start + 4] != 1:
        return "has an unknown version"
    end = start + int.from_bytes(data[start + 8:start + 16], "little")
    if end > file_size or end < start + 16:
        return f"declares {end - start} bytes, beyond the end of the file"
    p = start + 16
    while p + 16 <= end:                     # (a tail too small for a header is free space)
        index = int.from_bytes(data[p:p + 2], "little")
        n = int.from_bytes(data[p + 8:p + 16], "little")
        if index == 0 and n == 0:
            return "has a free-space block of 0 bytes (HDF5 would never finish reading it)"
        p += n if index == 0 else 16 + (n + 7) // 8 * 8
        if p > end:
            return f"has an object running {p - end} bytes past its end"
    return None


def _raw_data_ranges(path) -> list:
    """Byte ranges of the contiguous float datasets' raw data (where b"GCOL" may occur by chance)."""
    ranges = []
    try:
        with h5py.File(path, "r") as f:
            def visit(_name, item):
                if isinstance(item, h5py.Dataset) and item.dtype.kind == "f" and item.id.get_offset() is not None:
                    ranges.append((item.id.get_offset(), item.id.get_offset() + item.id.get_storage_size()))
            f.visititems(visit)
    except _H5_ERRORS:
        pass
    return ranges


def _check_attr_sizes(f, where, problems) -> None:
    """Refuse attributes whose declared size is beyond any weights file's, or whose type is not
    a number, a fixed-length byte string or a variable-length string (before reading them:
    reading a variable-length *sequence* whose kind byte is damaged crashes HDF5 with a
    segmentation fault, found by the fuzz test)."""
    names = list(f.attrs)
    if len(names) > MAX_ATTRS:
        problems.append((where, f"'{where}' has {len(names)} attributes (at most {MAX_ATTRS} expected)"))
        return
    for name in names:
        attr = f.attrs.get_id(name)
        declared = attr.get_storage_size()
        if declared > MAX_ATTR_BYTES or attr.shape is None or int(np.prod(attr.shape, dtype=np.int64)) > MAX_ATTR_BYTES:
            problems.append((f"{where}{name}", f"attribute '{name}' of '{where}' declares {declared} bytes "
                                               f"(shape {attr.shape}); at most {MAX_ATTR_BYTES} expected"))
        elif not (attr.dtype.kind in "biufS" or (attr.dtype.kind == "O" and h5py.check_string_dtype(attr.dtype))):
            problems.append((f"{where}{name}", f"attribute '{name}' of '{where}' has type {attr.dtype} "
                                               f"({type(attr.get_type()).__name__}), not a number or a string"))


def extra_attrs(f) -> dict:
    """The root attributes beyond the required ones (e.g. how the weights were trained:
    ``training_command``, ``held_out_accuracy``), as plain Python values (str, int, float,
    lists), in the file's order."""
    return {name: _plain(value) for name, value in f.attrs.items() if name not in ROOT_ATTRS}


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attr_value(value, kind):
    """``value`` as a Python value of ``kind``, or None if it has the wrong type/shape."""
    if kind == "str":
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return value if isinstance(value, str) else None
    arr = np.asarray(value)
    if kind == "int":
        return int(arr) if arr.ndim == 0 and arr.dtype.kind in "iu" else None
    if arr.ndim != 1 or arr.dtype.kind not in ("iu" if kind == "int[]" else "iuf"):
        return None
    return tuple(int(v) for v in arr) if kind == "int[]" else tuple(float(v) for v in arr)


def _describe_attr(value):
    arr = np.asarray(value)
    if arr.dtype.kind in "OSU" and arr.ndim == 0:
        return f"{type(value).__name__} {value!r}"
    return f"{arr.dtype} array of shape {arr.shape}" if arr.ndim else f"{arr.dtype} {arr!r}"


def _check_root(f, requested, problems) -> dict:
    """Checks 2-6 and 15; returns the attributes that have the right type."""
    def add(name, msg):
        problems.append((f"/{name}", msg))

    attrs = {}
    for name, kind in ROOT_ATTRS.items():
        if name not in f.attrs:
            if name == "format":
                add(name, "not a minigrad weights file: root attribute 'format' is missing")
            else:
                add(name, f"missing root attribute '{name}'")
            continue
        value = _attr_value(f.attrs[name], kind)
        if value is None:
            add(name, f"root attribute '{name}' must be {_KIND_TEXT[kind]}, got {_describe_attr(f.attrs[name])}")
        else:
            attrs[name] = value

    if "format" in attrs and attrs["format"] != FORMAT:
        add("format", f"not a minigrad weights file: root attribute 'format' is {attrs['format']!r}")
    if "format_version" in attrs and attrs["format_version"] != FORMAT_VERSION:
        add("format_version", f"unsupported format_version {attrs['format_version']}; "
                              f"this loader reads version {FORMAT_VERSION}")
    arch = attrs.get("architecture")
    if arch is not None and arch not in registry.names():
        add("architecture", f"unknown architecture '{arch}'; expected one of: {', '.join(registry.names())}")
        del attrs["architecture"]
    elif arch is not None and requested is not None and arch != requested:
        add("architecture", f"architecture mismatch: file has '{arch}', caller requested '{requested}'")
    n, arch = attrs.get("num_classes"), attrs.get("architecture")
    if n is not None and arch is not None and n != len(registry.skeleton(arch).class_names):
        add("num_classes", f"root attribute 'num_classes' is {n}, but architecture '{arch}' has "
                           f"{len(registry.skeleton(arch).class_names)} outputs (0: a headless network)")
    sha = attrs.get("source_sha256")
    if sha is not None and not _SHA256.fullmatch(sha):
        add("source_sha256", f"root attribute 'source_sha256' must be 64 lowercase hex characters, got '{sha}'")
    _check_preprocessing(attrs, add)
    return attrs


def _check_preprocessing(attrs, add):
    """Check 15: the preprocessing attributes describe a usable input convention."""
    order = attrs.get("input_channel_order")
    if order is not None and order not in CHANNEL_ORDERS:
        add("input_channel_order", f"root attribute 'input_channel_order' must be one of "
                                   f"{', '.join(CHANNEL_ORDERS)}, got '{order}'")
        order = None
    arch = attrs.get("architecture")
    if order is not None and arch is not None:
        first_weight = next(iter(expected_shapes(arch).values()))
        if len(first_weight) == 4 and first_weight[1] != (1 if order == "L" else 3):
            add("input_channel_order", f"root attribute 'input_channel_order' is '{order}', but "
                                       f"architecture '{arch}' takes {first_weight[1]} input channel(s)")
    channels = 1 if order == "L" else 3
    for name in ("input_range", "input_mean", "input_std"):
        values = attrs.get(name)
        if values is not None and not np.isfinite(values).all():
            add(name, f"root attribute '{name}' must be finite, got {list(values)}")
            attrs.pop(name)
    std = attrs.get("input_std")
    if std is not None and (len(std) != channels or not all(std)):
        add("input_std", f"root attribute 'input_std' must be {channels} non-zero values, got {list(std)}")
    mean = attrs.get("input_mean")
    if mean is not None and len(mean) != channels:
        add("input_mean", f"root attribute 'input_mean' must be {channels} values, got {list(mean)}")
    lo_hi = attrs.get("input_range")
    if lo_hi is not None and (len(lo_hi) != 2 or not lo_hi[0] < lo_hi[1]):
        add("input_range", f"root attribute 'input_range' must be 2 values lo < hi, got {list(lo_hi)}")
    size = attrs.get("input_size")
    if size is not None and (len(size) != 2 or min(size) < 1 or max(size) > MAX_INPUT_SIDE):
        add("input_size", f"root attribute 'input_size' must be 2 integers from 1 to at most {MAX_INPUT_SIDE} "
                          f"(the sane bound on an input side), got {list(size)}")
        size = None
    resize = attrs.get("resize_shorter_side")
    if resize is not None and not 0 <= resize <= MAX_INPUT_SIDE:
        add("resize_shorter_side", f"root attribute 'resize_shorter_side' must be 0 (none) or a side of at most "
                                   f"{MAX_INPUT_SIDE} pixels (the sane bound), got {resize}")
    elif resize and size is not None and resize < max(size):
        add("resize_shorter_side", f"root attribute 'resize_shorter_side' is {resize}, smaller than the "
                                   f"input_size {' x '.join(map(str, size))} cropped from it; it must be 0 "
                                   f"(resize to input_size) or at least {max(size)}")


def _check_weights(f, arch, problems, keep) -> dict:
    """Checks 7-11 and 14; returns the state dict (empty unless ``keep``)."""
    expected = expected_shapes(arch) if arch is not None else {}
    required_attrs = layer_attrs(arch) if arch is not None else {}
    expected_groups = {_split(k)[0] for k in expected}
    state = {}
    for key, shape in expected.items():
        group, name = _split(key)
        where = f"{group}/{name}"
        item = f[group].get(name) if isinstance(f.get(group), h5py.Group) else None
        if not isinstance(item, h5py.Dataset):
            problems.append((where, f"missing weight '{where}' (expected shape {shape})"))
            continue
        if item.shape != shape:
            problems.append((where, f"shape mismatch for '{where}': expected {shape}, got {item.shape}"))
        if item.dtype != _FLOAT32:
            problems.append((where, f"dtype mismatch for '{where}': expected float32, got {_dtype_text(item.dtype)}"))
        if item.dtype == _FLOAT32 and item.shape == shape:   # read only what the architecture declares
            array = _check_finite(item, where, problems)
            if keep:
                state[key] = array
    _check_extra(f, arch, expected, expected_groups, problems)
    for group, required in required_attrs.items():
        if group in f and isinstance(f[group], h5py.Group):
            before = len(problems)
            _check_attr_sizes(f[group], f"/{group}/", problems)
            if len(problems) > before:
                continue
            for name, value in f[group].attrs.items():
                if name in required and _normalize(value, required[name]) != required[name]:
                    problems.append((group, f"layer '{group}' attribute '{name}' is {_show(value)}, "
                                            f"architecture requires {_show(required[name])}"))
    return state


def _dtype_text(dtype):
    return f"{dtype.name} (big-endian)" if dtype.byteorder == ">" else dtype.name


def _check_finite(dataset, where, problems):
    """Read ``dataset`` once and count NaN and Inf chunk by chunk (no full-size masks)."""
    array = dataset[()]
    flat = array.reshape(-1)
    n_nan = n_inf = 0
    for start in range(0, flat.size, _CHUNK):
        chunk = flat[start:start + _CHUNK]
        n_nan += int(np.count_nonzero(np.isnan(chunk)))
        n_inf += int(np.count_nonzero(np.isinf(chunk)))
    if n_nan or n_inf:
        problems.append((where, f"non-finite values in '{where}': {n_nan} NaN, {n_inf} Inf"))
    return array


def _check_extra(f, arch, expected, expected_groups, problems):
    """Check 11: nothing in the file that the architecture does not have (only checked when
    the architecture is known)."""
    if arch is None:
        return
    allowed_root = expected_groups | {"class_names", "class_wnids"}
    expected_keys = {"/".join(_split(k)) for k in expected}
    for name, item in f.items():
        if name not in allowed_root or (name in expected_groups and not isinstance(item, h5py.Group)):
            problems.append((name, f"unexpected entry '/{name}' in weights file"))
        elif isinstance(item, h5py.Group):
            for child in item:
                if f"{name}/{child}" not in expected_keys:
                    problems.append((f"{name}/{child}", f"unexpected entry '/{name}/{child}' in weights file"))


def _normalize(value, like):
    """A file attribute in the form of the architecture's value (pairs for stride/padding)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(like, tuple):
        arr = np.ravel(np.asarray(value))
        return tuple(int(v) for v in (arr if arr.size == len(like) else np.repeat(arr, len(like))))
    if isinstance(like, int):
        return int(np.asarray(value)) if np.asarray(value).size == 1 else None
    return str(value)


def _show(value):
    if isinstance(value, tuple) and len(set(value)) == 1:
        return str(value[0])
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return repr(value) if isinstance(value, str) else str(np.asarray(value).tolist())


def _check_class_names(f, attrs, problems) -> dict:
    """Checks 12 and 13; returns {"class_names": [...], "class_wnids": [...]?}."""
    meta = {}
    n = attrs.get("num_classes")
    names = f.get("class_names")
    ok = (isinstance(names, h5py.Dataset) and h5py.check_string_dtype(names.dtype) is not None
          and names.ndim == 1 and (n is None or names.shape == (n,)) and names.shape[0] <= MAX_CLASSES)
    if not ok:
        got = (f"shape {names.shape} dtype {names.dtype}" if isinstance(names, h5py.Dataset)
               else "missing" if names is None else "a group")
        problems.append(("class_names", f"class_names must be {n} strings, got {got}"))
    else:
        meta["class_names"] = [s for s in names.asstr()[()]]
    wnids = f.get("class_wnids")
    if wnids is None:
        return meta
    if not (isinstance(wnids, h5py.Dataset) and h5py.check_string_dtype(wnids.dtype) is not None
            and wnids.ndim == 1 and (n is None or wnids.shape == (n,)) and wnids.shape[0] <= MAX_CLASSES):
        got = f"shape {wnids.shape} dtype {wnids.dtype}" if isinstance(wnids, h5py.Dataset) else "a group"
        problems.append(("class_wnids", f"class_wnids must be {n} strings, got {got}"))
        return meta
    values = list(wnids.asstr()[()])
    for i, v in enumerate(values):
        if not _WNID.fullmatch(v):
            problems.append((f"class_wnids/{i:04d}", f"class_wnids entry {i} is not a WordNet id: '{v}'"))
    meta["class_wnids"] = values
    return meta
