"""The Sparkplug B payload codec: hand-computed bytes, round trips, unknown fields, garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pharmatwin.connectors.sparkplug_proto import (
    DataType,
    Metric,
    Payload,
    SparkplugDecodeError,
    decode_payload,
    encode_payload,
    metric_value,
    scalar_metric,
)

U32 = 2**32 - 1
U64 = 2**64 - 1

# Payload{timestamp=300, metrics=[Metric{name="a", alias=3, datatype=Double, double=1.0}],
# seq=2}, by hand from the protobuf encoding rules:
#   08 ac 02      field 1 varint: 300 = 0b10_0101100 -> 0xac 0x02
#   12 10 ...     field 2 length-delimited, 16 bytes:
#     0a 01 61    field 1 "a"; 10 03: field 2 = 3; 20 0a: field 4 = 10 (Double)
#     69 + 8 LE   field 13 fixed64 (13 << 3 | 1 = 0x69): 1.0 = 0x3ff0000000000000
#   18 02         field 3 varint 2
HAND = bytes.fromhex("08ac02" + "1210" + "0a0161" + "1003" + "200a" + "69000000000000f03f" + "1802")
HAND_PAYLOAD = Payload(
    timestamp=300,
    metrics=(Metric(name="a", alias=3, datatype=10, double_value=1.0),),
    seq=2,
)

# A metric "T", Double, with the property engUnit = "C":
#   0a 01 54 | 20 0a | 4a 10 (PropertySet, 16 bytes):
#     0a 07 "engUnit" | 12 05 (PropertyValue: 08 0c type String, 42 01 "C" string_value)
UNIT = bytes.fromhex("1217" + "0a0154" + "200a" + "4a10" + "0a07656e67556e6974" + "1205080c420143")


def test_hand_computed_bytes() -> None:
    assert encode_payload(HAND_PAYLOAD) == HAND
    assert decode_payload(HAND) == HAND_PAYLOAD
    unit = Payload(metrics=(Metric(name="T", datatype=10, properties=(("engUnit", "C"),)),))
    assert encode_payload(unit) == UNIT
    decoded = decode_payload(UNIT)
    assert decoded.metrics[0].prop("engUnit") == "C"
    assert decoded.metrics[0].prop("other") is None


def test_signed_integers_are_twos_complement() -> None:
    m32 = scalar_metric("x", DataType.Int32, -5)
    m8 = scalar_metric("y", DataType.Int8, -1)
    m64 = scalar_metric("z", DataType.Int64, -(2**40))
    assert m32.int_value == 2**32 - 5
    back = decode_payload(encode_payload(Payload(metrics=(m32, m8, m64))))
    assert [metric_value(m, None) for m in back.metrics] == [-5, -1, -(2**40)]
    # a DDATA metric has no datatype of its own: the birth's datatype decides the sign
    bare = Metric(alias=1, int_value=2**32 - 5)
    assert metric_value(bare, DataType.Int32) == -5
    assert metric_value(bare, DataType.UInt32) == 2**32 - 5


def test_unknown_fields_and_groups_are_skipped() -> None:
    unknown = (
        bytes.fromhex("f8062a")  # field 111, varint 42
        + bytes.fromhex("fa0603616263")  # field 111, 3 bytes
        + bytes.fromhex("fb060801fc06")  # a group 111 holding field 1 = 1
        + bytes.fromhex("fd0601020304")  # field 111, fixed32
    )
    assert decode_payload(unknown + HAND + unknown) == HAND_PAYLOAD
    # inside a metric too (metadata, field 8, is skipped)
    metric = bytes.fromhex("0a0161" + "4203" + "0a0100" + "f8062a")
    decoded = decode_payload(bytes([0x12, len(metric)]) + metric)
    assert decoded.metrics == (Metric(name="a"),)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (HAND[:-1], "truncated varint"),
        (HAND[:10], "truncated"),  # inside the metric's announced 16 bytes
        (bytes.fromhex("08" + "ff" * 10 + "01"), "varint longer than 10 bytes"),
        (bytes.fromhex("08" + "ff" * 9 + "7f"), "larger than 64 bits"),
        (bytes.fromhex("090000000000000000"), "payload.timestamp: wire type 1"),
        (bytes.fromhex("0f"), "wire type 7"),
        (bytes.fromhex("00"), "field number 0"),
        (bytes.fromhex("12030a01ff"), "not valid UTF-8"),
        (bytes.fromhex("fb060801"), "group 111 is not closed"),
        (bytes.fromhex("fc06"), "wire type 4"),
    ],
)
def test_malformed_bytes_raise_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(SparkplugDecodeError, match=message):
        decode_payload(data)


def test_encoding_rejects_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match=r"metrics\[0\]: only one value field"):
        encode_payload(Payload(metrics=(Metric(int_value=1, double_value=2.0),)))
    with pytest.raises(ValueError, match=r"metrics\[0\]\.int_value"):
        encode_payload(Payload(metrics=(Metric(int_value=2**32),)))
    with pytest.raises(ValueError, match=r"payload\.seq"):
        encode_payload(Payload(seq=-1))
    with pytest.raises(ValueError, match="not a Double"):
        scalar_metric("x", DataType.Double, b"\x00")


# ---------------------------------------------------------------- property-based

texts = st.text(max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    texts,
)
values = st.one_of(
    st.just({}),
    st.builds(lambda v: {"int_value": v}, st.integers(0, U32)),
    st.builds(lambda v: {"long_value": v}, st.integers(0, U64)),
    st.builds(lambda v: {"float_value": v}, st.floats(width=32, allow_nan=False)),
    st.builds(lambda v: {"double_value": v}, st.floats(allow_nan=False)),
    st.builds(lambda v: {"boolean_value": v}, st.booleans()),
    st.builds(lambda v: {"string_value": v}, texts),
    st.builds(lambda v: {"bytes_value": v}, st.binary(max_size=12)),
)


@st.composite
def metrics(draw: st.DrawFn) -> Metric:
    return Metric(
        name=draw(st.none() | texts),
        alias=draw(st.none() | st.integers(0, U64)),
        timestamp=draw(st.none() | st.integers(0, U64)),
        datatype=draw(st.none() | st.integers(0, U32)),
        is_historical=draw(st.booleans()),
        is_transient=draw(st.booleans()),
        is_null=draw(st.booleans()),
        properties=tuple(draw(st.lists(st.tuples(texts, scalars), max_size=3))),
        **draw(values),
    )


payloads = st.builds(
    Payload,
    timestamp=st.none() | st.integers(0, U64),
    metrics=st.lists(metrics(), max_size=4).map(tuple),
    seq=st.none() | st.integers(0, 255),
    uuid=st.none() | texts,
    body=st.none() | st.binary(max_size=16),
)


@settings(max_examples=300, deadline=None)
@given(payloads)
def test_round_trip(payload: Payload) -> None:
    data = encode_payload(payload)
    assert decode_payload(data) == payload
    assert encode_payload(decode_payload(data)) == data


@settings(max_examples=300, deadline=None)
@given(payloads, st.data())
def test_every_cut_is_a_payload_or_a_clear_error(payload: Payload, data: st.DataObject) -> None:
    encoded = encode_payload(payload)
    cut = data.draw(st.integers(0, len(encoded)))
    try:
        decode_payload(encoded[:cut])
    except SparkplugDecodeError as exc:
        assert str(exc)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_decodes_or_raises_value_error(garbage: bytes) -> None:
    try:
        payload = decode_payload(garbage)
    except SparkplugDecodeError as exc:
        assert isinstance(exc, ValueError) and str(exc)
    else:
        assert isinstance(payload, Payload)
