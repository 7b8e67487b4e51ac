"""Plain JSON over MQTT: the format, then a subscriber and a publisher on a real Mosquitto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pharmatwin.connectors.mqtt import MqttSubscriber, Subscription
from pharmatwin.connectors.mqtt_base import parse_mqtt_url
from pharmatwin.connectors.mqtt_edge import JsonPublisher
from pharmatwin.connectors.mqtt_json import encode_json_samples, parse_json_samples
from pharmatwin.historian.records import Sample
from tests.connectors.memory_sink import MemorySink
from tests.services.mosquitto import Mosquitto, free_port, mosquitto

__all__ = ["mosquitto"]

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def parse(document: object) -> tuple[list[Sample], list[str]]:
    samples, rejected = parse_json_samples(json.dumps(document).encode(), "test")
    return samples, [q.reason for q in rejected]


def test_the_three_shapes() -> None:
    one = {"tag": "R1.pH", "time": "2026-01-05T07:00:00+01:00", "value": 7, "quality": 64}
    samples, bad = parse(one)
    assert samples == [Sample("R1.pH", T0, 7.0, 64)] and not bad
    lab = {"tag": "R1.titre", "time": "2026-01-05T06:00:00Z", "value": 1.5}
    lab["available"] = "2026-01-05T09:00:00Z"
    samples, _ = parse([one, lab])
    assert samples[1].available == T0 + timedelta(hours=3)
    samples, _ = parse({"time": "2026-01-05T06:00:00Z", "values": {"a": 1.0, "b": 2.5}})
    assert [(s.tag, s.time, s.value) for s in samples] == [("a", T0, 1.0), ("b", T0, 2.5)]
    written = [Sample("x", T0, 1.25), Sample("y", T0, 2.0, 0, T0 + timedelta(seconds=1))]
    assert parse_json_samples(encode_json_samples(written), "test")[0] == written


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"tag": "a", "value": 1.0}, "missing field 'time'"),
        ({"time": "2026-01-05T06:00:00Z", "value": 1.0}, "missing field 'tag'"),
        ({"tag": "a", "time": "2026-01-05T06:00:00Z"}, "missing field 'value'"),
        ({"tag": "a", "time": "2026-01-05T06:00:00", "value": 1}, "has no time zone"),
        ({"tag": "a", "time": "yesterday", "value": 1}, "is not an ISO 8601 time"),
        ({"tag": "a", "time": 1767592800, "value": 1}, "time: ISO 8601 text is required"),
        ({"tag": "a", "time": "2026-01-05T06:00:00Z", "value": "7.1"}, "is a str, a number"),
        ({"tag": "a", "time": "2026-01-05T06:00:00Z", "value": True}, "is a boolean"),
        ({"tag": "a", "time": "2026-01-05T06:00:00Z", "value": None}, "is a NoneType"),
        ({"tag": "", "time": "2026-01-05T06:00:00Z", "value": 1}, "tag: a non-empty string"),
        ({"tag": "a", "time": "2026-01-05T06:00:00Z", "value": 1, "qual": 1}, "unknown field"),
        ({"tag": "a", "time": "2026-01-05T06:00:00Z", "value": 1, "quality": 300}, "0-255"),
        ([3], "sample: a JSON object is required, got int"),
        ("text", "a JSON object or array is required, got str"),
    ],
)
def test_bad_samples_are_quarantined_with_the_reason(document: object, reason: str) -> None:
    samples, reasons = parse(document)
    assert not samples
    assert len(reasons) == 1 and reason in reasons[0]


def test_non_finite_and_malformed() -> None:
    _, rejected = parse_json_samples(
        b'{"tag": "a", "time": "2026-01-05T06:00:00Z", "value": NaN}', "t"
    )
    assert "is not a finite number" in rejected[0].reason and rejected[0].tag == "a"
    assert rejected[0].time == T0
    _, rejected = parse_json_samples(b'{"tag": "a", "time": ', "t")
    assert (
        rejected[0].reason.startswith("malformed JSON")
        and rejected[0].raw == '{"tag": "a", "time": '
    )
    good_and_bad = [{"tag": "a", "time": "2026-01-05T06:00:00Z", "value": 1}, {"tag": "b"}]
    samples, reasons = parse(good_and_bad)
    assert len(samples) == 1 and len(reasons) == 1  # each sample stands alone


def test_tag_map_for_json() -> None:
    item = {"tag": "pH", "time": "2026-01-05T06:00:00Z", "value": 7.0}
    data = json.dumps([item, {**item, "tag": "DO"}]).encode()
    samples, rejected = parse_json_samples(data, "t", {"pH": "R1.pH"})
    assert [s.tag for s in samples] == ["R1.pH"]
    assert [q.reason for q in rejected] == ["tag 'DO' is not in the tag map"]


def test_urls() -> None:
    assert parse_mqtt_url("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884)
    assert parse_mqtt_url("tcp://broker") == ("broker", 1883)
    for bad in ("mqtts://b:8883", "mqtt://:1883", "mqtt://b:99999", "mqtt://b/x"):
        with pytest.raises(ValueError, match="MQTT url"):
            parse_mqtt_url(bad)


def test_configuration_errors() -> None:
    sink = MemorySink()
    with pytest.raises(ValueError, match="format 'xml'"):
        Subscription("a/b", "xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one topic filter"):
        MqttSubscriber("mqtt://127.0.0.1:1", "c", sink, [])
    with pytest.raises(ValueError, match="a topic name without wildcards"):
        JsonPublisher("mqtt://127.0.0.1:1", "plant/#")
    with pytest.raises(RuntimeError, match="not started"):
        JsonPublisher("mqtt://127.0.0.1:1", "plant/x").publish([])


def test_no_broker_is_a_timeout_not_a_hang() -> None:
    port = free_port()  # nothing listens there
    subscriber = MqttSubscriber(f"mqtt://127.0.0.1:{port}", "c", MemorySink(), [Subscription("a")])
    with pytest.raises(TimeoutError, match=r"not subscribed within 0\.5 s"):
        subscriber.start(timeout=0.5)
    assert not subscriber.connected


# ---------------------------------------------------------------- against Mosquitto


@pytest.fixture
def running(mosquitto: Mosquitto) -> Iterator[tuple[MqttSubscriber, JsonPublisher, MemorySink]]:
    sink = MemorySink()
    subscriber = MqttSubscriber(
        mosquitto.url, "historian-json", sink, [Subscription("plant/+/samples", "json")]
    )
    publisher = JsonPublisher(mosquitto.url, "plant/R1/samples", client_id="plant-R1")
    subscriber.start(timeout=10)
    publisher.start(timeout=10)
    try:
        yield subscriber, publisher, sink
    finally:
        publisher.stop(timeout=2)
        subscriber.stop(timeout=2)


def test_every_sample_is_stored(
    running: tuple[MqttSubscriber, JsonPublisher, MemorySink],
) -> None:
    subscriber, publisher, sink = running
    expected = [Sample("R1.T", T0 + timedelta(seconds=i), 36.5 + i / 100) for i in range(200)]
    for i in range(0, 200, 2):
        publisher.publish(expected[i : i + 2][::-1])  # pairs, newer first: order does not matter
    assert publisher.flush(20)
    assert sink.wait_until(lambda s: len(s.samples) == 200), f"{len(sink.samples)} stored"
    assert sink.values("R1.T") == [(s.time, s.value) for s in expected]
    assert subscriber.wait_idle(20)
    stats = subscriber.stats
    assert (stats.received, stats.stored, stats.duplicates, stats.quarantined) == (100, 200, 0, 0)


def test_bad_duplicate_and_conflicting_messages(
    running: tuple[MqttSubscriber, JsonPublisher, MemorySink],
) -> None:
    subscriber, publisher, sink = running
    good = Sample("R1.pH", T0, 7.0)
    publisher.publish([good])
    publisher.publish([good])  # the same again: stored once
    publisher.publish([Sample("R1.pH", T0, 7.3)])  # another value at the same time
    publisher.publish([Sample("R1.pH", T0 - timedelta(hours=1), 6.9)])  # late but new: kept
    publisher.publish_raw(b"{not json")
    publisher.publish_raw('{"tag": "R1.pH", "value": 7.1}')
    publisher.publish_raw('{"tag": "R1.pH", "time": "2026-01-05T06:00:00", "value": 7.1}')
    publisher.publish_raw('{"tag": "R1.pH", "time": "2026-01-05T06:00:00Z", "value": "7.1"}')
    assert publisher.flush(20)
    assert sink.wait_until(lambda s: len(s.quarantined) == 5)
    assert subscriber.wait_idle(20)
    assert sink.values("R1.pH") == [(T0 - timedelta(hours=1), 6.9), (T0, 7.0)]
    reasons = sink.reasons()
    assert reasons[0] == "conflicts with the stored value 7.0 at 2026-01-05T06:00:00Z"
    assert reasons[1].startswith("malformed JSON")
    assert reasons[2:] == [
        "missing field 'time'",
        "time: '2026-01-05T06:00:00' has no time zone; append Z for UTC",
        "value: '7.1' is a str, a number is required",
    ]
    assert sink.quarantined[1].raw == "{not json"
    assert sink.quarantined[1].source == "mqtt:plant/R1/samples"
    stats = subscriber.stats
    assert (stats.received, stats.stored, stats.duplicates, stats.quarantined) == (8, 2, 1, 5)


def test_a_busy_sink_is_retried_not_dropped(
    running: tuple[MqttSubscriber, JsonPublisher, MemorySink],
) -> None:
    subscriber, publisher, sink = running
    sink.fail_next(3)
    expected = [Sample("R1.DO", T0 + timedelta(minutes=i), 40.0 + i) for i in range(20)]
    for sample in expected:
        publisher.publish([sample])
    assert publisher.flush(20)
    assert sink.wait_until(lambda s: len(s.samples) == 20)
    assert sink.failures == 3 and subscriber.stats.sink_retries == 3
    assert sink.values("R1.DO") == [(s.time, s.value) for s in expected]
