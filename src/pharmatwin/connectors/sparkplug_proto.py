"""Sparkplug B payloads (the ``Payload`` protobuf message) without a protobuf library.

Field numbers and data types follow the Sparkplug 3.0.0 specification, section 6.4 ("Payloads",
the ``sparkplug_b.proto`` definition) and 6.4.16 ("Datatype Details"). Only what a host and a
simple edge node need is modelled: metrics with scalar values and properties with scalar values;
metadata, data sets, templates and extensions are skipped on reading, as are unknown fields
(protobuf rules). Signed integers travel in the unsigned fields as two's complement (6.4.16),
so ``int_value`` / ``long_value`` hold the raw unsigned bits; ``metric_value`` reads them.
Times are milliseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum

from pharmatwin.connectors import protowire as w


class DataType(IntEnum):
    """Sparkplug 3.0 metric and property data types (section 6.4.16)."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21


SIGNED_32 = frozenset({DataType.Int8, DataType.Int16, DataType.Int32})
UNSIGNED_32 = frozenset({DataType.UInt8, DataType.UInt16, DataType.UInt32})
LONG = frozenset({DataType.Int64, DataType.UInt64, DataType.DateTime})
TEXT = frozenset({DataType.String, DataType.Text, DataType.UUID})
NUMERIC = (
    SIGNED_32
    | UNSIGNED_32
    | {DataType.Int64, DataType.UInt64}
    | {
        DataType.Float,
        DataType.Double,
        DataType.Boolean,
    }
)
"""Types whose value is a number a historian can store (Boolean as 0/1)."""

PropertyScalar = str | int | float | bool | None
Value = int | float | bool | str | bytes


class SparkplugDecodeError(w.WireError):
    """A Sparkplug payload that cannot be read; the message names the field."""


@dataclass(frozen=True)
class Metric:
    """One ``Payload.Metric``; at most one of the ``*_value`` fields is set (a protobuf oneof).

    ``properties`` are (key, value) pairs of a ``PropertySet`` with scalar values, e.g.
    ``(("engUnit", "degC"),)``.
    """

    name: str | None = None
    alias: int | None = None
    timestamp: int | None = None
    datatype: int | None = None
    is_historical: bool = False
    is_transient: bool = False
    is_null: bool = False
    properties: tuple[tuple[str, PropertyScalar], ...] = ()
    int_value: int | None = None
    long_value: int | None = None
    float_value: float | None = None
    double_value: float | None = None
    boolean_value: bool | None = None
    string_value: str | None = None
    bytes_value: bytes | None = None

    def prop(self, key: str) -> PropertyScalar:
        """The value of property ``key``, or ``None``."""
        return next((v for k, v in self.properties if k == key), None)


@dataclass(frozen=True)
class Payload:
    """One Sparkplug B ``Payload``: timestamp (ms since epoch), metrics, sequence number."""

    timestamp: int | None = None
    metrics: tuple[Metric, ...] = field(default_factory=tuple)
    seq: int | None = None
    uuid: str | None = None
    body: bytes | None = None


_VALUE_FIELDS = (
    "int_value",
    "long_value",
    "float_value",
    "double_value",
    "boolean_value",
    "string_value",
    "bytes_value",
)


def scalar_metric(
    name: str | None,
    datatype: DataType,
    value: Value | None,
    *,
    alias: int | None = None,
    timestamp: int | None = None,
    is_historical: bool = False,
    properties: tuple[tuple[str, PropertyScalar], ...] = (),
) -> Metric:
    """A metric whose value goes in the field ``datatype`` prescribes (section 6.4.16);
    ``value=None`` makes a null metric."""
    base = Metric(
        name=name,
        alias=alias,
        timestamp=timestamp,
        datatype=int(datatype),
        is_historical=is_historical,
        properties=properties,
    )
    if value is None:
        return replace(base, is_null=True)
    if isinstance(value, bytes) != (datatype in (DataType.Bytes, DataType.File)):
        raise ValueError(f"metric {name}: a {type(value).__name__} is not a {datatype.name}")
    if isinstance(value, bytes):
        return replace(base, bytes_value=value)
    if datatype in TEXT:
        return replace(base, string_value=str(value))
    if datatype == DataType.Boolean:
        return replace(base, boolean_value=bool(value))
    if datatype == DataType.Float:
        return replace(base, float_value=float(value))
    if datatype == DataType.Double:
        return replace(base, double_value=float(value))
    if isinstance(value, str) or datatype not in SIGNED_32 | UNSIGNED_32 | LONG:
        raise ValueError(f"metric {name}: a {type(value).__name__} is not a {datatype.name}")
    if datatype in LONG:
        return replace(base, long_value=int(value) & w.U64)
    return replace(base, int_value=int(value) & w.U32)


