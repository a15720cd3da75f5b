"""Pretrained and small networks for the visualization methods.

* :func:`build` ``(name, seed=0)``: a registered architecture with random weights;
* :func:`load` ``(name_or_path)``: weights from a validated HDF5 file (ours, docs/weights-format.md);
* :func:`list`: what is registered and whether its weights are present;
* :func:`describe` ``(path)``: what ``minigrad weights info`` prints (with any extra root
  attributes of the file, such as how it was trained, under "metadata:");
* :func:`save` ``(network, path)``: write a network's weights in our layout.

Weight files for the big ImageNet models live in ``$MINIGRAD_HOME`` (default
``~/.cache/minigrad``) as ``<name>.h5``; ``minigrad weights fetch NAME`` puts them there.

A loaded network's ``metadata`` holds every root attribute of its file as Python values: the
required ones (architecture, source, preprocessing, ``num_classes``) and any extra ones (for
``mnist_cnn``: ``training_command``, ``training_seed``, ``training_duration_s``,
``held_out_accuracy``, ``held_out_note``). A headless architecture (``vgg16_features``) has
no classes: ``class_names == []`` and ``metadata["num_classes"] == 0``.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

import backends
from models import hdf5_weights, registry
from models.hdf5_weights import WeightsValidationError, expected_shapes, load_weights, save_weights
from models.network import Network, Preprocessing
from models.registry import ArchitectureSpec, get_spec, names, register

__all__ = ["build", "load", "from_state", "list", "describe", "save", "home", "weights_path", "file_sha256",
           "Network", "Preprocessing", "ArchitectureSpec", "register", "get_spec", "names",
           "WeightsValidationError", "load_weights", "save_weights", "expected_shapes"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The weights cache folder: ``$MINIGRAD_HOME`` or ``~/.cache/minigrad``."""
    return Path(os.environ.get("MINIGRAD_HOME") or Path.home() / ".cache" / "minigrad").expanduser()


def weights_path(name: str) -> Path | None:
    """Where :func:`load` looks for the weights of registered ``name`` (None: no file)."""
    spec = get_spec(name)
    if spec.weights is None:
        return None
    return home() / f"{name}.h5" if spec.weights == "cache" else REPO_ROOT / spec.weights


def build(name: str, seed: int = 0) -> Network:
    """Architecture ``name`` with random torch-style weights drawn from ``seed`` (the same
    seed gives the same bytes), in evaluation mode, on the current backend."""
    return get_spec(name).build(registry.Float32Uniform(seed)).eval()


def load(name_or_path, backend=None) -> Network:
    """A network with weights, in evaluation mode.

    ``name_or_path``: a registered name (its weights file is looked up as :func:`weights_path`
    says; names without a file are built from seed 0) or the path of a weights file.
    ``backend``: "numpy" or "cupy" (default: the current backend).
    """
    key = os.fspath(name_or_path)
    if key in names():
        path = weights_path(key)
        if path is None:
            net = build(key)
        elif not path.exists():
            raise FileNotFoundError(_missing_message(key, path))
        else:
            net = _from_file(path, key)
    elif os.path.exists(key):
        net = _from_file(Path(key), None)
    else:
        raise ValueError(f"models.load: {key!r} is neither a registered model nor an existing file; "
                         f"registered models: {', '.join(names())}")
    return net.to(backend or backends.current()).eval()


def _missing_message(name, path):
    hint = get_spec(name).missing_hint or (
        f"run `minigrad weights fetch {name}` to download and convert them, or "
        f"`minigrad weights convert SRC {path} --arch {name}` for a file you downloaded yourself")
    return f"no weights for '{name}' at {path}: {hint}"


def from_state(architecture: str, state: dict) -> Network:
    """Architecture ``architecture`` whose parameters and buffers are the arrays of ``state``
    (key -> NumPy array, every key of the architecture), used as they are: no copy, and the
    dtype of the arrays is the network's dtype. Evaluation mode, NumPy backend."""
    net = get_spec(architecture).build(registry.PlaceholderRNG())
    own = dict(net.named_parameters())
    own.update(net.named_buffers())
    if set(own) != set(state):
        raise KeyError(f"from_state: {architecture} needs keys {sorted(set(own) - set(state))} and has no "
                       f"{sorted(set(state) - set(own))}")
    for key, array in state.items():
        own[key].data = array
        own[key].backend = backends.get("numpy")
    return net.eval()


