"""Sparkplug topics and the host application's session rules, message by message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from pharmatwin.connectors.sparkplug import (
    REBIRTH,
    MessageType,
    MetricSource,
    Topic,
    TopicError,
    default_tag,
    from_ms,
    parse_topic,
    to_ms,
)
from pharmatwin.connectors.sparkplug_host import Outcome, SparkplugHost
from pharmatwin.connectors.sparkplug_proto import (
    DataType,
    Metric,
    Payload,
    decode_payload,
    encode_payload,
    scalar_metric,
)

G, E, D = "plant", "E1", "R1"
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z in ms


def topic(kind: str, device: str | None = None, node: str = E) -> str:
    return Topic(G, MessageType(kind), node, device).text


def nbirth(seq: int = 0, bd_seq: int = 1) -> bytes:
    metrics = (
        scalar_metric("bdSeq", DataType.Int64, bd_seq, alias=0),
        scalar_metric(REBIRTH, DataType.Boolean, False, alias=1),
        scalar_metric("Uptime", DataType.Double, 5.0, alias=9, timestamp=T0),
    )
    return encode_payload(Payload(timestamp=T0, metrics=metrics, seq=seq))


def ndeath(bd_seq: int) -> bytes:
    metric = scalar_metric("bdSeq", DataType.Int64, bd_seq)
    return encode_payload(Payload(timestamp=T0 + 9, metrics=(metric,)))


def dbirth(seq: int) -> bytes:
    metrics = (
        scalar_metric("Temp/PV", DataType.Double, None, alias=2, properties=(("engUnit", "degC"),)),
        scalar_metric("pH", DataType.Double, 7.0, alias=3, timestamp=T0),
        scalar_metric("Delta", DataType.Int32, -1, alias=4, timestamp=T0),
        scalar_metric("Mode", DataType.String, "auto", alias=5, timestamp=T0),
    )
    return encode_payload(Payload(timestamp=T0, metrics=metrics, seq=seq))


def ddata(seq: int, *values: tuple[int, int, float]) -> bytes:
    metrics = tuple(Metric(alias=a, timestamp=ms, double_value=v) for a, ms, v in values)
    return encode_payload(Payload(timestamp=T0 + 1, metrics=metrics, seq=seq))


@pytest.fixture
def clock() -> list[float]:
    return [0.0]


@pytest.fixture
def host(clock: list[float]) -> SparkplugHost:
    return SparkplugHost(clock=lambda: clock[0])


def born(host: SparkplugHost) -> None:
    host.handle(topic("NBIRTH"), nbirth(seq=0))
    host.handle(topic("DBIRTH", D), dbirth(seq=1))


def test_topics_parse_and_format() -> None:
    t = parse_topic("spBv1.0/plant/DDATA/E1/R1")
    assert (t.group_id, t.message_type, t.edge_node_id, t.device_id) == ("plant", "DDATA", E, D)
    assert t.text == "spBv1.0/plant/DDATA/E1/R1"
    assert parse_topic("spBv1.0/plant/NBIRTH/E1").device_id is None
    assert parse_topic("spBv1.0/STATE/scada1").edge_node_id == "scada1"
    for bad, message in [
        ("spAv1.0/plant/DDATA/E1/R1", "does not start with spBv1.0"),
        ("spBv1.0/plant/DDATA/E1", "device_id is required"),
        ("spBv1.0/plant/NDATA/E1/R1", "node message has no device_id"),
        ("spBv1.0/plant/XDATA/E1", "unknown message type 'XDATA'"),
        ("spBv1.0/plant/NDATA", "expected spBv1.0/group_id"),
        ("spBv1.0//NDATA/E1", "group_id: empty"),
    ]:
        with pytest.raises(TopicError, match=message):
            parse_topic(bad)
    with pytest.raises(TopicError, match=r"must not contain \+"):
        Topic("a+b", MessageType.NDATA, E)


def test_default_tag_and_times() -> None:
    assert default_tag(MetricSource(G, E, D, "Temp/PV")) == "R1.Temp.PV"
    assert default_tag(MetricSource(G, E, None, "Uptime")) == "E1.Uptime"
    when = datetime(2026, 1, 5, 8, 0, 0, 123000, tzinfo=UTC)
    assert from_ms(to_ms(when)) == when


def test_births_and_aliases_give_samples(host: SparkplugHost) -> None:
    first = host.handle(topic("NBIRTH"), nbirth(seq=0))
    assert [(s.tag, s.value) for s in first.samples] == [("E1.Uptime", 5.0)]
    assert [e.message for e in first.events] == ["online (NBIRTH, bdSeq 1)"]
    birth = host.handle(topic("DBIRTH", D), dbirth(seq=1))
    # the null Temp/PV has no value yet; Mode is a string: quarantined, not dropped
    assert [(s.tag, s.value) for s in birth.samples] == [("R1.pH", 7.0), ("R1.Delta", -1.0)]
    assert [q.reason for q in birth.quarantined] == ["Mode: String is not a number"]
    assert host.unit("R1.Temp.PV") == "degC"
    data = host.handle(topic("DDATA", D), ddata(2, (2, T0 + 10, 37.1), (3, T0 + 20, 7.05)))
    assert [(s.tag, s.time, s.value) for s in data.samples] == [
        ("R1.Temp.PV", from_ms(T0 + 10), 37.1),
        ("R1.pH", from_ms(T0 + 20), 7.05),
    ]
    assert not data.quarantined and not data.events and not data.commands
    # the birth's datatype decides how an alias-only integer reads
    signed = Metric(alias=4, int_value=2**32 - 3)
    out = host.handle(
        topic("DDATA", D), encode_payload(Payload(timestamp=T0 + 30, metrics=(signed,), seq=3))
    )
    assert [(s.time, s.value) for s in out.samples] == [(from_ms(T0 + 30), -3.0)]
    assert host.is_online(G, E, D)


def test_seq_wraps_after_255(host: SparkplugHost) -> None:
    host.handle(topic("NBIRTH"), nbirth(seq=254))
    host.handle(topic("DBIRTH", D), dbirth(seq=255))
    out = host.handle(topic("DDATA", D), ddata(0, (2, T0, 1.0)))
    assert len(out.samples) == 1 and not out.events


def test_a_gap_is_an_event_and_a_rebirth_request(host: SparkplugHost, clock: list[float]) -> None:
    born(host)
    out = host.handle(topic("DDATA", D), ddata(5, (2, T0, 1.0)))
    assert [s.value for s in out.samples] == [1.0]  # aliases still hold: the data is kept
    (gap,) = out.events
    assert gap.kind == "connector_gap" and gap.subject == "plant/E1"
    assert gap.data == {"expected": 2, "received": 5, "missing": 3}
    (command,) = out.commands
    assert command[0] == "spBv1.0/plant/NCMD/E1"
    (metric,) = decode_payload(command[1]).metrics
    assert (metric.name, metric.boolean_value, metric.datatype) == (REBIRTH, True, 11)
    # another gap soon after: recorded, but no second request until the interval has passed
    again = host.handle(topic("DDATA", D), ddata(9, (2, T0 + 1, 2.0)))
    assert len(again.events) == 1 and not again.commands
    clock[0] += 10.0
    assert host.handle(topic("DDATA", D), ddata(20, (2, T0 + 2, 3.0))).commands
    # the NBIRTH that answers it starts a new sequence
    host.handle(topic("NBIRTH"), nbirth(seq=0, bd_seq=1))
    assert not host.is_online(G, E, D)  # devices must be born again


def test_a_repeated_message_is_quarantined(host: SparkplugHost) -> None:
    born(host)
    host.handle(topic("DDATA", D), ddata(2, (2, T0, 1.0)))
    out = host.handle(topic("DDATA", D), ddata(2, (2, T0, 1.0)))
    assert not out.samples and not out.events
    (q,) = out.quarantined
    assert q.reason == "repeated message: seq 2 after seq 2 (expected 3)"
    assert q.tag == "R1.Temp.PV" and q.raw == "Temp/PV = 1.0" and q.time == from_ms(T0)
    assert len(host.handle(topic("DDATA", D), ddata(3, (2, T0 + 1, 2.0))).samples) == 1


def reasons(out: Outcome) -> list[str]:
    return [q.reason for q in out.quarantined]


def test_data_without_birth_or_alias_is_quarantined(host: SparkplugHost) -> None:
    out = host.handle(topic("DDATA", D), ddata(0, (2, T0, 1.0)))
    assert reasons(out) == [
        "no session for edge node plant/E1: no NBIRTH received (or it died); rebirth requested"
    ]
    assert out.commands[0][0] == "spBv1.0/plant/NCMD/E1"
    host.handle(topic("NBIRTH"), nbirth(seq=0))
    out = host.handle(topic("DDATA", D), ddata(1, (2, T0, 1.0)))
    assert reasons(out) == ["device R1 has no DBIRTH in this session; rebirth requested"]
    assert out.commands  # NBIRTH cleared the earlier request
    host.handle(topic("DBIRTH", D), dbirth(seq=2))
    out = host.handle(topic("DDATA", D), ddata(3, (77, T0, 1.0), (2, T0, 2.0)))
    assert reasons(out) == ["unknown alias 77 (not in the DBIRTH)"]
    assert [s.value for s in out.samples] == [2.0]
    named = Metric(name="Pressure", timestamp=T0, double_value=1.0)
    out = host.handle(
        topic("DDATA", D), encode_payload(Payload(timestamp=T0, metrics=(named,), seq=4))
    )
    assert reasons(out) == ["metric 'Pressure' is not in the DBIRTH"]


def test_deaths_mark_offline_and_stale_ndeath_is_ignored(
    host: SparkplugHost, caplog: pytest.LogCaptureFixture
) -> None:
    born(host)
    out = host.handle(topic("DDEATH", D), encode_payload(Payload(timestamp=T0 + 5, seq=2)))
    assert [(e.kind, e.subject, e.message) for e in out.events] == [
        ("connector_state", "plant/E1/R1", "offline (DDEATH)")
    ]
    assert not host.is_online(G, E, D) and host.is_online(G, E)
    assert reasons(host.handle(topic("DDATA", D), ddata(3, (2, T0, 1.0))))[0].startswith(
        "device R1 has no DBIRTH"
    )
    host.handle(topic("DBIRTH", D), dbirth(seq=4))
    with caplog.at_level(logging.WARNING):
        stale = host.handle(topic("NDEATH"), ndeath(bd_seq=0))
    assert not stale.events and host.is_online(G, E)
    assert "stale NDEATH ignored: bdSeq 0 is not the current session's bdSeq 1" in caplog.text
    assert stale.ignored and "stale NDEATH" in stale.ignored[0]
    received = from_ms(T0 + 60_000)
    out = host.handle(topic("NDEATH"), ndeath(bd_seq=1), received)
    assert [(e.subject, e.message) for e in out.events] == [
        ("plant/E1", "offline (NDEATH, bdSeq 1)"),
        ("plant/E1/R1", "offline (edge node NDEATH)"),
    ]
    assert out.events[0].time == received  # not the will's time (set when it connected)
    assert not host.is_online(G, E)


def test_bad_messages_are_quarantined_with_a_reason(host: SparkplugHost) -> None:
    out = host.handle(topic("DDATA", D), b"\x12\x05\x0a")
    assert reasons(out)[0].startswith("DDATA payload is not Sparkplug B: payload: truncated")
    assert out.quarantined[0].raw == "12050a"
    assert reasons(host.handle("spBv1.0/plant/DDATA/E1", b""))[0].endswith(
        "a device_id is required"
    )
    no_bd = encode_payload(Payload(timestamp=T0, seq=0, metrics=(Metric(name="x"),)))
    assert reasons(host.handle(topic("NBIRTH"), no_bd)) == [
        "NBIRTH with no bdSeq metric; rebirth requested"
    ]
    assert host.handle("spBv1.0/STATE/scada", b'{"online": true}').ignored


def test_tag_mapping_by_dict_or_function() -> None:
    by_dict = SparkplugHost(tags={"R1/pH": "BR1.pH"})
    by_dict.handle(topic("NBIRTH"), nbirth(seq=0))
    out = by_dict.handle(topic("DBIRTH", D), dbirth(seq=1))
    assert [s.tag for s in out.samples] == ["BR1.pH"]
    assert "Uptime" not in str([s.tag for s in out.samples])
    assert "Delta: no historian tag for plant/E1/R1/Delta" in reasons(out)
    by_function = SparkplugHost(tags=lambda m: f"{m.group_id}:{m.device_id}:{m.name}")
    by_function.handle(topic("NBIRTH"), nbirth(seq=0))
    out = by_function.handle(topic("DBIRTH", D), dbirth(seq=1))
    assert [s.tag for s in out.samples] == ["plant:R1:pH", "plant:R1:Delta"]
