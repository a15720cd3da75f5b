"""Tell checkpoint formats apart from their first bytes (weights-formats.md §2.1; docs/weights-format.md section 3).

===================  =============================================================
format               first bytes
===================  =============================================================
``torch-zip``        ``PK\\x03\\x04`` (zip local file header; torch.save since 1.6)
``torch-legacy``     pickle protocol 2 of the long 0x1950a86a20f9469cfc6c, then STOP
``torch-tar``        ``ustar`` at offset 257 (torch before 2017; refused by the reader)
``keras-h5``         the HDF5 signature ``\\x89HDF\\r\\n\\x1a\\n``
``caffemodel``       a protobuf ``NetParameter``: first tag ``0A`` (name), ``12``
                     (legacy ``layers``) or ``A2 06`` (``layer``)
===================  =============================================================
"""
from __future__ import annotations

from models.convert.errors import ConversionError

FORMATS = ("torch-zip", "torch-legacy", "torch-tar", "keras-h5", "caffemodel")

ZIP_MAGIC = b"PK\x03\x04"
LEGACY_TORCH_MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa850192e")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
TAR_MAGIC_OFFSET = 257


def sniff(head: bytes) -> str | None:
    """Return the format named by the first bytes ``head`` (>= 512 bytes if available), or None."""
    if head.startswith(ZIP_MAGIC):
        return "torch-zip"
    if head.startswith(LEGACY_TORCH_MAGIC):
        return "torch-legacy"
    if head.startswith(HDF5_SIGNATURE):
        return "keras-h5"
    if head[TAR_MAGIC_OFFSET:TAR_MAGIC_OFFSET + 5] == b"ustar":
        return "torch-tar"
    if head[:1] in (b"\x0a", b"\x12") or head[:2] == b"\xa2\x06":
        return "caffemodel"
    return None


def detect_format(path, override: str | None = None) -> str:
    """The format of the checkpoint at ``path``; ``override`` (``--format``) wins when given."""
    if override is not None:
        if override not in FORMATS:
            raise ConversionError(f"unknown format {override!r}; expected one of: {', '.join(FORMATS)}")
        return override
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        raise ConversionError(f"cannot read checkpoint '{path}': {exc.strerror or exc}") from exc
    fmt = sniff(head)
    if fmt is None:
        raise ConversionError(
            f"cannot tell the format of '{path}' from its first bytes {head[:8].hex(' ')}: "
            f"expected a PyTorch .pth (zip or legacy), a Keras .h5 or a Caffe .caffemodel; "
            f"pass --format ({', '.join(FORMATS)}) if you know it")
    return fmt
