"""A minimal protobuf wire-format reader (https://protobuf.dev/programming-guides/encoding/).

A message is a sequence of ``(tag, value)`` records; ``tag = field_number << 3 | wire_type``
is a base-128 varint (low 7 bits per byte, least significant group first, high bit = more).

=========  ==================  ==========================================================
wire type  payload             yielded value
=========  ==================  ==========================================================
0          varint              ``int`` (int64 is plain two's complement, not zigzag)
1          8 bytes             ``(start, end)`` byte span
2          varint length + n   ``(start, end)`` span: string, bytes, sub-message, packed
5          4 bytes             ``(start, end)`` byte span
3, 4       (groups)            refused, as are 6 and 7
=========  ==================  ==========================================================

Unknown fields are simply skipped by the caller. Spans index the buffer, so sub-messages and
packed arrays are never copied (``np.frombuffer`` on the span reads a packed float field).
"""
from __future__ import annotations

import numpy as np

from models.convert.errors import ConversionError

_FIXED = {1: 8, 5: 4}


class ProtobufError(ConversionError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buf, pos: int, end: int) -> tuple[int, int]:
    """Decode the varint at ``buf[pos]``; return ``(value, next position)``."""
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ProtobufError(f"truncated or overlong varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def iter_fields(buf, start: int, end: int, runs: dict[int, str] | None = None):
    """Yield ``(field_number, wire_type, value)`` for the message in ``buf[start:end]``.

    ``runs`` maps field numbers of *unpacked* repeated fixed-width scalars to a dtype
    (e.g. ``{5: "<f4"}``): a run of consecutive records of such a field is yielded once, as
    an array, instead of one record per element.
    """
    pos = start
    while pos < end:
        tag_pos = pos
        tag, pos = read_varint(buf, pos, end)
        field, wire = tag >> 3, tag & 7
        if runs and field in runs and wire in _FIXED and tag < 0x80:
            value, pos = unpacked_run(buf, tag_pos, end, tag, _FIXED[wire], runs[field])
            if value.size == 0:
                raise ProtobufError(f"field {field} at byte {tag_pos} runs past the end of its message")
        elif wire == 0:
            value, pos = read_varint(buf, pos, end)
        elif wire in _FIXED:
            value, pos = (pos, pos + _FIXED[wire]), pos + _FIXED[wire]
        elif wire == 2:
            length, pos = read_varint(buf, pos, end)
            value, pos = (pos, pos + length), pos + length
        else:
            raise ProtobufError(f"unsupported wire type {wire} (field {field}) at byte {tag_pos}")
        if pos > end or field == 0:
            raise ProtobufError(f"field {field} at byte {tag_pos} runs past the end of its message "
                                f"(byte {end}); the file is truncated or not a protobuf")
        yield field, wire, value


def packed_varints(buf, span: tuple[int, int]) -> list[int]:
    """The ints of a packed repeated varint field."""
    values, pos = [], span[0]
    while pos < span[1]:
        value, pos = read_varint(buf, pos, span[1])
        values.append(value)
    return values


def to_int64(value: int) -> int:
    """Reinterpret a varint as a signed int64 (negative int32/int64 use 10-byte varints)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def unpacked_run(buf, pos: int, end: int, tag_byte: int, width: int, dtype: str) -> tuple[np.ndarray, int]:
    """Decode a run of unpacked one-byte-tag fixed-width records starting at ``pos`` (the tag
    of the first one) in one vectorized step; return ``(values, position after the run)``."""
    step = 1 + width
    count = (end - pos) // step
    block = np.frombuffer(buf, np.uint8, count * step, pos).reshape(count, step)
    stop = np.flatnonzero(block[:, 0] != tag_byte)
    n = int(stop[0]) if stop.size else count
    values = np.ascontiguousarray(block[:n, 1:]).view(dtype).reshape(n)
    return values, pos + n * step