def metric_value(metric: Metric, datatype: int | None) -> Value | None:
    """The metric's value read as ``datatype`` (the birth's type when the metric has none):
    signed integer types are read as two's complement; ``None`` for a null or value-less
    metric."""
    if metric.is_null:
        return None
    kind = metric.datatype if metric.datatype is not None else datatype
    if metric.int_value is not None:
        return w.signed(metric.int_value, 32) if kind in SIGNED_32 else metric.int_value
    if metric.long_value is not None:
        return w.signed(metric.long_value, 64) if kind == DataType.Int64 else metric.long_value
    for name in _VALUE_FIELDS[2:]:
        value: Value | None = getattr(metric, name)
        if value is not None:
            return value
    return None


# ---------------------------------------------------------------- encoding


def encode_payload(payload: Payload) -> bytes:
    """The protobuf bytes of ``payload``; ``ValueError`` naming a field that does not fit."""
    out = bytearray()
    if payload.timestamp is not None:
        out += w.field_varint(1, _unsigned("payload.timestamp", payload.timestamp, w.U64))
    for i, metric in enumerate(payload.metrics):
        out += w.field_bytes(2, _encode_metric(metric, f"payload.metrics[{i}]"))
    if payload.seq is not None:
        out += w.field_varint(3, _unsigned("payload.seq", payload.seq, w.U64))
    if payload.uuid is not None:
        out += w.field_bytes(4, payload.uuid.encode("utf-8"))
    if payload.body is not None:
        out += w.field_bytes(5, payload.body)
    return bytes(out)


def _unsigned(what: str, value: int, limit: int) -> int:
    if not 0 <= value <= limit:
        raise ValueError(f"{what}: {value} is outside 0..{limit}")
    return value


def _encode_metric(m: Metric, what: str) -> bytes:
    out = bytearray()
    if m.name is not None:
        out += w.field_bytes(1, m.name.encode("utf-8"))
    if m.alias is not None:
        out += w.field_varint(2, _unsigned(f"{what}.alias", m.alias, w.U64))
    if m.timestamp is not None:
        out += w.field_varint(3, _unsigned(f"{what}.timestamp", m.timestamp, w.U64))
    if m.datatype is not None:
        out += w.field_varint(4, _unsigned(f"{what}.datatype", m.datatype, w.U32))
    for number, flag in ((5, m.is_historical), (6, m.is_transient), (7, m.is_null)):
        if flag:
            out += w.field_varint(number, 1)
    if m.properties:
        out += w.field_bytes(9, _encode_properties(m.properties, f"{what}.properties"))
    return bytes(out) + _encode_value(m, what)


def _encode_value(m: Metric, what: str) -> bytes:
    present = [name for name in _VALUE_FIELDS if getattr(m, name) is not None]
    if len(present) > 1:
        raise ValueError(f"{what}: only one value field may be set, not {', '.join(present)}")
    if m.int_value is not None:
        return w.field_varint(10, _unsigned(f"{what}.int_value", m.int_value, w.U32))
    if m.long_value is not None:
        return w.field_varint(11, _unsigned(f"{what}.long_value", m.long_value, w.U64))
    if m.float_value is not None:
        return w.field_float(12, m.float_value)
    if m.double_value is not None:
        return w.field_double(13, m.double_value)
    if m.boolean_value is not None:
        return w.field_varint(14, int(m.boolean_value))
    if m.string_value is not None:
        return w.field_bytes(15, m.string_value.encode("utf-8"))
    if m.bytes_value is not None:
        return w.field_bytes(16, m.bytes_value)
    return b""


def _encode_properties(pairs: tuple[tuple[str, PropertyScalar], ...], what: str) -> bytes:
    keys = bytearray()
    values = bytearray()
    for key, value in pairs:
        keys += w.field_bytes(1, key.encode("utf-8"))
        values += w.field_bytes(2, _encode_property_value(value, f"{what}[{key}]"))
    return bytes(keys + values)


def _encode_property_value(value: PropertyScalar, what: str) -> bytes:
    if value is None:
        return w.field_varint(1, DataType.Unknown) + w.field_varint(2, 1)
    if isinstance(value, bool):
        return w.field_varint(1, DataType.Boolean) + w.field_varint(7, int(value))
    if isinstance(value, int):
        if not -(1 << 63) <= value < 1 << 63:
            raise ValueError(f"{what}: {value} is not a 64-bit integer")
        return w.field_varint(1, DataType.Int64) + w.field_varint(4, value & w.U64)
    if isinstance(value, float):
        return w.field_varint(1, DataType.Double) + w.field_double(6, value)
    return w.field_varint(1, DataType.String) + w.field_bytes(8, value.encode("utf-8"))


# ---------------------------------------------------------------- decoding


def decode_payload(data: bytes) -> Payload:
    """The ``Payload`` in ``data``; ``SparkplugDecodeError`` for truncated or malformed bytes."""
    try:
        return _decode_payload(bytes(data))
    except SparkplugDecodeError:
        raise
    except w.WireError as exc:
        raise SparkplugDecodeError(str(exc)) from None


Read = int | float | bool | str | bytes | tuple[tuple[str, PropertyScalar], ...]


