"""MQTT subscriber: plain JSON samples or Sparkplug B, into a ``SampleSink``, losing nothing.

How nothing is lost (MQTT 3.1.1, sections 4.3.2 and 4.4): the subscriber uses a persistent
session (``clean_session=False``) and QoS 1, and acknowledges a message only after the sink has
stored what it carried. paho's network thread (``loop_start``, automatic reconnect) only
queues each message (a bounded queue; when full, the network thread waits); one writer thread
takes up to ``batch_size`` queued messages, decodes them, writes samples, quarantine records
and events to the sink, and then sends the PUBACKs in the order the messages arrived. If the
sink raises (busy, full, down), the same batch is retried with exponential backoff (never
dropped, never acknowledged); the broker holds what is not acknowledged and sends it again
after a reconnect, and the broker's in-flight window (20 messages by default in Mosquitto)
stops the flow meanwhile. A message received on a connection that has since been lost is not
acknowledged (the broker redelivers it); storing it twice is harmless, since the sink stores
the same tag, time and value once.

Payload formats: ``"json"`` (see ``connectors.mqtt_json``) and ``"sparkplug"`` (Sparkplug B,
``connectors.sparkplug_host``: sequence checks, births, deaths, rebirth requests, which this
subscriber publishes as NCMD at QoS 0). Sparkplug sessions live in memory: after a restart of
this process, data from an edge node is quarantined until its next NBIRTH, which the host
requests.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pharmatwin.connectors.mqtt_base import new_client, parse_mqtt_url
from pharmatwin.connectors.mqtt_json import JsonTagMapping, parse_json_samples
from pharmatwin.connectors.sparkplug import TagMapping
from pharmatwin.connectors.sparkplug_host import SparkplugHost
from pharmatwin.historian.records import Event, Quarantined, Sample, SampleSink

if TYPE_CHECKING:
    from paho.mqtt.client import Client, MQTTMessage

logger = logging.getLogger(__name__)
T = TypeVar("T")
PayloadFormat = Literal["json", "sparkplug"]


@dataclass(frozen=True)
class Subscription:
    """An MQTT topic filter and the payload format of the messages it brings."""

    topic: str
    format: PayloadFormat = "json"

    def __post_init__(self) -> None:
        if not self.topic:
            raise ValueError("subscription topic: empty")
        if self.format not in ("json", "sparkplug"):
            raise ValueError(f"subscription {self.topic}: format {self.format!r} (json|sparkplug)")


@dataclass(frozen=True)
class MqttStats:
    """Counts since ``start``: messages received; samples stored and already stored (same
    value); values quarantined (by this connector or, as conflicts, by the sink); events
    recorded; reconnections; sink writes that failed and were retried."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    events: int = 0
    reconnects: int = 0
    sink_retries: int = 0


@dataclass(frozen=True)
class _Inbound:
    generation: int
    topic: str
    payload: bytes
    mid: int
    qos: int
    received: datetime


