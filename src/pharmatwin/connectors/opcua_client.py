"""OPC UA client connector: subscribe to a server's variables and store them in a SampleSink.

Subscriptions and monitored items follow OPC UA Part 4 §5.13-5.14: a data change filter with
trigger StatusValueTimestamp (a repeated value with a new timestamp is a new sample) and a queue
per item (values between two publishes are kept). The gap a lost connection leaves is read back
with HistoryRead raw (Part 4 §5.10.3, Part 11 §6.4.3) when the node's AccessLevel has HistoryRead,
and is otherwise recorded as a ``connector_gap`` event. All times are the server's (the plant's
clock, possibly virtual); this machine's clock is only used when the server has shown none.

The sink is only called from the connector's event-loop thread. When it raises (busy, full),
what was not written stays in memory and is retried with backoff; it is never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from pharmatwin.connectors.opcua_nodes import (
    NodeRefError,
    NoHistoryError,
    OpcUaConfigError,
    check_since,
    monitored_items,
    no_data_yet,
    parse_nodes,
    read_history,
    resolve_node,
    server_clock,
    status_name,
    to_record,
)
from pharmatwin.historian.records import Event, EventKind, Quarantined, Sample, SampleSink

if TYPE_CHECKING:
    from asyncua.common.node import Node
    from asyncua.common.subscription import DataChangeNotif

__all__ = ["OpcUaConfigError", "OpcUaSource", "SourceStats"]

_log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 5.0
REQUEST_TIMEOUT_S = 4.0
WATCHDOG_S = 1.0
"""Period of the session health probe (a read of ServerStatus), s."""
FLUSH_ON_STOP_S = 10.0
BATCH_SIZE = 500
_CONNECTION_ERRORS = (OSError, TimeoutError, ConnectionError, UaError)


@dataclass(frozen=True)
class SourceStats:
    """Counts of a connector since it was built.

    ``received``: data changes from the subscription; ``stored``/``duplicates``: as the sink
    reported; ``quarantined``: values the connector or the sink rejected; ``reconnects``:
    sessions re-established after a loss; ``backfilled``: samples read from server history;
    ``pending``: records waiting for the sink.
    """

    received: int
    stored: int
    duplicates: int
    quarantined: int
    reconnects: int
    backfilled: int
    pending: int


class _Outbox:
    """What waits for the sink, written in batches; on a sink error kept and retried."""

    def __init__(self, sink: SampleSink, flush_s: float) -> None:
        self.sink = sink
        self.flush_s = flush_s
        self.samples: list[Sample] = []
        self.quarantined: list[Quarantined] = []
        self.events: list[Event] = []
        self.counts = dict.fromkeys(
            ("received", "stored", "duplicates", "quarantined", "reconnects", "backfilled"), 0
        )
        self._full: asyncio.Event | None = None

    def add(self, record: Sample | Quarantined) -> None:
        if isinstance(record, Sample):
            self.samples.append(record)
            if len(self.samples) >= BATCH_SIZE and self._full is not None:
                self._full.set()
        else:
            self.quarantined.append(record)

    def pending(self) -> int:
        return len(self.samples) + len(self.quarantined) + len(self.events)

    def stats(self) -> SourceStats:
        return SourceStats(**self.counts, pending=self.pending())

    async def run(self, stop: asyncio.Event) -> None:
        """Write every flush period (or a full batch) until ``stop``, then flush (bounded)."""
        loop = asyncio.get_running_loop()
        self._full = asyncio.Event()
        delay, deadline = BACKOFF_FIRST_S, None
        while True:
            if stop.is_set():
                deadline = deadline or loop.time() + FLUSH_ON_STOP_S
                if not self.pending():
                    return
                if loop.time() > deadline:
                    _log.error("sink unavailable at stop: %d records not written", self.pending())
                    return
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.flush_s)
                self._full.clear()
            try:
                self._write()
                delay = BACKOFF_FIRST_S
            except Exception as exc:  # any sink failure: keep everything, retry later
                _log.warning(
                    "sink failed (%r): %d kept, retry in %.1f s", exc, self.pending(), delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    def _write(self) -> None:
        while self.events:
            self.sink.add_event(self.events[0])
            del self.events[0]
        if self.quarantined:
            batch = self.quarantined[:]
            self.sink.quarantine(batch)
            del self.quarantined[: len(batch)]
            self.counts["quarantined"] += len(batch)
        while self.samples:
            samples = self.samples[:BATCH_SIZE]
            result = self.sink.write(samples)
            del self.samples[: len(samples)]
            self.counts["stored"] += result.inserted
            self.counts["duplicates"] += result.duplicates
            self.counts["quarantined"] += result.quarantined


@dataclass
class _Session:
    """One connection: its client, nodes, monitored-item handles and backfill tasks."""

    client: Client
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    nodes: dict[str, Node] = field(default_factory=dict)
    tags: dict[int, str] = field(default_factory=dict)
    backfilling: set[str] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    error: str = ""


class _Handler:
    """Subscription callbacks; asyncua calls them in the connector's event loop."""

    def __init__(self, source: OpcUaSource, session: _Session) -> None:
        self._source = source
        self._session = session

    def datachange_notification(self, node: Node, val: Any, data: DataChangeNotif) -> None:
        tag = self._session.tags.get(data.monitored_item.ClientHandle)
        if tag is not None:
            self._source._receive(self._session, tag, data.monitored_item.Value)

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        if status.Status is not None and status.Status.is_bad():
            self._session.error = f"subscription status {status_name(status.Status)}"
            self._session.lost.set()


