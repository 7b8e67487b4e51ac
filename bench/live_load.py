"""One measured run of ``bench.live``: a load server in its own process, the runtime in this one.

The server (asyncua on 127.0.0.1) holds, for each asset ``BRnn``, the virtual plant's tags
renamed for it (``BRnn.TT101.PV``, ...; optionally four synthetic tags) as string node ids
``ns=<i>;s=<tag>`` in the namespace ``urn:pharmatwin:virtual-plant`` (OPC UA Part 6 §5.3.1.10).
It writes the readings it is given on a wall-clock schedule, each a Double DataValue with
SourceTimestamp = batch start + ``time_h`` and ServerTimestamp = batch start + ``available_h``
(Part 4 §7.11), and logs when (``time.time()``) each write returned. Variables hold no value
before their first reading (BadWaitingForInitialData) and keep no history. Pipe protocol:
``("ready", url)`` -> ``("go", wall_s)`` -> ``("stop",)`` -> ``("log", WriteLog)``.

``run_phase`` starts the server, a ``Runtime`` on it (its connector's sink wrapped to note each
commit), optionally a bare asyncua subscriber (the ingest baseline), and polls the runtime.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from asyncua import ua
from asyncua.client.client import Client
from asyncua.server.server import Server
from asyncua.ua.status_codes import StatusCodes
from numpy.typing import NDArray

from pharmatwin.connectors.mapped_sink import MappedSink
from pharmatwin.connectors.opcua_client import OpcUaSource
from pharmatwin.connectors.opcua_nodes import monitored_items
from pharmatwin.historian.records import Sample, WriteResult, from_us, to_us
from pharmatwin.runtime import runner
from pharmatwin.runtime.asset import VIRTUAL_PLANT_NAMESPACE, Asset, default_tags
from pharmatwin.runtime.plant_config import AssetEntry, BatchConfig, PlantConfig, SourceConfig
from pharmatwin.runtime.plant_nodes import data_value, status, string_id

SYNTHETIC: tuple[tuple[str, str, str, float, float], ...] = (
    ("SIC601.PV", "rpm", "agitator speed", 80.0, 2.0),
    ("TT102.PV", "degC", "jacket temperature", 36.5, 0.3),
    ("FIC701.PV", "L/min", "air sparge flow", 20.0, 1.0),
    ("PT801.PV", "bar", "headspace pressure", 1.05, 0.01),
)
"""Synthetic 1 Hz tags (suffix, unit, description, mean, amplitude): not read by the twin."""

PREFIX = f"nsu={VIRTUAL_PLANT_NAMESPACE};s="  # the runtime's names (SourceConfig.item_prefix)
START_UTC = "2026-01-05T06:00:00Z"
PLANT = "BR01"
WRITES_PER_YIELD = 100
DEADLINE_S = 900.0  # the server stops waiting for the parent after this long (s)

Reading = tuple[str, float, float, float]  # virtual-plant tag, time_h, available_h, value
Row = tuple[float, int, int, int, float]  # due (s after go), node, source us, server us, value


@dataclass(frozen=True)
class Feed:
    """One asset's stream: batch start (us, UTC) and the wall time after ``go`` at which its
    batch time 0 is due (s; negative: what is already due is written at ``go``)."""

    asset: str
    start_us: int
    offset_s: float


@dataclass(frozen=True)
class LoadPlan:
    """``readings`` (in availability order) for every feed, batch time at ``speed`` times
    wall time, until ``until_s`` after ``go``."""

    feeds: tuple[Feed, ...]
    readings: tuple[Reading, ...]
    speed: float
    until_s: float
    synthetic: bool = False


@dataclass
class WriteLog:
    """Every write: node ``names[index]``, SourceTimestamp (us), wall time it returned (s) and
    its lateness on the schedule (s); the server's CPU seconds over ``span_s``."""

    names: list[str]
    index: NDArray[np.int32]
    source_us: NDArray[np.int64]
    wall: NDArray[np.float64]
    lag: NDArray[np.float64]
    cpu_s: float
    span_s: float


@dataclass
class Measured:
    """What one run recorded (wall times in s since the epoch); ``cpu``: this process's CPU
    seconds per wall second from ``go`` to ``end`` (1.0 = one core)."""

    log: WriteLog
    stored: list[tuple[list[Sample], float]]
    steps: dict[tuple[str, float], float]
    polls: list[float]
    cpu: float
    go: float
    end: float
    errors: list[str] = field(default_factory=list)
    bare: list[tuple[str, int, float]] = field(default_factory=list)


def asset_tags(asset: str, synthetic: bool) -> list[str]:
    """An asset's nodes: the virtual plant's 14 tags, then the synthetic ones."""
    names = [m.tag for m in default_tags(asset)]
    return names + ([f"{asset}.{s[0]}" for s in SYNTHETIC] if synthetic else [])


