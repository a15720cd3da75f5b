"""Read Keras VGG16 weight files (``vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5``;
weights-formats.md §3).

Layout (Keras legacy ``save_weights``): the root attribute ``layer_names`` (possibly split into
``layer_names0``, ``layer_names1``, ...) lists the layers in model order; each layer's group
has a ``weight_names`` attribute giving its datasets, kernel first, then bias. Layers without
weights are skipped; dataset names are never guessed.

Conversion to the torchvision layout (§3.3):

* conv kernel, Keras HWIO ``(kh, kw, in, out)`` -> OIHW by the axis permutation (3, 2, 0, 1)
  (tf kernels are cross-correlations like PyTorch's: no flip);
* dense kernel ``(in, out)`` -> ``(out, in)`` by transposition;
* ``fc1`` additionally reorders its inputs: Keras flattens block5 channels-last, input index
  ``(h*W + w)*C + c``; torchvision flattens channels-first, ``c*H*W + h*W + w``. So the kernel
  is viewed as ``(H, W, C, out)``, permuted to ``(out, C, H, W)`` and flattened to
  ``(out, C*H*W)``, with ``C`` the last conv's output channels and ``H = W = sqrt(in / C)``.

Layer names map to the papers' names the networks use as aliases: ``blockB_convK`` ->
``convB_K``, ``fc1`` -> ``fc6``, ``fc2`` -> ``fc7``, ``predictions`` -> ``fc8``.
"""
from __future__ import annotations

import math
import re

import h5py
import numpy as np

from models.convert.errors import ConversionError

_DENSE = {"fc1": "fc6", "fc2": "fc7", "predictions": "fc8"}
_CONV = re.compile(r"block(\d+)_conv(\d+)")


def _text_list(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.ravel(values)]


def _attr_list(attrs, name: str) -> list[str] | None:
    """An attribute that Keras may have split into ``name0``, ``name1``, ... chunks."""
    if name in attrs:
        return _text_list(attrs[name])
    chunks, i = [], 0
    while f"{name}{i}" in attrs:
        chunks += _text_list(attrs[f"{name}{i}"])
        i += 1
    return chunks if i else None


def readable_name(keras_name: str) -> str | None:
    """The papers' name of a Keras VGG layer (``block1_conv1`` -> ``conv1_1``), or None."""
    m = _CONV.fullmatch(keras_name)
    return f"conv{m[1]}_{m[2]}" if m else _DENSE.get(keras_name)


def read_keras_vgg(path) -> dict[str, np.ndarray]:
    """``{"conv1_1.weight": OIHW array, ..., "fc8.bias": ...}`` from a Keras VGG ``.h5``."""
    where = f"Keras weights file '{path}'"
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ConversionError(f"{where} is not a readable HDF5 file: {exc}") from exc
    with f:
        layer_names = _attr_list(f.attrs, "layer_names")
        if layer_names is None:
            hint = " (it is already a minigrad weights file)" if "format" in f.attrs else ""
            raise ConversionError(f"{where} has no 'layer_names' root attribute, so it is not a Keras "
                                  f"weights file saved by save_weights{hint}")
        state, last_conv_out = {}, None
        for layer in layer_names:
            group = f.get(layer)
            weight_names = _attr_list(group.attrs, "weight_names") if isinstance(group, h5py.Group) else None
            if not weight_names:
                continue
            name = readable_name(layer)
            if name is None:
                raise ConversionError(f"{where}: layer '{layer}' has weights but is not a VGG layer "
                                      f"(expected blockB_convK, fc1, fc2, predictions)")
            if len(weight_names) != 2:
                raise ConversionError(f"{where}: layer '{layer}' has {len(weight_names)} weights, "
                                      f"expected kernel and bias")
            try:
                kernel, bias = (np.asarray(group[n][()], dtype=np.float32) for n in weight_names)
            except KeyError as exc:
                raise ConversionError(f"{where}: layer '{layer}' lists weight {exc} that is not in "
                                      f"the file") from None
            if kernel.ndim == 4:
                state[f"{name}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
                last_conv_out = kernel.shape[3]
            elif kernel.ndim == 2 and name == "fc6" and last_conv_out:
                n_in, n_out = kernel.shape
                side = math.isqrt(n_in // last_conv_out)
                if side * side * last_conv_out != n_in:
                    raise ConversionError(f"{where}: fc1 has {n_in} inputs, which is not H*W*{last_conv_out} "
                                          f"for a square block5 output")
                state[f"{name}.weight"] = np.ascontiguousarray(
                    kernel.reshape(side, side, last_conv_out, n_out).transpose(3, 2, 0, 1).reshape(n_out, n_in))
            elif kernel.ndim == 2:
                state[f"{name}.weight"] = np.ascontiguousarray(kernel.T)
            else:
                raise ConversionError(f"{where}: layer '{layer}' kernel has shape {kernel.shape}")
            state[f"{name}.bias"] = bias.reshape(-1)
    if not state:
        raise ConversionError(f"{where} lists no layers with weights")
    return state
