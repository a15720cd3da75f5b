"""Read the learned blobs of a Caffe ``.caffemodel`` (a binary ``NetParameter``; weights-formats.md §4).

Messages and field numbers used (everything else is skipped by wire type):

* ``NetParameter``: ``layers`` = 2 (legacy ``V1LayerParameter``), ``layer`` = 100 (current
  ``LayerParameter``). A file with both is refused, as Caffe's upgrader refuses mixed nets.
* ``LayerParameter``: name = 1, type = 2 (string), blobs = 7, inner_product_param = 117.
* ``V1LayerParameter``: layer = 1 (a V0 layer: refused), name = 4, type = 5 (enum),
  blobs = 6, inner_product_param = 17.
* ``InnerProductParameter``: transpose = 6 (weight stored (in, out)).
* ``BlobProto``: num/channels/height/width = 1-4 (legacy 4-D shape), data = 5 (float, packed
  or unpacked), shape = 7 (``BlobShape``: dim = 1, packed or unpacked; wins over 1-4),
  double_data = 8 (cast to float32).

Blob layout: convolution weights are (out, in / groups, kh, kw) -- OIHW -- and inner-product
weights (out, in), as in PyTorch; Caffe flattens pool5 in C, H, W order, so no permutation is
needed. Legacy 4-D blobs of inner-product layers are (1, 1, out, in) and biases (1, 1, 1, out):
their leading ones are squeezed.

The file is read once; packed float data becomes an array view of it without a Python loop.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.convert.errors import ConversionError
from models.convert.protobuf import ProtobufError, iter_fields, packed_varints, to_int64

V1_TYPES = {4: "Convolution", 14: "InnerProduct"}   # LayerType enum values with weights here
_NET_LEGACY_LAYERS, _NET_LAYER = 2, 100
_CURRENT = {"name": 1, "type": 2, "blobs": 7, "inner_product_param": 117}
_V1 = {"v0": 1, "name": 4, "type": 5, "blobs": 6, "inner_product_param": 17}


def _blob(buf, span, where: str) -> np.ndarray:
    legacy = {}
    dims = None
    chunks = []
    for field, wire, value in iter_fields(buf, *span, runs={5: "<f4", 8: "<f8"}):
        if field in (1, 2, 3, 4) and wire == 0:
            legacy[field] = to_int64(value)
        elif field == 5 and wire == 2:
            chunks.append(np.frombuffer(buf, "<f4", (value[1] - value[0]) // 4, value[0]))
        elif field == 8 and wire == 2:
            chunks.append(np.frombuffer(buf, "<f8", (value[1] - value[0]) // 8, value[0]))
        elif field in (5, 8) and wire in (1, 5):
            chunks.append(value)
        elif field == 7 and wire == 2:
            dims = []
            for f, w, v in iter_fields(buf, *value):
                if f == 1:
                    dims.extend(packed_varints(buf, v) if w == 2 else [v])
            dims = [to_int64(d) for d in dims]
    data = np.concatenate([c.astype(np.float32, copy=False) for c in chunks]) if chunks \
        else np.zeros(0, np.float32)
    if dims is None:
        dims = [legacy.get(k, 0) for k in (1, 2, 3, 4)] if legacy else [data.size]
    if any(d < 0 for d in dims) or int(np.prod(dims)) != data.size:
        raise ConversionError(f"{where}: blob shape {tuple(dims)} does not match its {data.size} values")
    return data.reshape(dims)


def _squeeze_leading(array: np.ndarray, ndim: int, where: str) -> np.ndarray:
    extra = array.ndim - ndim
    if extra <= 0:
        return array
    if any(d != 1 for d in array.shape[:extra]):
        raise ConversionError(f"{where}: blob of shape {array.shape} cannot be read as {ndim}-D")
    return array.reshape(array.shape[extra:])


def _layer(buf, span, fields: dict, where: str) -> tuple[str, str, list[np.ndarray]]:
    name, kind, blobs, transpose = None, None, [], False
    for field, wire, value in iter_fields(buf, *span):
        if field == fields["name"] and wire == 2:
            name = bytes(buf[value[0]:value[1]]).decode("utf-8", "replace")
        elif field == fields["type"]:
            kind = V1_TYPES.get(value, f"type {value}") if wire == 0 \
                else bytes(buf[value[0]:value[1]]).decode("utf-8", "replace")
        elif field == fields["blobs"] and wire == 2:
            blobs.append(value)
        elif field == fields["inner_product_param"] and wire == 2:
            transpose = any(f == 6 and v for f, _w, v in iter_fields(buf, *value))
        elif field == fields.get("v0"):
            raise ConversionError(f"{where}: V0 layer definitions (Caffe before 2014) are not supported; "
                                  f"upgrade the net with Caffe's upgrade_net_proto_binary")
    where = f"{where} layer '{name}'"
    arrays = [_blob(buf, b, where) for b in blobs]
    if arrays and kind == "InnerProduct":
        arrays[0] = _squeeze_leading(arrays[0], 2, where)
        if transpose:
            arrays[0] = np.ascontiguousarray(arrays[0].T)
    if len(arrays) > 1:
        arrays[1] = _squeeze_leading(arrays[1], 1, where)
    return name, kind, arrays


def read_caffemodel(path) -> dict[str, list[np.ndarray]]:
    """``{layer name: [weight, bias]}`` for every layer of the net that has blobs, in net order.

    Raises :class:`ConversionError` for truncated files, mixed legacy/current layers, V0 layers
    and duplicate layer names.
    """
    where = f"caffemodel '{path}'"
    try:
        buf = Path(path).read_bytes()
    except OSError as exc:
        raise ConversionError(f"cannot read {where}: {exc}") from exc
    encodings, layers = set(), {}
    try:
        for field, wire, value in iter_fields(buf, 0, len(buf)):
            if wire != 2 or field not in (_NET_LEGACY_LAYERS, _NET_LAYER):
                continue
            encodings.add(field)
            name, kind, arrays = _layer(buf, value, _V1 if field == _NET_LEGACY_LAYERS else _CURRENT, where)
            if not arrays:
                continue
            if name in layers:
                raise ConversionError(f"{where}: layer name '{name}' appears twice")
            layers[name] = arrays
    except ProtobufError as exc:
        raise ConversionError(f"{where} is not a readable caffemodel: {exc}") from exc
    if len(encodings) == 2:
        raise ConversionError(f"{where} mixes legacy 'layers' (field 2) and current 'layer' (field 100) "
                              f"definitions; Caffe refuses such nets too")
    if not layers:
        raise ConversionError(f"{where} has no layers with learned blobs (is it a .prototxt or a "
                              f"solver state rather than trained weights?)")
    return layers