def with_synthetic(readings: Sequence[Reading]) -> list[Reading]:
    """The readings and a value of each synthetic tag at every online minute, in
    availability order."""
    minutes = sorted({t for tag, t, _, _ in readings if tag == f"{PLANT}.TT101.PV"})
    extra = [
        (f"{PLANT}.{suffix}", t, t, mean + amplitude * math.sin(7.0 * t + k))
        for t in minutes
        for k, (suffix, _, _, mean, amplitude) in enumerate(SYNTHETIC)
    ]
    return sorted([*readings, *extra], key=lambda r: r[2])


def schedule(plan: LoadPlan) -> tuple[list[str], list[Row]]:
    """Node names, and every write in due order."""
    readings = with_synthetic(plan.readings) if plan.synthetic else list(plan.readings)
    names: list[str] = []
    rows: list[Row] = []
    for feed in plan.feeds:
        tags = asset_tags(feed.asset, plan.synthetic)
        index = {name: len(names) + k for k, name in enumerate(tags)}
        names.extend(tags)
        for tag, time_h, available_h, value in readings:
            due = feed.offset_s + available_h * 3600.0 / plan.speed
            if due > plan.until_s:
                break
            source, server = (feed.start_us + round(h * 3.6e9) for h in (time_h, available_h))
            rows.append(
                (max(due, 0.0), index[feed.asset + tag[len(PLANT) :]], source, server, value)
            )
    rows.sort(key=lambda row: row[0])  # stable: each asset's own order is kept
    return names, rows


def serve(plan: LoadPlan, conn: Connection) -> None:
    """Process entry point: serve ``plan`` (see the module docstring)."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_serve(plan, conn))


async def _serve(plan: LoadPlan, conn: Connection) -> None:
    names, rows = schedule(plan)
    server = Server()
    await server.init()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"opc.tcp://127.0.0.1:{port}/pharmatwin-bench/"
    server.set_endpoint(url)
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace(VIRTUAL_PLANT_NAMESPACE)
    waiting = ua.DataValue(StatusCode=status(StatusCodes.BadWaitingForInitialData))
    node_ids = []
    for feed in plan.feeds:
        folder = await server.nodes.objects.add_folder(
            string_id(f"{feed.asset}.folder", ns), ua.QualifiedName(feed.asset, ns)
        )
        for name in asset_tags(feed.asset, plan.synthetic):
            node = await folder.add_variable(
                string_id(name, ns), ua.QualifiedName(name, ns), 0.0, ua.VariantType.Double
            )
            await server.write_attribute_value(node.nodeid, waiting)
            node_ids.append(node.nodeid)
    await server.start()
    try:
        conn.send(("ready", url))
        message = await _receive(conn)
        if message is not None and message[0] == "go":
            log = await _write(server, names, node_ids, rows, go=float(message[1]), conn=conn)
            if await _receive(conn) is not None:
                conn.send(("log", log))
    finally:
        await server.stop()


async def _receive(conn: Connection) -> tuple[Any, ...] | None:
    """The parent's next message, without blocking the event loop; None after a deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if conn.poll():
            message: tuple[Any, ...] = conn.recv()
            return message
        await asyncio.sleep(0.02)
    return None


async def _write(
    server: Server, names: list[str], node_ids: list[Any], rows: list[Row], *, go: float, conn: Any
) -> WriteLog:
    """Write every row when it comes due (or stop early at the parent's word)."""
    index, source, wall, lag = [], [], [], []
    await asyncio.sleep(max(go - time.time(), 0.0))
    cpu0, i = time.process_time(), 0
    while i < len(rows) and not conn.poll():
        now = time.time() - go
        if rows[i][0] > now:
            await asyncio.sleep(min(rows[i][0] - now, 0.01))
            continue
        for _ in range(WRITES_PER_YIELD):
            due, node, source_us, server_us, value = rows[i]
            data = data_value(value, from_us(source_us), from_us(server_us))
            await server.write_attribute_value(node_ids[node], data)
            written = time.time()
            index.append(node)
            source.append(source_us)
            wall.append(written)
            lag.append(written - go - due)
            i += 1
            if i == len(rows) or rows[i][0] > written - go:
                break
        await asyncio.sleep(0)  # let the subscriptions publish
    return WriteLog(
        names,
        np.array(index, dtype=np.int32),
        np.array(source, dtype=np.int64),
        np.array(wall, dtype=np.float64),
        np.array(lag, dtype=np.float64),
        time.process_time() - cpu0,
        time.time() - go,
    )


