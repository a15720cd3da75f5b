"""``convert(src, dst, arch)``: a foreign checkpoint -> a validated minigrad weights file.

Steps (docs/weights-format.md section 3):

1. detect the format from the first bytes (``format`` overrides);
2. hash the source in one pass: SHA-256 always (recorded as ``source_sha256``), plus any
   digest the caller expects (``expected={"md5": ...}``), which must match;
3. read the arrays with the format's reader (no code from the file runs);
4. map them to the architecture's keys: torch state dicts already use them; Keras and Caffe
   layers are named as in the papers (``conv1_1``, ``fc6``), which the networks define as
   aliases of their keys; every key and shape is checked against the architecture, and a
   mismatch names the missing/extra keys and any registered architecture that fits;
5. write with :func:`models.hdf5_weights.save_weights`, which writes a temporary file,
   runs every validation of docs/weights-format.md section 4 on it and only then moves it to ``dst``: a failed conversion
   leaves no partial ``dst`` behind.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from models import hdf5_weights, imagenet, registry
from models.atomic import check_writable
from models.convert.caffe import read_caffemodel
from models.convert.detect import detect_format
from models.convert.errors import ConversionError
from models.convert.keras_h5 import read_keras_vgg
from models.convert.torch_pth import read_pth
from models.network import Preprocessing

#: VGG-16 as trained in Caffe (and ported to Keras): BGR, 0-255, mean pixel subtracted (§3.4, §4.5)
CAFFE_VGG = Preprocessing("BGR", (0.0, 255.0), (103.939, 116.779, 123.68), (1.0, 1.0, 1.0), (224, 224), 256)

HASHES = ("sha256", "sha1", "md5")
_CHUNK = 1 << 22


def file_digests(path, algorithms=("sha256",)) -> dict[str, str]:
    """Hex digests of the file at ``path`` for each of ``algorithms``, in one read."""
    hashers = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {name: h.hexdigest() for name, h in hashers.items()}


def verify_digests(path, expected: dict[str, str]) -> dict[str, str]:
    """Hash ``path`` (SHA-256 plus every algorithm in ``expected``) and compare; returns the
    digests. Raises :class:`ConversionError` naming the file, both digests and the fix."""
    unknown = set(expected) - set(HASHES)
    if unknown:
        raise ConversionError(f"unknown digest type(s) {sorted(unknown)}; expected one of {HASHES}")
    digests = file_digests(path, sorted({"sha256", *expected}))
    for name, want in expected.items():
        if digests[name] != want.lower():
            raise ConversionError(f"{name.upper()} of '{path}' is {digests[name]}, expected {want.lower()}: "
                                  f"the file is damaged, incomplete or a different file; download it again")
    return digests


def read_source(path, fmt: str, arch: str | None = None) -> tuple[dict[str, np.ndarray], bool]:
    """The arrays of the checkpoint and whether they are keyed by readable layer names
    (``conv1_1.weight``; Keras and Caffe) rather than module paths (``features.0.weight``).

    With ``arch``, a PyTorch checkpoint's keys, tensor shapes and storage sizes are checked
    against the architecture before a byte of tensor data is read (:func:`_check_before_reading`)."""
    if fmt.startswith("torch-"):
        check = None if arch is None else (lambda refs: _check_before_reading(refs, arch, f"'{path}' ({fmt})"))
        return read_pth(path, fmt, check), False
    if fmt == "keras-h5":
        return read_keras_vgg(path), True
    if fmt == "caffemodel":
        layers = read_caffemodel(path)
        state = {}
        for name, blobs in layers.items():
            if len(blobs) > 2:
                raise ConversionError(f"caffemodel '{path}': layer '{name}' has {len(blobs)} blobs; "
                                      f"only weight and bias are supported")
            state.update(zip((f"{name}.weight", f"{name}.bias"), blobs))
        return state, True
    raise ConversionError(f"no reader for format {fmt!r}")


def _rename(state: dict, by_alias: bool, arch: str) -> dict:
    """Keys ``conv1_1.weight`` -> ``features.0.weight`` through ``arch``'s aliases (if ``by_alias``)."""
    if not by_alias:
        return state
    aliases = registry.skeleton(arch).aliases
    renamed = {}
    for key, array in state.items():
        layer, _, param = key.rpartition(".")
        renamed[f"{aliases[layer]}.{param}" if layer in aliases else key] = array
    return renamed


def _matching_architectures(state: dict, by_alias: bool) -> list[str]:
    return [a for a in registry.names()
            if {k: tuple(v.shape) for k, v in _rename(state, by_alias, a).items()}
            == hdf5_weights.expected_shapes(a)]


