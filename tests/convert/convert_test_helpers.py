"""Writers for the checkpoint formats, used by the tests in this folder (no torch needed).

* :func:`state_dict_pickle` writes the opcodes torch.save emits for a state dict of
  contiguous float32 arrays (protocol 2, ``_rebuild_tensor_v2``, persistent storage ids);
  :func:`write_zip_pth` / :func:`write_legacy_pth` wrap it in the two containers of
  weights-formats.md §2.2-2.3. ``pickle_bytes=`` replaces the pickle (malicious variants).
* :func:`write_keras_vgg` writes the Keras legacy HDF5 layout of §3.1 from torchvision-layout
  weights (the inverse of §3.3).
* :func:`write_caffemodel` writes a ``NetParameter`` in the legacy V1 (``layers``, 4-D blobs)
  or current (``layer``, ``BlobShape``) encoding of §4.2.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile

import h5py
import numpy as np

LEGACY_HEADER = (pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2)
                 + pickle.dumps({"protocol_version": 1001, "little_endian": True,
                                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))


# ------------------------------------------------------------------------------ pickle opcodes
def op_global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def op_int(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


def op_tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def state_dict_pickle(state: dict, legacy: bool, storage_numel: dict | None = None) -> bytes:
    """The pickle of ``state`` (name -> float32 array) with storage keys "0", "1", ...;
    ``storage_numel`` overrides the declared element count per key (lying checkpoints)."""
    ordered_dict = op_global("collections", "OrderedDict") + b")R"
    out = [b"\x80\x02", ordered_dict, b"("]
    for i, (name, array) in enumerate(state.items()):
        numel = (storage_numel or {}).get(str(i), array.size)
        pid = [op_str("storage"), op_global("torch", "FloatStorage"), op_str(str(i)), op_str("cpu"), op_int(numel)]
        if legacy:
            pid.append(b"N")
        strides = [int(np.prod(array.shape[d + 1:])) for d in range(array.ndim)]
        out += [op_str(name), op_global("torch._utils", "_rebuild_tensor_v2"), b"(",
                op_tuple(*pid), b"Q", op_int(0), op_tuple(*map(op_int, array.shape)),
                op_tuple(*map(op_int, strides)), b"\x89", ordered_dict, b"tR"]
    out.append(b"u.")
    return b"".join(out)


def write_zip_pth(path, state: dict, *, folder="archive", pickle_bytes=None, extra: dict | None = None,
                  storage_numel=None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{folder}/data.pkl", pickle_bytes or state_dict_pickle(state, False, storage_numel))
        zf.writestr(f"{folder}/byteorder", "little")
        for i, array in enumerate(state.values()):
            zf.writestr(f"{folder}/data/{i}", np.ascontiguousarray(array, "<f4").tobytes())
        zf.writestr(f"{folder}/version", "3\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)


def write_legacy_pth(path, state: dict, *, pickle_bytes=None, storage_numel=None) -> None:
    with open(path, "wb") as f:
        f.write(LEGACY_HEADER)
        f.write(pickle_bytes or state_dict_pickle(state, True, storage_numel))
        f.write(pickle.dumps([str(i) for i in range(len(state))], protocol=2))
        for array in state.values():
            f.write(struct.pack("<q", array.size))
            f.write(np.ascontiguousarray(array, "<f4").tobytes())


# ---------------------------------------------------------------------------------- Keras VGG16
def write_keras_vgg(path, state: dict, aliases: dict, top=True) -> None:
    """Keras VGG16 ``.h5`` (``layer_names``, ``weight_names``, ``<layer>_W_1:0`` datasets) from
    torchvision-layout ``state``; ``aliases`` maps conv1_1/fc6... to module paths."""
    layers = ["input_1"]
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"
        for block, convs in enumerate((2, 2, 3, 3, 3), start=1):
            for k in range(1, convs + 1):
                w = state[f"{aliases[f'conv{block}_{k}']}.weight"]
                _keras_layer(f, f"block{block}_conv{k}", w.transpose(2, 3, 1, 0),
                             state[f"{aliases[f'conv{block}_{k}']}.bias"], layers)
            layers.append(f"block{block}_pool")
            f.create_group(layers[-1]).attrs["weight_names"] = np.array([], dtype="S1")
        if top:
            layers.append("flatten")
            w6 = state[f"{aliases['fc6']}.weight"]
            channels = w6.shape[1] // 49
            w6 = w6.reshape(-1, channels, 7, 7).transpose(2, 3, 1, 0).reshape(-1, w6.shape[0])
            for keras, ours, w in (("fc1", "fc6", w6), ("fc2", "fc7", None), ("predictions", "fc8", None)):
                w = w if w is not None else state[f"{aliases[ours]}.weight"].T
                _keras_layer(f, keras, w, state[f"{aliases[ours]}.bias"], layers)
        f.attrs["layer_names"] = np.array([n.encode() for n in layers])


def _keras_layer(f, name, kernel, bias, layers):
    group = f.create_group(name)
    group.create_dataset(f"{name}_W_1:0", data=np.ascontiguousarray(kernel, np.float32))
    group.create_dataset(f"{name}_b_1:0", data=np.asarray(bias, np.float32))
    group.attrs["weight_names"] = np.array([f"{name}_W_1:0".encode(), f"{name}_b_1:0".encode()])
    layers.append(name)


# ------------------------------------------------------------------------------------- Caffe
def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, wire: int, payload) -> bytes:
    tag = varint(number << 3 | wire)
    if wire == 0:
        return tag + varint(payload)
    if wire == 2:
        return tag + varint(len(payload)) + payload
    return tag + payload


def blob(array: np.ndarray, legacy: bool, unpacked=False) -> bytes:
    """A BlobProto: legacy 4-D num/channels/height/width or a BlobShape, packed data."""
    a = np.asarray(array, np.float32)
    if legacy:
        dims = (1,) * (4 - a.ndim) + a.shape
        head = b"".join(field(n, 0, d) for n, d in zip((1, 2, 3, 4), dims))
    else:
        head = field(7, 2, field(1, 2, b"".join(varint(d) for d in a.shape)))
    if unpacked:
        data = b"".join(field(5, 5, struct.pack("<f", v)) for v in a.ravel())
    else:
        data = field(5, 2, a.astype("<f4").tobytes())
    return head + data


def caffe_layer(name: str, kind: str, blobs=(), legacy=True) -> bytes:
    """One layer: V1LayerParameter (type enum) or LayerParameter (type string)."""
    if legacy:
        enum = {"Convolution": 4, "InnerProduct": 14, "ReLU": 18, "Pooling": 17, "Data": 5, "LRN": 15,
                "Dropout": 6}[kind]
        return field(2, 2, field(4, 2, name.encode()) + field(5, 0, enum)
                     + b"".join(field(6, 2, b) for b in blobs))
    return field(100, 2, field(1, 2, name.encode()) + field(2, 2, kind.encode())
                 + b"".join(field(7, 2, b) for b in blobs))


def write_caffemodel(path, state: dict, aliases: dict, legacy: bool) -> None:
    """A caffemodel with one layer per alias (conv*/fc* carry weight and bias blobs) in alias order."""
    out = io.BytesIO()
    out.write(field(1, 2, b"test-net"))
    out.write(caffe_layer("data", "Data", legacy=legacy))
    for name, path_ in aliases.items():
        if f"{path_}.weight" in state:
            kind = "Convolution" if name.startswith("conv") else "InnerProduct"
            blobs = [blob(state[f"{path_}.weight"], legacy), blob(state[f"{path_}.bias"], legacy)]
            out.write(caffe_layer(name, kind, blobs, legacy))
        else:
            kind = "ReLU" if name.startswith("relu") else "Pooling" if name.startswith("pool") else "Dropout"
            out.write(caffe_layer(name, kind, legacy=legacy))
    with open(path, "wb") as f:
        f.write(out.getbuffer())
