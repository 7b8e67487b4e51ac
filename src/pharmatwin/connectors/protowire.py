"""The Protocol Buffers binary wire format: just enough to read and write Sparkplug B payloads.

Follows the "Encoding" page of the Protocol Buffers documentation (protobuf.dev/programming-
guides/encoding): a record is a tag varint ``field_number << 3 | wire_type`` followed by a
varint (wire type 0), 8 little-endian bytes (1), a varint length and that many bytes (2) or
4 little-endian bytes (5); wire types 3 and 4 open and close a (deprecated) group. Varints are
little-endian base-128, at most 10 bytes for a 64-bit value.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT = 0
FIXED64 = 1
LENGTH = 2
START_GROUP = 3
END_GROUP = 4
FIXED32 = 5

U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
_MAX_GROUP_DEPTH = 32


class WireError(ValueError):
    """Bytes that are not a well-formed protobuf message (truncated, overlong, bad tag)."""


def varint(value: int) -> bytes:
    """The base-128 varint of an unsigned 64-bit ``value``."""
    if not 0 <= value <= U64:
        raise ValueError(f"varint: {value} is not an unsigned 64-bit integer")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(field: int, wire_type: int) -> bytes:
    """The tag varint of a field number and wire type."""
    return varint(field << 3 | wire_type)


def field_varint(field: int, value: int) -> bytes:
    return tag(field, VARINT) + varint(value)


def field_bytes(field: int, data: bytes) -> bytes:
    return tag(field, LENGTH) + varint(len(data)) + data


def field_double(field: int, value: float) -> bytes:
    return tag(field, FIXED64) + struct.pack("<d", value)


def field_float(field: int, value: float) -> bytes:
    return tag(field, FIXED32) + struct.pack("<f", value)


class Reader:
    """Reads the records of one message from ``data``; every read is bounds-checked."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def _fail(self, problem: str) -> WireError:
        return WireError(f"{self.what}: {problem} at byte {self.pos} of {len(self.data)}")

    def read_varint(self) -> int:
        result = 0
        for shift in range(0, 70, 7):
            if self.pos >= len(self.data):
                raise self._fail("truncated varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if result > U64:
                    raise self._fail("varint larger than 64 bits")
                return result
        raise self._fail("varint longer than 10 bytes")

    def _take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise self._fail(f"truncated: {n} bytes announced, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def fields(self) -> Iterator[tuple[int, int, int | bytes]]:
        """(field number, wire type, value) for each record; a value is an int for wire types
        0, 1 and 5 (the raw little-endian bits) and the bytes for wire type 2. Groups are
        skipped whole (they carry no Sparkplug field)."""
        while self.pos < len(self.data):
            key = self.read_varint()
            field, wire_type = key >> 3, key & 7
            if field == 0:
                raise self._fail("field number 0")
            if wire_type == START_GROUP:
                self._skip_group(field, 1)
                continue
            yield field, wire_type, self._value(wire_type)

    def _value(self, wire_type: int) -> int | bytes:
        if wire_type == VARINT:
            return self.read_varint()
        if wire_type == FIXED64:
            return int.from_bytes(self._take(8), "little")
        if wire_type == LENGTH:
            return self._take(self.read_varint())
        if wire_type == FIXED32:
            return int.from_bytes(self._take(4), "little")
        raise self._fail(f"wire type {wire_type} is not valid here")

    def _skip_group(self, field: int, depth: int) -> None:
        if depth > _MAX_GROUP_DEPTH:
            raise self._fail("groups nested too deeply")
        while True:
            if self.pos >= len(self.data):
                raise self._fail(f"group {field} is not closed")
            key = self.read_varint()
            inner, wire_type = key >> 3, key & 7
            if wire_type == END_GROUP:
                if inner != field:
                    raise self._fail(f"group {field} closed by end-group {inner}")
                return
            if inner == 0:
                raise self._fail("field number 0")
            if wire_type == START_GROUP:
                self._skip_group(inner, depth + 1)
            else:
                self._value(wire_type)


def as_double(bits: int) -> float:
    value: float = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    return value


def as_float(bits: int) -> float:
    value: float = struct.unpack("<f", bits.to_bytes(4, "little"))[0]
    return value


def as_text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"{what}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def signed(value: int, bits: int) -> int:
    """Two's complement reading of an unsigned ``bits``-wide integer."""
    return value - (1 << bits) if value >= 1 << (bits - 1) else value
