"""Faults on a real Mosquitto: broker restarts, a subscriber away, a sink that cannot store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pharmatwin.connectors.mqtt import MqttSubscriber, Subscription
from pharmatwin.connectors.mqtt_edge import JsonPublisher, SparkplugEdgeNode
from pharmatwin.historian.records import Sample
from tests.connectors.memory_sink import MemorySink
from tests.services.mosquitto import Mosquitto, mosquitto

__all__ = ["mosquitto"]

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
TOPIC = "plant/R1/samples"


def series(tag: str, n: int) -> list[Sample]:
    return [Sample(tag, T0 + timedelta(seconds=i), 30.0 + i / 8) for i in range(n)]


def stored(sink: MemorySink, tag: str) -> list[tuple[datetime, float]]:
    return sink.values(tag)


def test_json_broker_restart_mid_stream_loses_nothing(mosquitto: Mosquitto) -> None:
    sink = MemorySink()
    subscriber = MqttSubscriber(mosquitto.url, "historian-1", sink, [Subscription(TOPIC)])
    publisher = JsonPublisher(mosquitto.url, TOPIC, client_id="plant-R1")
    subscriber.start(timeout=10)
    publisher.start(timeout=10)
    expected = series("R1.T", 150)
    try:
        for i, sample in enumerate(expected):
            if i == 50:
                mosquitto.stop()  # the publisher queues QoS 1 messages meanwhile
            if i == 100:
                mosquitto.start()
            publisher.publish([sample])
            time.sleep(0.002)
        assert publisher.flush(20), "the broker did not acknowledge every message"
        assert sink.wait_until(lambda s: len(s.samples) == 150), f"{len(sink.samples)} stored"
        assert subscriber.wait_idle(10)
    finally:
        publisher.stop(timeout=2)
        subscriber.stop(timeout=2)
    assert stored(sink, "R1.T") == [(s.time, s.value) for s in expected]
    assert not sink.quarantined
    assert subscriber.stats.reconnects >= 1


def test_sparkplug_broker_restart_mid_stream_loses_nothing(mosquitto: Mosquitto) -> None:
    sink = MemorySink()
    subscriber = MqttSubscriber(
        mosquitto.url, "historian-2", sink, [Subscription("spBv1.0/plant/#", "sparkplug")]
    )
    edge = SparkplugEdgeNode(mosquitto.url, "plant", "E1", {"R1": [("T", "degC")]})
    subscriber.start(timeout=10)
    edge.start(timeout=10)
    expected = series("R1.T", 90)
    try:
        for i, sample in enumerate(expected):
            if i == 30:
                mosquitto.stop()  # the edge node keeps values for its next session
            if i == 60:
                mosquitto.start()
            edge.publish("R1", [("T", sample.time, sample.value)])
            time.sleep(0.002)
        assert sink.wait_until(lambda s: len(s.samples) == 90), f"{len(sink.samples)} stored"
        assert edge.flush(20)
        assert subscriber.wait_idle(10)
    finally:
        edge.stop(timeout=2)
        subscriber.stop(timeout=2)
    assert stored(sink, "R1.T") == [(s.time, s.value) for s in expected]
    assert edge.bd_seq == 1  # a new session after the restart
    births = [e.message for e in sink.event_list("connector_state") if "NBIRTH" in e.message]
    assert births[0] == "online (NBIRTH, bdSeq 0)" and "online (NBIRTH, bdSeq 1)" in births
    # Messages the subscriber had stored but not yet acknowledged when the broker went down
    # come again after the restart: the host quarantines them as repeats (or, after the
    # node's NDEATH, as out of session). Nothing else may be quarantined.
    redelivered = ("repeated message", "no session")
    assert all(r.startswith(redelivered) for r in sink.reasons()), sink.reasons()


def test_a_persistent_session_keeps_messages_while_the_subscriber_is_away(
    mosquitto: Mosquitto,
) -> None:
    sink = MemorySink()
    first = MqttSubscriber(mosquitto.url, "historian-3", sink, [Subscription(TOPIC)])
    first.start(timeout=10)
    first.stop()
    publisher = JsonPublisher(mosquitto.url, TOPIC, client_id="plant-R1")
    publisher.start(timeout=10)
    expected = series("R1.pH", 60)
    for sample in expected:
        publisher.publish([sample])
    assert publisher.flush(20)
    publisher.stop()
    assert not sink.samples
    again = MqttSubscriber(mosquitto.url, "historian-3", sink, [Subscription(TOPIC)])
    again.start(timeout=10)
    try:
        assert sink.wait_until(lambda s: len(s.samples) == 60), f"{len(sink.samples)} stored"
    finally:
        again.stop(timeout=2)
    assert stored(sink, "R1.pH") == [(s.time, s.value) for s in expected]


def test_what_the_sink_did_not_store_is_not_acknowledged(mosquitto: Mosquitto) -> None:
    sink = MemorySink()
    sink.fail_next(1_000_000)  # the historian is down
    first = MqttSubscriber(mosquitto.url, "historian-4", sink, [Subscription(TOPIC)])
    first.start(timeout=10)
    publisher = JsonPublisher(mosquitto.url, TOPIC, client_id="plant-R1")
    publisher.start(timeout=10)
    expected = series("R1.DO", 10)
    for sample in expected:
        publisher.publish([sample])
    assert publisher.flush(20)
    publisher.stop()
    assert sink.wait_until(lambda s: s.failures >= 2)
    first.stop(timeout=0.5)  # gives up while retrying: nothing was acknowledged
    assert not sink.samples
    sink.fail_next(0)  # the historian is back
    again = MqttSubscriber(mosquitto.url, "historian-4", sink, [Subscription(TOPIC)])
    again.start(timeout=10)
    try:
        assert sink.wait_until(lambda s: len(s.samples) == 10), f"{len(sink.samples)} stored"
    finally:
        again.stop(timeout=2)
    assert stored(sink, "R1.DO") == [(s.time, s.value) for s in expected]