def _from_file(path: Path, architecture) -> Network:
    state, meta = load_weights(path, architecture)
    net = from_state(meta["architecture"], state)
    net.class_names = meta["class_names"]
    net.preprocessing = Preprocessing.from_attrs(meta)
    net.weights_path = str(path)
    net.weights_sha256 = file_sha256(path)
    net.metadata = {k: v for k, v in meta.items() if k not in ("class_names", "class_wnids")}
    return net


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(network: Network, path, *, source_format="minigrad", source_file="", source_url="",
         source_sha256=None, class_wnids=None) -> str:
    """Write ``network``'s weights, class names and preprocessing to ``path`` (atomic).
    Without a source file, ``source_sha256`` is the SHA-256 of the float32 weight bytes in
    state-dict order (a fingerprint of the weights themselves)."""
    state = {k: backends.backend_of(v).to_numpy(v).astype(np.float32, copy=False)
             for k, v in network.state_dict().items()}
    if source_sha256 is None:
        digest = hashlib.sha256()
        for array in state.values():
            digest.update(np.ascontiguousarray(array).tobytes())
        source_sha256 = digest.hexdigest()
    meta = {"source_format": source_format, "source_file": source_file, "source_url": source_url,
            "source_sha256": source_sha256, "class_names": network.class_names,
            **network.preprocessing.to_attrs()}
    if class_wnids is not None:
        meta["class_wnids"] = class_wnids
    return save_weights(path, state, architecture=network.architecture, meta=meta)


def list():  # noqa: A001 - the contract's name (models.list())
    """[{name, description, weights_present, path}] for every registered architecture."""
    out = []
    for name in names():
        path = weights_path(name)
        out.append({"name": name, "description": get_spec(name).description,
                    "weights_present": path is None or path.exists(),
                    "path": None if path is None else str(path)})
    return out


def _classes_text(class_names) -> str:
    if not class_names:
        return "none (a headless network: its output is its last feature map)"
    more = ", ..." if len(class_names) > 3 else ""
    return f"{len(class_names)} ({', '.join(class_names[:3])}{more})"


def describe(path) -> str:
    """A validated weights file in words: architecture, source, checksums, preprocessing,
    classes, parameter count and one line per weight (shape, readable layer name)."""
    state, meta = load_weights(path)
    arch = meta["architecture"]
    skeleton = registry.skeleton(arch)
    alias_of = {v: k for k, v in skeleton.aliases.items()}
    prep = Preprocessing.from_attrs(meta)
    names_ = meta["class_names"]
    lines = [
        f"file:            {os.fspath(path)}",
        f"sha256:          {file_sha256(path)}",
        f"architecture:    {arch} ({get_spec(arch).description})",
        f"source:          {meta['source_format']} {meta['source_file'] or '-'} {meta['source_url'] or ''}".rstrip(),
        f"source sha256:   {meta['source_sha256']}",
        f"converter:       minigrad {meta['converter_version']}",
        f"preprocessing:   {prep.describe()}",
        f"classes:         {_classes_text(names_)}",
        f"parameters:      {sum(int(a.size) for a in state.values()):,}",
    ]
    extra = {k: v for k, v in meta.items() if k not in hdf5_weights.ROOT_ATTRS
             and k not in ("class_names", "class_wnids")}
    if extra:
        lines.append("metadata:")
        width = max(len(k) for k in extra)
        lines += [f"  {k:<{width}}  {v}" for k, v in extra.items()]
    lines.append("layers:")
    width = max(len(k) for k in state)
    for key, array in state.items():
        layer = key.rpartition(".")[0]
        alias = f"  {alias_of[layer]}" if layer in alias_of else ""
        lines.append(f"  {key:<{width}}  {str(tuple(array.shape)):<20}{alias}")
    return "\n".join(lines)