class BareSubscriber:
    """A raw asyncua subscription (publishing every 100 ms, the connector's items) recording
    when each value arrives: the ingest baseline, without connector and historian."""

    def __init__(self, url: str, names: list[str]) -> None:
        self.url, self.names = url, names
        self.received: list[tuple[str, int, float]] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main(ready)), daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise TimeoutError(f"bare subscriber not subscribed within {timeout_s:g} s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10.0)

    async def _main(self, ready: threading.Event) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        client = Client(self.url, timeout=4)
        await client.connect()
        try:
            ns = await client.get_namespace_index(VIRTUAL_PLANT_NAMESPACE)
            nodes = {k + 1: string_id(name, ns) for k, name in enumerate(self.names)}
            subscription = await client.create_subscription(100.0, self)
            await subscription.create_monitored_items(monitored_items(nodes))
            ready.set()
            await self._stop.wait()
        finally:
            await client.disconnect()

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        value = data.monitored_item.Value
        stamp = value.SourceTimestamp
        if value.Value is None or value.Value.Value is None or stamp is None:
            return
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        name = self.names[data.monitored_item.ClientHandle - 1]
        self.received.append((name, to_us(stamp), time.time()))


class TimingSink(MappedSink):
    """The connector's sink, noting when each write was committed."""

    def __init__(self, mapped: MappedSink) -> None:
        super().__init__(mapped.sink, mapped.tagmap)
        self.stored: list[tuple[list[Sample], float]] = []

    def write(
        self, samples: list[Sample], units: Callable[[str], str | None] | None = None
    ) -> WriteResult:
        result = super().write(samples, units)
        self.stored.append((samples, time.time()))
        return result


def run_phase(
    plan: LoadPlan, assets: Sequence[Asset], db: Path, *, poll_s: float, bare: bool, tail_s: float
) -> Measured:
    """Serve ``plan`` and keep ``assets`` live on it until ``tail_s`` after it ends."""
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(plan, child), name="bench-live-server")
    server.daemon = True
    server.start()
    child.close()  # the server's end: if it dies, our end reads EOF at once
    runtime: runner.Runtime | None = None
    subscriber: BareSubscriber | None = None
    try:
        url = _expect(parent, "ready", 180.0)[1]
        entries = [
            AssetEntry(asset=a, source="plant", batch=BatchConfig(start_utc=START_UTC))
            for a in assets
        ]
        source = SourceConfig(name="plant", kind="opcua", url=url)
        runtime = runner.Runtime(PlantConfig(sources=[source], assets=entries), f"sqlite:///{db}")
        sinks: list[TimingSink] = []
        original = runner.build_connector

        def build(source: SourceConfig, sink: MappedSink, items: list[str], since: Any) -> Any:
            sinks.append(TimingSink(sink))
            return original(source, sinks[-1], items, since)

        with mock.patch.object(runner, "build_connector", build):
            runtime.start()
        connector = runtime.connectors["plant"]
        nodes = sum(len(a.tag_map(PREFIX)) for a in assets)
        if not isinstance(connector, OpcUaSource) or not runner.wait_until(
            lambda: connector.stats.received >= nodes, 180.0, 0.1
        ):
            raise TimeoutError(f"the runtime did not subscribe to {nodes} nodes within 180 s")
        if bare:
            subscriber = BareSubscriber(url, [m.tag for a in assets for m in a.tag_map()])
            subscriber.start()
        go = time.time() + 0.5
        parent.send(("go", go))
        end = go + plan.until_s + tail_s
        steps, polls, errors, cpu = poll_until(runtime, go, end, poll_s)
        runtime.stop()
        if subscriber is not None:
            subscriber.stop()
        parent.send(("stop",))
        log: WriteLog = _expect(parent, "log", 120.0)[1]
        stored = [item for sink in sinks for item in sink.stored]
        received = list(subscriber.received) if subscriber is not None else []
        return Measured(log, stored, steps, polls, cpu, go, end, errors, received)
    finally:
        if subscriber is not None:
            subscriber.stop()
        if runtime is not None:
            runtime.stop()
        server.join(20.0)
        for end_it in (server.terminate, server.kill):
            if server.is_alive():
                end_it()
                server.join(10.0)
        parent.close()


def _expect(conn: Connection, kind: str, timeout_s: float) -> tuple[Any, ...]:
    if not conn.poll(timeout_s):
        raise TimeoutError(f"the load server sent no {kind!r} within {timeout_s:g} s")
    try:
        message: tuple[Any, ...] = conn.recv()
    except EOFError:
        raise RuntimeError(f"the load server exited before sending {kind!r}") from None
    if message[0] != kind:
        raise RuntimeError(f"the load server sent {message!r} instead of {kind!r}")
    return message


def poll_until(
    runtime: runner.Runtime, go: float, end: float, poll_s: float
) -> tuple[dict[tuple[str, float], float], list[float], list[str], float]:
    """Poll every ``poll_s`` from ``go`` to ``end``: (twin, hour) -> when its poll returned,
    poll durations, errors, and CPU seconds per wall second."""
    steps: dict[tuple[str, float], float] = {}
    polls: list[float] = []
    errors: list[str] = []
    time.sleep(max(go - time.time(), 0.0))
    cpu0, wall0 = time.process_time(), time.time()
    while (began := time.time()) < end:
        report = runtime.poll()
        done = time.time()
        polls.append(done - began)
        errors += report.errors
        for name, results in report.steps.items():
            for result in results:
                steps[(name, result.hour)] = done
        time.sleep(max(poll_s - (done - began), 0.0))
    return steps, polls, errors, (time.process_time() - cpu0) / (time.time() - wall0)
