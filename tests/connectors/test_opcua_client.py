"""The OPC UA connector against a real asyncua server on 127.0.0.1 (a free port).

Every wait has a deadline; every server and connector is stopped even when a test fails.
Timestamps are a virtual plant clock in 2024, so a sample stamped with this machine's clock
would not match what the server wrote.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from asyncua import ua

from pharmatwin.connectors.opcua_client import OpcUaConfigError, OpcUaSource
from pharmatwin.connectors.opcua_nodes import NodeRefError, parse_node_ref, to_record
from pharmatwin.historian.records import (
    QUALITY_GOOD,
    QUALITY_UNCERTAIN,
    Event,
    Quarantined,
    Sample,
    WriteResult,
)
from tests.connectors.opcua_server import NAMESPACE, TestPlantServer, Written, running_server

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
DEADLINE_S = 30.0
NAMES = ["TT101", "PH101", "TITER"]
LAB_DELAY = timedelta(hours=2)
"""The laboratory result TITER becomes available two hours after its sample time."""


class MemorySink:
    """Stores a tag+time once (same value: duplicate; another value: quarantined)."""

    def __init__(self, failures: int = 0) -> None:
        self.samples: dict[tuple[str, datetime], Sample] = {}
        self.sent: list[Sample] = []
        self.quarantined: list[Quarantined] = []
        self.events: list[Event] = []
        self.failures = failures
        self._lock = threading.Lock()

    def write(self, samples: list[Sample]) -> WriteResult:
        with self._lock:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("historian busy")
            self.sent.extend(samples)
            inserted = duplicates = conflicts = 0
            for sample in samples:
                stored = self.samples.setdefault((sample.tag, sample.time), sample)
                if stored is sample:
                    inserted += 1
                elif stored.value == sample.value:
                    duplicates += 1
                else:
                    conflicts += 1
            return WriteResult(inserted, duplicates, conflicts)

    def quarantine(self, items: list[Quarantined]) -> None:
        with self._lock:
            self.quarantined.extend(items)

    def add_event(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def latest(self) -> dict[str, datetime]:
        with self._lock:
            latest: dict[str, datetime] = {}
            for tag, when in self.samples:
                latest[tag] = max(when, latest.get(tag, when))
            return latest

    def states(self) -> list[str]:
        with self._lock:
            return [e.subject for e in self.events if e.kind == "connector_state"]


def wait_until(condition: Callable[[], bool], what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            text = what() if callable(what) else what
            raise AssertionError(f"not within {DEADLINE_S} s: {text}")
        time.sleep(0.05)


TAGS = {"TT101": "BR01.TT101.PV", "PH101": "BR01.PH101.PV", "TITER": "BR01.TITER.LAB"}


def node_refs(server: TestPlantServer) -> dict[str, str]:
    """One tag by index node id, one by namespace URI, one by browse path."""
    return {
        server.node_id("TT101"): "BR01.TT101.PV",
        f"nsu={NAMESPACE};s=PH101": "BR01.PH101.PV",
        f"/0:Objects/{server.index}:Plant/{server.index}:TITER": "BR01.TITER.LAB",
    }


@contextmanager
def connector(source: OpcUaSource) -> Iterator[OpcUaSource]:
    """A started connector that has subscribed (it received each variable's current value)."""
    source.start()
    try:
        wait_until(lambda: source.stats.received >= len(TAGS), "the subscription")
        yield source
    finally:
        source.stop()


def write_round(server: TestPlantServer, i: int) -> None:
    """Value number ``i`` of each variable, ``i`` seconds after T0 on the plant clock."""
    when = T0 + timedelta(seconds=i)
    server.write("TT101", 36.5 + 0.01 * i, when)
    server.write("PH101", 7.0 - 0.001 * i, when)
    server.write("TITER", 100.0 + i, when, when + LAB_DELAY)


def expected(written: list[Written]) -> dict[tuple[str, datetime], tuple[float, datetime | None]]:
    """What the server wrote with a good status, keyed as ``stored``."""
    return {(TAGS[w.name], w.source): (w.value, w.server) for w in written if w.status == "Good"}


def stored(sink: MemorySink) -> dict[tuple[str, datetime], tuple[float, datetime | None]]:
    """Tag and source time -> value and server time (``available``), as stored."""
    with sink._lock:
        return {k: (s.value, s.available) for k, s in sink.samples.items()}


def test_three_variables_every_value_stored_with_plant_timestamps() -> None:
    with running_server(NAMES, T0 - timedelta(seconds=1)) as server:
        sink = MemorySink()
        with connector(OpcUaSource(server.url, node_refs(server), sink)) as source:
            for i in range(50):
                write_round(server, i)
            wait_until(lambda: len(sink.samples) == 153, "153 samples")
            stats = source.stats
        assert stored(sink) == expected(server.written)
        assert all(s.quality == QUALITY_GOOD for s in sink.samples.values())
        lab = sink.samples[("BR01.TITER.LAB", T0 + timedelta(seconds=7))]
        assert lab.available == T0 + timedelta(seconds=7) + LAB_DELAY
        assert (stats.received, stats.stored, stats.duplicates) == (153, 153, 0)
        assert sink.states() == ["connected"]


def test_bad_status_and_nan_are_quarantined_with_the_reason() -> None:
    with running_server(NAMES, T0) as server:
        sink = MemorySink(failures=3)  # the historian is busy at first: nothing may be lost
        with connector(OpcUaSource(server.url, node_refs(server), sink)) as source:
            server.write("TT101", math.nan, T0 + timedelta(seconds=1))
            server.write("PH101", 7.1, T0 + timedelta(seconds=1), status="BadSensorFailure")
            server.write(
                "TITER", 250.0, T0 + timedelta(seconds=1), status="UncertainLastUsableValue"
            )
            server.write("TT101", 37.0, T0 + timedelta(seconds=2))
            wait_until(lambda: len(sink.quarantined) == 2 and len(sink.samples) == 5, "all")
            stats = source.stats
        reasons = {q.tag: q.reason for q in sink.quarantined}
        assert reasons == {
            "BR01.TT101.PV": "value nan is not a finite number",
            "BR01.PH101.PV": "status BadSensorFailure",
        }
        assert all(q.time == T0 + timedelta(seconds=1) for q in sink.quarantined)
        uncertain = sink.samples[("BR01.TITER.LAB", T0 + timedelta(seconds=1))]
        assert (uncertain.value, uncertain.quality) == (250.0, QUALITY_UNCERTAIN)
        assert sink.samples[("BR01.TT101.PV", T0 + timedelta(seconds=2))].value == 37.0
        assert (stats.received, stats.stored, stats.quarantined, stats.pending) == (7, 5, 2, 0)
        assert sink.failures == 0  # the three failed writes were retried


def test_connection_loss_is_backfilled_from_server_history() -> None:
    # The server keeps running and historizing while its endpoint is closed and reopened on the
    # same port: to the client this is a server that went away and came back, and values keep
    # being produced meanwhile (a full asyncua restart would lose its in-memory history).
    with running_server(NAMES, T0 - timedelta(seconds=1), history=True) as server:
        sink = MemorySink()
        with connector(OpcUaSource(server.url, node_refs(server), sink)) as source:
            for i in range(20):
                write_round(server, i)
            wait_until(lambda: len(sink.samples) == 63, "the first 63 samples")
            server.disconnect_clients()
            wait_until(lambda: "disconnected" in sink.states(), "the loss to be noticed")
            for i in range(20, 40):  # produced while the client is away
                write_round(server, i)
            server.accept_clients()
            wait_until(lambda: source.stats.reconnects == 1, "a reconnection")
            for i in range(40, 50):
                write_round(server, i)
            wait_until(lambda: len(sink.samples) == 153, "all 153 samples")
            stats = source.stats
        assert stored(sink) == expected(server.written)
        keys = [(s.tag, s.time) for s in sink.sent]
        assert len(keys) == len(set(keys)) == 153  # none sent twice
        assert stats.backfilled == 3 * 19  # the 20th of each came as the current value
        assert sink.states() == ["connected", "disconnected", "reconnected"]
        assert not [e for e in sink.events if e.kind == "connector_gap"]


def test_restart_of_a_server_without_history_records_the_gap() -> None:
    with running_server(NAMES, T0 - timedelta(seconds=1)) as server:
        sink = MemorySink()
        with connector(OpcUaSource(server.url, node_refs(server), sink, name="plant")) as source:
            for i in range(10):
                write_round(server, i)
            wait_until(lambda: len(sink.samples) == 33, "the first 33 samples")
            server.stop()
            wait_until(lambda: "disconnected" in sink.states(), "the loss to be noticed")
            restart = T0 + timedelta(seconds=30)
            server.start(initial_time=restart)  # a new address space, same port
            wait_until(lambda: source.stats.reconnects == 1, "a reconnection")
            write_round(server, 31)
            wait_until(lambda: len(sink.samples) == 39, "all 39 samples")
            wait_until(lambda: len(sink.events) == 6, "three gap events")
        assert stored(sink) == expected(server.written)
        gaps = {e.subject: e for e in sink.events if e.kind == "connector_gap"}
        assert set(gaps) == set(TAGS.values())
        last = T0 + timedelta(seconds=9)
        for gap in gaps.values():
            assert (gap.source, gap.time) == ("plant", last)
            assert gap.data == {
                "start": last.isoformat(),
                "end": restart.isoformat(),
                "url": server.url,
            }
            assert gap.message.endswith(": server has no history")
            assert gap.message.startswith(
                f"no data from {last.isoformat()} to {restart.isoformat()}"
            )
        assert sink.states() == ["connected", "disconnected", "reconnected"]


def test_a_restarted_connector_resumes_from_since() -> None:
    with running_server(NAMES, T0 - timedelta(seconds=1), history=True) as server:
        sink = MemorySink()
        with connector(OpcUaSource(server.url, node_refs(server), sink)):
            for i in range(10):
                write_round(server, i)
            wait_until(lambda: len(sink.samples) == 33, "the first 33 samples")
        for i in range(10, 25):  # produced while the connector process is down
            write_round(server, i)
        since = sink.latest()
        assert since == dict.fromkeys(TAGS.values(), T0 + timedelta(seconds=9))
        resumed = OpcUaSource(server.url, node_refs(server), sink, since=since)
        with connector(resumed):
            wait_until(
                lambda: len(sink.samples) == 78,
                lambda: (
                    f"all 78 samples (have {len(sink.samples)}; {resumed.stats}; {sink.events})"
                ),
            )
            stats = resumed.stats
        assert stored(sink) == expected(server.written)
        assert stats.backfilled == 3 * 14
        assert stats.duplicates == 0


def test_values_become_records_and_bad_settings_are_refused() -> None:
    def value(v: object, source: datetime | None = T0) -> ua.DataValue:
        return ua.DataValue(ua.Variant(v), SourceTimestamp=cast(ua.DateTime | None, source))

    assert to_record("a", value(True), "s") == Sample("a", T0, 1.0)
    assert to_record("a", value(3), "s") == Sample("a", T0, 3.0)
    reasons = {
        "value inf is not a finite number": to_record("a", value(math.inf), "s"),
        "value 'x' is not a number": to_record("a", value("x"), "s"),
        "no SourceTimestamp nor ServerTimestamp": to_record("a", value(1.0, None), "s"),
    }
    for reason, record in reasons.items():
        assert isinstance(record, Quarantined) and record.reason == reason
    with pytest.raises(NodeRefError, match="tag 'x'"):
        parse_node_ref("ns=2;q=1", "x")
    with pytest.raises(OpcUaConfigError, match="url"):
        OpcUaSource("http://plant", {"i=1": "a"}, MemorySink())
    with pytest.raises(OpcUaConfigError, match="mapped twice"):
        OpcUaSource("opc.tcp://h:4840", {"i=1": "a", "i=2": "a"}, MemorySink())
    with pytest.raises(OpcUaConfigError, match=r"since\['b'\]"):
        OpcUaSource("opc.tcp://h:4840", {"i=1": "a"}, MemorySink(), since={"b": T0})
