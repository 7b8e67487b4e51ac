"""Sparkplug B end to end on a real Mosquitto: edge node -> broker -> subscriber -> sink."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pharmatwin.connectors.mqtt import MqttSubscriber, Subscription
from pharmatwin.connectors.mqtt_base import new_client, parse_mqtt_url
from pharmatwin.connectors.mqtt_edge import SparkplugEdgeNode
from pharmatwin.connectors.sparkplug import to_ms
from pharmatwin.connectors.sparkplug_proto import (
    DataType,
    Metric,
    Payload,
    decode_payload,
    encode_payload,
    scalar_metric,
)
from tests.connectors.memory_sink import MemorySink
from tests.services.mosquitto import Mosquitto, mosquitto

__all__ = ["mosquitto"]

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
DEVICES = {"R1": [("Temp/PV", "degC"), ("pH", "")], "R2": [("DO", "%")]}


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def subscriber(mosquitto: Mosquitto, sink: MemorySink) -> Iterator[MqttSubscriber]:
    sub = MqttSubscriber(
        mosquitto.url, "historian-spb", sink, [Subscription("spBv1.0/plant/#", "sparkplug")]
    )
    sub.start(timeout=10)
    try:
        yield sub
    finally:
        sub.stop(timeout=2)


@pytest.fixture
def edge(mosquitto: Mosquitto, subscriber: MqttSubscriber) -> Iterator[SparkplugEdgeNode]:
    node = SparkplugEdgeNode(mosquitto.url, "plant", "E1", DEVICES)
    node.start(timeout=10)
    try:
        yield node
    finally:
        node.stop(timeout=2)


class RawClient:
    """A bare paho client for messages the edge node would never send."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.received: list[tuple[str, bytes]] = []

    def send(self, topic: str, payload: Payload) -> None:
        self.client.publish(topic, encode_payload(payload), qos=1).wait_for_publish(10)


@contextmanager
def raw_client(url: str, listen: str | None = None) -> Iterator[RawClient]:
    client = new_client("raw-test-client", clean_session=True)
    raw = RawClient(client)
    subscribed = threading.Event()
    client.on_message = lambda _c, _u, m: raw.received.append((m.topic, bytes(m.payload)))
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(*parse_mqtt_url(url))
    client.loop_start()
    if listen:
        client.subscribe(listen, qos=1)
        assert subscribed.wait(10), "no SUBACK"
    try:
        yield raw
    finally:
        client.disconnect()
        client.loop_stop()


def online_events(sink: MemorySink, prefix: str) -> list[str]:
    return [e.subject for e in sink.event_list("connector_state") if e.message.startswith(prefix)]


def test_births_and_alias_data_become_samples(
    edge: SparkplugEdgeNode, subscriber: MqttSubscriber, sink: MemorySink
) -> None:
    assert sink.wait_until(lambda s: len(s.event_list("connector_state")) == 3)
    assert online_events(sink, "online") == ["plant/E1", "plant/E1/R1", "plant/E1/R2"]
    for i in range(10):
        t = T0 + timedelta(seconds=10 * i)
        edge.publish("R1", [("Temp/PV", t, 37.0 + i / 10), ("pH", t, 7.0 + i / 100)])
        edge.publish("R2", [("DO", t, 40.0 - i)])
    assert edge.flush(20)
    assert sink.wait_until(lambda s: len(s.samples) == 30), f"{len(sink.samples)} stored"
    times = [T0 + timedelta(seconds=10 * i) for i in range(10)]
    assert sink.values("R1.Temp.PV") == [(t, 37.0 + i / 10) for i, t in enumerate(times)]
    assert sink.values("R1.pH") == [(t, 7.0 + i / 100) for i, t in enumerate(times)]
    assert sink.values("R2.DO") == [(t, 40.0 - i) for i, t in enumerate(times)]
    assert subscriber.host.unit("R1.Temp.PV") == "degC"
    assert not sink.quarantined and not sink.event_list("connector_gap")
    with pytest.raises(ValueError, match="metric 'Pressure' is not declared"):
        edge.publish("R1", [("Pressure", T0, 1.0)])