#: A checkpoint's storages may hold at most this many times the architecture's parameters
#: (torchvision's hold exactly them; the slack admits storages shared with a few other tensors).
STORAGE_SLACK = 2


def _check_before_reading(refs: dict, arch: str, source: str) -> None:
    """Keys and shapes of the tensor references are the architecture's, and their distinct
    storages declare at most :data:`STORAGE_SLACK` times its parameters: a file cannot make
    the reader allocate more than the network it claims to hold."""
    _check_layout(refs, False, arch, source)
    storages = {ref.storage.key: ref.storage for ref in refs.values()}
    declared = sum(st.offset + st.numel for st in storages.values())
    needed = sum(int(np.prod(shape)) for shape in hdf5_weights.expected_shapes(arch).values())
    if declared > STORAGE_SLACK * needed:
        raise ConversionError(f"checkpoint {source}: its storages declare {declared} elements, more than "
                              f"{STORAGE_SLACK}x the {needed} parameters of architecture '{arch}'; refusing to "
                              f"read them (save the state dict of the model alone)")


def map_to_architecture(state: dict, by_alias: bool, arch: str, source: str) -> dict[str, np.ndarray]:
    """Rename readable keys to ``arch``'s module paths, cast to float32, and check that keys and
    shapes are exactly the architecture's."""
    state = _check_layout(state, by_alias, arch, source)
    return {k: np.asarray(state[k], dtype=np.float32) for k in hdf5_weights.expected_shapes(arch)}


def _check_layout(state: dict, by_alias: bool, arch: str, source: str) -> dict:
    """``state`` renamed to ``arch``'s keys, after checking that keys and shapes (of arrays or
    tensor references) are exactly the architecture's."""
    original, state = state, _rename(state, by_alias, arch)
    expected = hdf5_weights.expected_shapes(arch)
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {expected[k]})"
             for k in expected if k in state and tuple(state[k].shape) != expected[k]]
    if missing or extra or wrong:
        fits = _matching_architectures(original, by_alias)
        parts = [f"missing {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}" if missing else "",
                 f"unexpected {', '.join(extra[:6])}{' ...' if len(extra) > 6 else ''}" if extra else "",
                 f"wrong shape {'; '.join(wrong[:4])}" if wrong else ""]
        hint = f"; it fits --arch {' or '.join(fits)}" if fits else ""
        raise ConversionError(f"checkpoint {source} does not match architecture '{arch}': "
                              f"{'; '.join(p for p in parts if p)}{hint}")
    return state


def _preprocessing(arch: str, fmt: str) -> Preprocessing:
    """Caffe and Keras VGG weights expect Caffe's input; everything else the architecture's."""
    default = registry.skeleton(arch).preprocessing
    if fmt in ("keras-h5", "caffemodel") and default.channel_order != "BGR":
        return CAFFE_VGG
    return default


def convert(src, dst, arch: str, format: str | None = None, *, expected: dict | None = None,
            source_url: str = "", overwrite: bool = False) -> str:
    """Convert the checkpoint ``src`` to a minigrad weights file ``dst`` for ``arch``.

    ``format``: one of :data:`models.convert.FORMATS` (default: detected from the bytes).
    ``expected``: digests the source must have, e.g. ``{"sha256": "397923af..."}``.
    ``overwrite``: replace an existing ``dst`` (otherwise it is an error).
    Returns ``dst``. Raises :class:`ConversionError` (bad source) or
    :class:`~models.hdf5_weights.WeightsValidationError` (written file failed validation).
    """
    src, dst = os.fspath(src), os.fspath(dst)
    if arch not in registry.names():
        raise ConversionError(f"unknown architecture '{arch}'; expected one of: {', '.join(registry.names())}")
    if os.path.exists(dst) and not overwrite:
        raise ConversionError(f"'{dst}' already exists; choose another name or pass --force to replace it")
    check_writable(dst)   # (a DestinationError, an OSError) before the source is read
    fmt = detect_format(src, format)
    digests = verify_digests(src, expected or {})
    state, by_alias = read_source(src, fmt, arch)
    state = map_to_architecture(state, by_alias, arch, f"'{src}' ({fmt})")
    net = registry.skeleton(arch)
    meta = {"source_format": fmt, "source_file": os.path.basename(src), "source_url": source_url,
            "source_sha256": digests["sha256"], **_preprocessing(arch, fmt).to_attrs(),
            "class_names": list(net.class_names), "layer_attrs": hdf5_weights.layer_attrs(arch)}
    if tuple(net.class_names) == imagenet.class_names():
        meta["class_wnids"] = list(imagenet.class_wnids())
    return hdf5_weights.save_weights(dst, state, architecture=arch, meta=meta)