class MqttSubscriber:
    """Subscribes to ``subscriptions`` on the broker at ``url`` as ``client_id`` and writes
    what arrives to ``sink``.

    ``json_tags`` / ``sparkplug_tags`` map incoming names to historian tags (default: the
    JSON tag as is; ``{device}.{metric}`` for Sparkplug). ``host`` lets a caller keep Sparkplug
    sessions across subscribers.
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        sink: SampleSink,
        subscriptions: Sequence[Subscription],
        *,
        qos: int = 1,
        clean_session: bool = False,
        json_tags: JsonTagMapping | None = None,
        sparkplug_tags: TagMapping | None = None,
        host: SparkplugHost | None = None,
        batch_size: int = 200,
        queue_size: int = 10_000,
        keepalive_s: int = 30,
        reconnect_max_s: int = 8,
        retry_max_s: float = 5.0,
    ) -> None:
        self._host_port = parse_mqtt_url(url)
        if not client_id:
            raise ValueError("client_id: required (the broker keeps the session under it)")
        if qos not in (0, 1):
            raise ValueError(f"qos: {qos}; 1 (at least once) or 0 are supported")
        if not subscriptions:
            raise ValueError("subscriptions: at least one topic filter is required")
        if batch_size < 1 or queue_size < 1:
            raise ValueError("batch_size and queue_size: must be at least 1")
        self.url = url
        self.client_id = client_id
        self.sink = sink
        self.subscriptions = tuple(subscriptions)
        self.qos = qos
        self.clean_session = clean_session
        self.json_tags = json_tags
        self.host = host if host is not None else SparkplugHost(sparkplug_tags, source="mqtt")
        self._batch_size = batch_size
        self._keepalive = keepalive_s
        self._reconnect_max = reconnect_max_s
        self._retry_max = retry_max_s
        self._queue: queue.Queue[_Inbound] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._stats = MqttStats()
        self._stats_lock = threading.Lock()
        self._generation = 0
        self._subscribe_mid = -1
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._formats: dict[str, PayloadFormat] = {}
        self._client: Client | None = None
        self._writer: threading.Thread | None = None

    # ------------------------------------------------------------ life cycle

    def start(self, timeout: float | None = 10.0) -> None:
        """Connect in the background; with ``timeout``, wait until subscribed (else stop and
        raise ``TimeoutError``)."""
        if self._client is not None:
            raise RuntimeError(f"MQTT subscriber {self.client_id}: already started")
        self._stopping.clear()
        client = new_client(self.client_id, self.clean_session, manual_ack=self.qos > 0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(1, self._reconnect_max)
        self._client = client
        self._writer = threading.Thread(
            target=self._write_loop, name=f"mqtt-writer-{self.client_id}", daemon=True
        )
        self._writer.start()
        client.connect_async(*self._host_port, keepalive=self._keepalive)
        client.loop_start()
        if timeout is not None and not self._ready.wait(timeout):
            self.stop(timeout=1.0)
            raise TimeoutError(f"MQTT {self.url}: not subscribed within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Store and acknowledge what has arrived (for up to ``timeout`` s), then disconnect.
        What is left unacknowledged stays with the broker for the next session."""
        client = self._client
        if client is None:
            return
        self.wait_idle(timeout)
        self._stopping.set()
        client.disconnect()
        client.loop_stop()
        if self._writer is not None:
            self._writer.join(timeout)
        while not self._queue.empty():  # unacknowledged: the broker sends them again
            self._queue.get_nowait()
        with self._lock:
            self._pending = 0
        self._client = None
        self._writer = None
        self._ready.clear()

    @property
    def stats(self) -> MqttStats:
        """A snapshot of the counts."""
        with self._stats_lock:
            return self._stats

    @property
    def connected(self) -> bool:
        """True while connected and subscribed."""
        return self._ready.is_set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every message received so far is handled; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # ------------------------------------------------------------ paho callbacks (network thread)

    def _on_connect(self, client: Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            logger.warning("MQTT %s: connection refused: %s", self.url, reason)
            return
        if self._generation > 0:
            self._count(reconnects=1)
        self._generation += 1
        logger.info("MQTT %s: connected as %s", self.url, self.client_id)
        rc, mid = client.subscribe([(s.topic, self.qos) for s in self.subscriptions])
        if mid is None:
            logger.warning("MQTT %s: subscribe failed (%s); retrying on reconnect", self.url, rc)
        self._subscribe_mid = -1 if mid is None else mid

    def _on_subscribe(self, _c: Client, _u: Any, mid: int, codes: list[Any], _p: Any) -> None:
        failed = [str(c) for c in codes if c.is_failure]
        if failed:
            logger.error("MQTT %s: subscription refused: %s", self.url, ", ".join(failed))
        elif mid == self._subscribe_mid:
            self._ready.set()

    def _on_disconnect(self, _c: Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._ready.clear()
        if not self._stopping.is_set():
            logger.warning("MQTT %s: disconnected (%s); reconnecting", self.url, reason)

    def _on_message(self, _c: Client, _u: Any, message: MQTTMessage) -> None:
        item = _Inbound(
            self._generation,
            message.topic,
            bytes(message.payload),
            message.mid,
            message.qos,
            datetime.now(UTC),
        )
        with self._lock:
            self._pending += 1
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    # ------------------------------------------------------------ writer thread

    def _write_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = [self._queue.get(timeout=0.2)]
            except queue.Empty:
                continue
            while len(batch) < self._batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._process(batch)
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()

    def _process(self, batch: list[_Inbound]) -> None:
        samples: list[Sample] = []
        rejected: list[Quarantined] = []
        events: list[Event] = []
        commands: list[tuple[str, bytes]] = []
        for item in batch:
            if self._format(item.topic) == "json":
                got, bad = parse_json_samples(
                    item.payload, f"mqtt:{item.topic}", self.json_tags, item.received
                )
                samples += got
                rejected += bad
            else:
                outcome = self.host.handle(item.topic, item.payload, item.received)
                samples += outcome.samples
                rejected += outcome.quarantined
                events += outcome.events
                commands += outcome.commands
                for note in outcome.ignored:
                    logger.info("MQTT %s: %s", self.url, note)
        self._count(received=len(batch))
        if samples:
            done, result = self._retry("write", partial(self.sink.write, samples))
            if not done or result is None:
                return
            self._count(
                stored=result.inserted,
                duplicates=result.duplicates,
                quarantined=result.quarantined,
            )
        if rejected:
            if not self._retry("quarantine", partial(self.sink.quarantine, rejected))[0]:
                return
            self._count(quarantined=len(rejected))
        for event in events:
            if not self._retry("add_event", partial(self.sink.add_event, event))[0]:
                return
            self._count(events=1)
        self._acknowledge(batch)
        for topic, payload in commands:
            if self._client is not None:
                self._client.publish(topic, payload, qos=0)

    def _acknowledge(self, batch: list[_Inbound]) -> None:
        client = self._client
        if client is None:
            return
        for item in batch:
            if item.qos > 0 and item.generation == self._generation:
                client.ack(item.mid, item.qos)

    def _retry(self, what: str, action: Callable[[], T]) -> tuple[bool, T | None]:
        """(True, ``action()``), retried with exponential backoff while it raises; (False,
        None) when the subscriber stops first."""
        delay = 0.05
        while True:
            try:
                return True, action()
            except Exception as exc:  # the sink is busy or down: keep the data, try again
                self._count(sink_retries=1)
                logger.warning("MQTT %s: sink.%s failed (%s); retrying", self.url, what, exc)
                if self._stopping.wait(delay):
                    return False, None
                delay = min(2 * delay, self._retry_max)

    def _format(self, topic: str) -> PayloadFormat:
        known = self._formats.get(topic)
        if known is not None:
            return known
        from paho.mqtt.client import topic_matches_sub

        found: PayloadFormat = next(
            (s.format for s in self.subscriptions if topic_matches_sub(s.topic, topic)), "json"
        )
        if len(self._formats) < 10_000:
            self._formats[topic] = found
        return found

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            values = {k: getattr(self._stats, k) + v for k, v in increments.items()}
            self._stats = replace(self._stats, **values)
