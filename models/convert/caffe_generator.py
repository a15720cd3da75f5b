"""Convert the published DGN-AM fc6 generator (a Caffe model) to a minigrad generator file.

Nguyen et al. (2016) publish the generator of Dosovitskiy & Brox (2016) that inverts CaffeNet's
fc6 as a Caffe ``generator.caffemodel`` (with its ``generator.prototxt``), and the per-unit
upper bounds of the fc6 codes they clip to as a text file (one number per line; the lower
bound is 0, fc6 being a ReLU output). This module reads the blobs with
:func:`models.convert.caffe.read_caffemodel`, matches them by Caffe layer name to
:func:`models.generator.build_caffe_fc6_generator` (whose aliases are those names: defc7,
defc6, defc5, deconv5, conv5_1, ..., deconv0; Caffe's InnerProduct weights are (out, in)
and Deconvolution weights (in, out, kh, kw), both as minigrad stores them), checks every
shape, and writes the file with the encoder attributes :class:`models.generator.Generator`
reads (CaffeNet's fc6, 4096 values, the bounds; the start code is 0, as the paper's)::

    minigrad weights convert-generator generator.caffemodel --bounds act_range/3x/fc6.txt \\
        [--out ~/.cache/minigrad/caffe_fc6_generator.h5]

``architecture`` names another registered architecture of the same form (the tests convert
a small network written in the same format).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from models import hdf5_weights, registry
from models.convert.caffe import read_caffemodel
from models.convert.errors import ConversionError


def read_bounds(path, size: int) -> np.ndarray:
    """The per-unit upper bounds of the codes: ``size`` non-negative finite numbers, one per line."""
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=1)
    except (OSError, ValueError) as exc:
        raise ConversionError(f"cannot read the code bounds {str(path)!r}: {exc}") from exc
    if values.shape != (size,) or not np.isfinite(values).all() or (values < 0).any():
        raise ConversionError(f"{str(path)!r}: expected {size} non-negative numbers (one upper bound per code "
                              f"unit), got {values.size} values" + ("" if np.isfinite(values).all() else " with NaN/Inf"))
    return values


def convert_caffe_generator(caffemodel, bounds, out, *, architecture: str = "caffe_fc6_generator",
                            encoder: str = "caffe_alexnet", code_layer: str = "fc6", source_url: str = "") -> str:
    """Write the generator in ``caffemodel`` (code bounds from the text file ``bounds``) to ``out``;
    returns ``out``. ConversionError names any layer that is missing or has the wrong shape."""
    layers = read_caffemodel(caffemodel)
    skeleton = registry.skeleton(architecture)
    expected = hdf5_weights.expected_shapes(architecture)
    alias_of = {path: alias for alias, path in skeleton.aliases.items()}
    state, used = {}, set()
    for key, shape in expected.items():
        path, _, kind = key.rpartition(".")
        name = alias_of[path]
        if name not in layers:
            raise ConversionError(f"{caffemodel}: no layer '{name}' with weights; a {architecture} has "
                                  f"{', '.join(sorted({alias_of[k.rpartition('.')[0]] for k in expected}))}")
        blobs = layers[name]
        array = blobs[0 if kind == "weight" else 1] if len(blobs) > (kind != "weight") else None
        if array is None or tuple(array.shape) != shape:
            got = "no blob" if array is None else f"shape {tuple(array.shape)}"
            raise ConversionError(f"{caffemodel}: layer '{name}' {kind}: expected shape {shape}, got {got}")
        state[key] = np.ascontiguousarray(array, dtype=np.float32)
        used.add(name)
    extra = sorted(set(layers) - used)
    if extra:
        raise ConversionError(f"{caffemodel}: layers {', '.join(extra)} are not part of a {architecture}")
    code_size = int(next(iter(state.values())).shape[1])
    upper = read_bounds(bounds, code_size)
    meta = dict(skeleton.preprocessing.to_attrs())
    meta.update(class_names=[], source_format="caffemodel", source_file=Path(caffemodel).name, source_url=source_url,
                source_sha256=hashlib.sha256(Path(caffemodel).read_bytes()).hexdigest(),
                encoder_architecture=encoder, encoder_weights_sha256="unknown", code_layer=code_layer,
                code_size=np.int64(code_size), code_min=np.zeros(code_size), code_max=upper,
                code_mean=np.zeros(code_size), code_bounds_file=Path(bounds).name)
    return hdf5_weights.save_weights(out, state, architecture=architecture, meta=meta)