def _read(kind: str, what: str, wire_type: int, value: int | bytes) -> Read:
    """One field's value by its protobuf type: u64, u32, bool, f32, f64, text, bytes, props."""
    wanted = {"f32": w.FIXED32, "f64": w.FIXED64, "text": w.LENGTH, "bytes": w.LENGTH}
    wanted["props"] = w.LENGTH
    if wire_type != wanted.get(kind, w.VARINT):
        raise SparkplugDecodeError(
            f"{what}: wire type {wire_type}, expected {wanted.get(kind, w.VARINT)}"
        )
    if isinstance(value, bytes):
        if kind == "text":
            return w.as_text(value, what)
        return _decode_properties(value, what) if kind == "props" else value
    if kind == "f32":
        return w.as_float(value)
    if kind == "f64":
        return w.as_double(value)
    if kind == "bool":
        return bool(value)
    return value & w.U32 if kind == "u32" else value  # a uint32 keeps the low 32 bits


_PAYLOAD_FIELDS = {1: ("timestamp", "u64"), 3: ("seq", "u64"), 4: ("uuid", "text")}
_PAYLOAD_FIELDS[5] = ("body", "bytes")


def _decode_payload(data: bytes) -> Payload:
    fields: dict[str, object] = {}
    metrics: list[Metric] = []
    for number, wire_type, value in w.Reader(data, "payload").fields():
        if number == 2:
            what = f"payload.metrics[{len(metrics)}]"
            chunk = _read("bytes", what, wire_type, value)
            metrics.append(_decode_metric(chunk, what))  # type: ignore[arg-type]
        elif number in _PAYLOAD_FIELDS:
            name, kind = _PAYLOAD_FIELDS[number]
            fields[name] = _read(kind, f"payload.{name}", wire_type, value)
    return Payload(metrics=tuple(metrics), **fields)  # type: ignore[arg-type]


_METRIC_FIELDS = {
    1: ("name", "text"),
    2: ("alias", "u64"),
    3: ("timestamp", "u64"),
    4: ("datatype", "u32"),
    5: ("is_historical", "bool"),
    6: ("is_transient", "bool"),
    7: ("is_null", "bool"),
    9: ("properties", "props"),
    10: ("int_value", "u32"),
    11: ("long_value", "u64"),
    12: ("float_value", "f32"),
    13: ("double_value", "f64"),
    14: ("boolean_value", "bool"),
    15: ("string_value", "text"),
    16: ("bytes_value", "bytes"),
}
"""Metric fields read; metadata (8), data sets, templates, extensions are skipped."""


def _decode_metric(data: bytes, what: str) -> Metric:
    fields: dict[str, object] = {}
    for number, wire_type, value in w.Reader(data, what).fields():
        if number not in _METRIC_FIELDS:
            continue
        name, kind = _METRIC_FIELDS[number]
        if name in _VALUE_FIELDS:  # a oneof: the last value read wins
            for other in _VALUE_FIELDS:
                fields.pop(other, None)
        fields[name] = _read(kind, f"{what}.{name}", wire_type, value)
    return Metric(**fields)  # type: ignore[arg-type]


class _Skip:
    """A nested property set: not modelled, left out."""


def _decode_properties(data: bytes, what: str) -> tuple[tuple[str, PropertyScalar], ...]:
    keys: list[str] = []
    values: list[PropertyScalar | _Skip] = []
    for number, wire_type, value in w.Reader(data, what).fields():
        if number == 1:
            keys.append(str(_read("text", f"{what}.keys[{len(keys)}]", wire_type, value)))
        elif number == 2:
            name = f"{what}.values[{len(values)}]"
            chunk = _read("bytes", name, wire_type, value)
            values.append(_decode_property_value(chunk, name))  # type: ignore[arg-type]
    if len(keys) != len(values):
        raise SparkplugDecodeError(f"{what}: {len(keys)} keys but {len(values)} values")
    return tuple((k, v) for k, v in zip(keys, values, strict=True) if not isinstance(v, _Skip))


_PROPERTY_FIELDS = {
    1: ("type", "u32"),
    2: ("is_null", "bool"),
    3: ("int_value", "u32"),
    4: ("long_value", "u64"),
    5: ("float_value", "f32"),
    6: ("double_value", "f64"),
    7: ("boolean_value", "bool"),
    8: ("string_value", "text"),
}


def _decode_property_value(data: bytes, what: str) -> PropertyScalar | _Skip:
    fields: dict[str, Read] = {}
    nested = False
    for number, wire_type, raw in w.Reader(data, what).fields():
        if number in _PROPERTY_FIELDS:
            name, kind = _PROPERTY_FIELDS[number]
            fields[name] = _read(kind, f"{what}.{name}", wire_type, raw)
        elif number in (9, 10):
            nested = True
    if fields.get("is_null"):
        return None
    if nested:
        return _Skip()
    datatype = fields.get("type", 0)
    for name in ("int_value", "long_value"):
        value = fields.get(name)
        if isinstance(value, int):
            bits = 32 if name == "int_value" else 64
            signed = datatype in SIGNED_32 if bits == 32 else datatype == DataType.Int64
            return w.signed(value, bits) if signed else value
    for name in ("float_value", "double_value", "boolean_value", "string_value"):
        if name in fields:
            return fields[name]  # type: ignore[return-value]
    return None