class OpcUaSource:
    """Subscribe to OPC UA variables and write what arrives into a sink, across reconnects.

    Args:
        url: server endpoint, ``opc.tcp://host:port[/path]``.
        nodes: node reference (``opcua_nodes`` syntax) -> historian tag.
        sink: where samples, quarantined values and events go.
        publishing_interval_ms: subscription publishing interval, ms; also the flush period.
        name: source name on quarantined values and events.
        since: tag -> latest source time already stored (e.g. the historian's), from which a
            restarted process backfills.
    """

    def __init__(
        self,
        url: str,
        nodes: dict[str, str],
        sink: SampleSink,
        publishing_interval_ms: float = 100,
        name: str = "opcua",
        *,
        since: dict[str, datetime] | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith("opc.tcp://"):
            raise OpcUaConfigError(f"url {url!r}: must start with 'opc.tcp://'")
        if not 0 < publishing_interval_ms <= 3_600_000:
            raise OpcUaConfigError(
                f"publishing_interval_ms {publishing_interval_ms}: must be in (0, 3600000]"
            )
        if not name:
            raise OpcUaConfigError("name: must not be empty")
        self._refs = parse_nodes(nodes)
        self._last = check_since(since or {}, set(self._refs))
        self.url = url
        self.name = name
        self.publishing_interval_ms = float(publishing_interval_ms)
        self._outbox = _Outbox(sink, self.publishing_interval_ms / 1000)
        self._pending: dict[str, datetime] = dict(self._last)
        self._data_time: datetime | None = None
        self._server_time: datetime | None = None
        self._sessions = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def stats(self) -> SourceStats:
        """Counts so far (see ``SourceStats``)."""
        return self._outbox.stats()

    @property
    def last_times(self) -> dict[str, datetime]:
        """Tag -> latest source time received: the ``since`` of a later run."""
        return dict(self._last)

    # -- synchronous use: a background thread with its own event loop -------------------------

    def start(self) -> None:
        """Run the connector in a background thread until ``stop()``."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError(f"connector {self.name!r} is already running")
        ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name=f"opcua-{self.name}", daemon=True
        )
        self._thread.start()
        ready.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the background thread: flush what is pending, disconnect, join."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"connector {self.name!r} did not stop within {timeout} s")
        self._thread = None
        if self._error is not None:
            raise RuntimeError(f"connector {self.name!r} failed: {self._error!r}") from self._error

    def _thread_main(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            ready.set()
            await self.run(self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by stop()
            _log.exception("connector %s failed", self.name)
            self._error = exc
        finally:
            ready.set()

    # -- the connector ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, subscribe, reconnect with backoff after a loss, until ``stop`` is set."""
        finished = asyncio.Event()
        writer = asyncio.create_task(self._outbox.run(finished))
        try:
            delay = BACKOFF_FIRST_S
            while not stop.is_set():
                sessions = self._sessions
                try:
                    await self._session(stop)
                except Exception as exc:  # unreachable server, refused session, lost connection
                    unexpected = not isinstance(exc, _CONNECTION_ERRORS)
                    _log.info("%s: %s: %r", self.name, self.url, exc, exc_info=unexpected)
                if stop.is_set():
                    break
                if self._sessions > sessions:  # it was up: retry soon
                    delay = BACKOFF_FIRST_S
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
        finally:
            finished.set()
            await writer

    async def _session(self, stop: asyncio.Event) -> None:
        """One connection, until it is lost (raises) or ``stop`` is set (returns)."""
        client = Client(self.url, timeout=REQUEST_TIMEOUT_S, watchdog_intervall=WATCHDOG_S)
        session = _Session(client)

        async def on_lost(exc: Exception) -> None:
            session.error = session.error or repr(exc)
            session.lost.set()

        client.connection_lost_callback = on_lost
        await client.connect()
        announced = False
        try:
            await self._resolve(session)
            self._state_event("reconnected" if self._sessions else "connected", session)
            announced = True
            self._sessions += 1
            for tag, time in self._last.items():
                self._pending.setdefault(tag, time)
            await self._subscribe(session)
            # counted once subscribed: from then on every change reaches the sink
            self._outbox.counts["reconnects"] = self._sessions - 1
            waits: list[asyncio.Task[Any]] = [
                asyncio.create_task(stop.wait()),
                asyncio.create_task(session.lost.wait()),
            ]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
            if not stop.is_set():
                raise ConnectionError(f"connection lost: {session.error}")
        finally:
            for task in list(session.tasks):
                task.cancel()
            await asyncio.gather(*session.tasks, return_exceptions=True)
            if announced and not stop.is_set():
                self._state_event("disconnected", session)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), REQUEST_TIMEOUT_S)

    async def _resolve(self, session: _Session) -> None:
        """Find every node (a node not found becomes an event) and read the server's clock."""
        self._server_time = await server_clock(session.client) or self._server_time
        for tag, ref in self._refs.items():
            try:
                node = await resolve_node(session.client, ref)
            except (NodeRefError, UaStatusCodeError) as exc:
                message = str(exc) if isinstance(exc, NodeRefError) else f"{ref.text!r}: {exc}"
                self._outbox.events.append(self._event("connector_state", tag, message))
                continue
            session.nodes[tag] = node
            session.tags[len(session.tags) + 1] = tag

    async def _subscribe(self, session: _Session) -> None:
        """One subscription; one monitored item per node (client handle -> tag)."""
        subscription = await session.client.create_subscription(
            self.publishing_interval_ms, _Handler(self, session)
        )
        handles = {handle: session.nodes[tag].nodeid for handle, tag in session.tags.items()}
        results = await subscription.create_monitored_items(monitored_items(handles))
        for handle, result in zip(handles, results, strict=True):
            if isinstance(result, ua.StatusCode):
                tag = session.tags.pop(handle)
                message = f"tag {tag!r} not subscribed: {status_name(result)}"
                self._outbox.events.append(self._event("connector_state", tag, message))

    def _receive(self, session: _Session, tag: str, value: ua.DataValue) -> None:
        """A data change: queue it; the tag's first one after a reconnect starts its backfill."""
        self._outbox.counts["received"] += 1
        if no_data_yet(value):
            return  # the server's placeholder before a variable's first value: not a reading
        record = to_record(tag, value, self.name)
        self._outbox.add(record)
        time = record.time
        if time is None:
            return
        for seen in (time, record.available if isinstance(record, Sample) else None):
            if seen is not None and (self._data_time is None or seen > self._data_time):
                self._data_time = seen
        if tag not in self._last or time > self._last[tag]:
            self._last[tag] = time
        start = self._pending.get(tag)
        if start is None or tag in session.backfilling:
            return
        if time <= start:  # the server's current value is one already stored: no gap
            del self._pending[tag]
            return
        session.backfilling.add(tag)
        task = asyncio.create_task(self._backfill(session, tag, start, time))
        session.tasks.add(task)
        task.add_done_callback(session.tasks.discard)

    async def _backfill(self, session: _Session, tag: str, start: datetime, end: datetime) -> None:
        """Read the tag's history strictly between ``start`` and ``end``, or record the gap."""
        try:
            values = await read_history(session.nodes[tag], start, end)
        except NoHistoryError as exc:
            self._gap(tag, start, end, str(exc))
        except _CONNECTION_ERRORS as exc:
            _log.info("%s: backfill of %s interrupted (%r); retried later", self.name, tag, exc)
            return
        else:
            records = [to_record(tag, value, self.name) for value in values]
            inside = [r for r in records if r.time is not None and start < r.time < end]
            for record in inside:
                self._outbox.add(record)
            self._outbox.counts["backfilled"] += sum(isinstance(r, Sample) for r in inside)
        finally:
            session.backfilling.discard(tag)
        self._pending.pop(tag, None)

    # -- events -------------------------------------------------------------------------------

    def _event(self, kind: EventKind, subject: str, message: str, **data: Any) -> Event:
        """An event at the server's time (the latest of its data and its clock), else ours."""
        known = [t for t in (self._data_time, self._server_time) if t is not None]
        time = data.pop("time", None) or (max(known) if known else datetime.now(UTC))
        data = {"url": self.url, **data}
        return Event(kind, self.name, time, subject, message, data=data)

    def _state_event(self, state: str, session: _Session) -> None:
        message = f"{state} {self.url}" + (f": {session.error}" if session.error else "")
        local = datetime.now(UTC).isoformat()
        self._outbox.events.append(
            self._event("connector_state", state, message, state=state, local_time=local)
        )

    def _gap(self, tag: str, start: datetime, end: datetime, reason: str) -> None:
        """A ``connector_gap`` event at the start of the gap, subject the tag."""
        message = f"no data from {start.isoformat()} to {end.isoformat()}: {reason}"
        self._outbox.events.append(
            self._event(
                "connector_gap",
                tag,
                message,
                time=start,
                start=start.isoformat(),
                end=end.isoformat(),
            )
        )