def test_a_seq_gap_is_recorded_and_the_rebirth_is_answered(
    mosquitto: Mosquitto, edge: SparkplugEdgeNode, sink: MemorySink
) -> None:
    edge.publish("R1", [("pH", T0, 7.0)])
    assert edge.flush(20) and sink.wait_until(lambda s: len(s.samples) == 1)
    # a DDATA three messages ahead of the node's sequence, as if two had been lost
    lost = Payload(
        timestamp=to_ms(T0),
        seq=(edge.seq + 2) % 256,
        metrics=(Metric(alias=3, timestamp=to_ms(T0 + timedelta(seconds=1)), double_value=7.1),),
    )
    with raw_client(mosquitto.url, listen="spBv1.0/plant/NCMD/E1") as raw:
        raw.send("spBv1.0/plant/DDATA/E1/R1", lost)
        assert sink.wait_until(lambda s: len(s.event_list("connector_gap")) == 1)
        assert sink.wait_until(lambda s: len(online_events(s, "online (NBIRTH")) == 2)
        (topic, payload), *_ = raw.received
    assert topic == "spBv1.0/plant/NCMD/E1"
    assert decode_payload(payload).metrics[0].name == "Node Control/Rebirth"
    (gap,) = sink.event_list("connector_gap")
    assert gap.data["missing"] == 2 and gap.subject == "plant/E1"
    assert edge.births == 2
    # the data of the out-of-sequence message is kept; after the rebirth the sequence holds
    assert sink.values("R1.pH") == [(T0, 7.0), (T0 + timedelta(seconds=1), 7.1)]
    edge.publish("R1", [("pH", T0 + timedelta(seconds=2), 7.2)])
    assert edge.flush(20) and sink.wait_until(lambda s: len(s.samples) == 3)
    assert len(sink.event_list("connector_gap")) == 1


def test_deaths_are_state_events(
    edge: SparkplugEdgeNode, subscriber: MqttSubscriber, sink: MemorySink
) -> None:
    assert sink.wait_until(lambda s: len(online_events(s, "online")) == 3)
    edge.death("R2")
    assert sink.wait_until(lambda s: online_events(s, "offline") == ["plant/E1/R2"])
    assert subscriber.wait_idle(10)
    assert not subscriber.host.is_online("plant", "E1", "R2")
    edge.publish("R2", [("DO", T0, 41.0)])  # born again first
    assert sink.wait_until(lambda s: len(s.samples) == 1)
    assert subscriber.host.is_online("plant", "E1", "R2")
    edge.stop()
    assert sink.wait_until(lambda s: "plant/E1" in online_events(s, "offline (NDEATH, bdSeq 0)"))
    assert subscriber.wait_idle(10)
    assert not subscriber.host.is_online("plant", "E1")
    assert not sink.quarantined


def test_data_without_birth_or_with_unknown_alias_is_quarantined(
    mosquitto: Mosquitto, subscriber: MqttSubscriber, sink: MemorySink
) -> None:
    bd_seq = scalar_metric("bdSeq", DataType.Int64, 4)
    value = Metric(alias=7, timestamp=to_ms(T0), double_value=1.5)
    with raw_client(mosquitto.url, listen="spBv1.0/plant/NCMD/E9") as raw:
        raw.send("spBv1.0/plant/NBIRTH/E9", Payload(timestamp=to_ms(T0), seq=0, metrics=(bd_seq,)))
        raw.send("spBv1.0/plant/DDATA/E9/X", Payload(timestamp=to_ms(T0), seq=1, metrics=(value,)))
        assert sink.wait_until(lambda s: len(s.quarantined) == 1)
        assert sink.wait_until(lambda s: bool(raw.received))  # the host asked for a rebirth
        birth = scalar_metric("m", DataType.Double, None, alias=2)
        raw.send("spBv1.0/plant/DBIRTH/E9/X", Payload(timestamp=to_ms(T0), seq=2, metrics=(birth,)))
        raw.send("spBv1.0/plant/DDATA/E9/X", Payload(timestamp=to_ms(T0), seq=3, metrics=(value,)))
        assert sink.wait_until(lambda s: len(s.quarantined) == 2)
        stale = Payload(timestamp=to_ms(T0), metrics=(scalar_metric("bdSeq", DataType.Int64, 3),))
        raw.send("spBv1.0/plant/NDEATH/E9", stale)
        assert subscriber.wait_idle(10)
    assert sink.reasons() == [
        "device X has no DBIRTH in this session; rebirth requested",
        "unknown alias 7 (not in the DBIRTH)",
    ]
    assert sink.quarantined[0].raw == "alias 7 = 1.5"
    assert sink.quarantined[0].source == "mqtt:spBv1.0/plant/DDATA/E9/X"
    assert subscriber.host.is_online("plant", "E9")  # the stale NDEATH was ignored
    assert online_events(sink, "offline") == []
