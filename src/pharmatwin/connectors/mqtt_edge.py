"""A Sparkplug B edge node that publishes a plant's measurements (used by the virtual plant).

Behaviour (Sparkplug 3.0.0, sections 5 and 6.4): each MQTT connection is a session with its
own ``bdSeq`` (0-255, one more at each new connection), carried by the NDEATH will and the
NBIRTH; the node subscribes to its NCMD topic, publishes NBIRTH (``bdSeq``, ``Node
Control/Rebirth``) and a DBIRTH per live device (each metric: name, alias, datatype Double,
property ``engUnit``, last value), then DDATA with aliases only, ``seq`` 0-255 wrapping over
all messages after the NBIRTH. An NCMD ``Node Control/Rebirth`` = true is answered by
publishing the births again. ``stop`` publishes the NDEATH and disconnects.

Deliberate departures, so that nothing is lost across a broker restart: every message is
published at QoS 1 (Sparkplug asks for QoS 0 for births and data), and data published while
the broker is away, or published and not acknowledged when the connection dropped, is kept and
sent again in the next session as historical metrics (``is_historical``) with that session's
``seq`` — the "store and forward" of section 5. A value resent after a lost acknowledgement
may reach the host twice; the historian stores the same tag, time and value once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pharmatwin.connectors.mqtt_base import new_client, parse_mqtt_url
from pharmatwin.connectors.mqtt_publish import JsonPublisher
from pharmatwin.connectors.sparkplug import BDSEQ, REBIRTH, MessageType, Topic, to_ms
from pharmatwin.connectors.sparkplug_proto import (
    DataType,
    Metric,
    Payload,
    SparkplugDecodeError,
    decode_payload,
    encode_payload,
    scalar_metric,
)

if TYPE_CHECKING:
    from paho.mqtt.client import Client, MQTTMessage

__all__ = ["JsonPublisher", "SparkplugEdgeNode"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Record:
    """One DDATA's worth of values: (alias, ms, value) per metric."""

    order: int
    device_id: str
    values: tuple[tuple[int, int, float], ...]
    sent_ms: int | None = None


@dataclass
class _Session:
    generation: int
    bd_seq: int
    client: Client
    online: bool = False
    sent: dict[int, _Record | None] = field(default_factory=dict)
    """Messages published and not yet acknowledged, by MQTT message id (None: not data)."""
    early_acks: set[int] = field(default_factory=set)


class SparkplugEdgeNode:
    """Edge node ``edge_node_id`` of ``group_id`` with ``devices``: device id -> [(metric
    name, engineering unit)]. Thread-safe."""

    def __init__(
        self,
        url: str,
        group_id: str,
        edge_node_id: str,
        devices: Mapping[str, Sequence[tuple[str, str]]],
        *,
        client_id: str | None = None,
        bd_seq: int = 0,
        keepalive_s: int = 30,
        reconnect_max_s: int = 4,
    ) -> None:
        self._host_port = parse_mqtt_url(url)
        self.url = url
        self.group_id = group_id
        self.edge_node_id = edge_node_id
        self.client_id = client_id or f"spb-{group_id}-{edge_node_id}"
        Topic(group_id, MessageType.NBIRTH, edge_node_id)  # validates the ids
        self._units: dict[tuple[str, str], str] = {}
        self._aliases: dict[tuple[str, str], int] = {}
        for device_id, metrics in devices.items():
            Topic(group_id, MessageType.DBIRTH, edge_node_id, device_id)
            for name, unit in metrics:
                if (device_id, name) in self._units:
                    raise ValueError(f"device {device_id}: metric {name!r} declared twice")
                self._units[device_id, name] = unit
                self._aliases[device_id, name] = 2 + len(self._aliases)  # 0, 1: node metrics
        self.devices = {d: tuple(m) for d, m in devices.items()}
        self._next_bd_seq = bd_seq % 256
        self._bd_seq = self._next_bd_seq
        self._keepalive = keepalive_s
        self._reconnect_max = reconnect_max_s
        self._lock = threading.RLock()
        self._ack_lock = threading.Lock()
        self._seq = 0
        self._order = 0
        self._last: dict[tuple[str, str], tuple[int, float]] = {}
        self._dead: set[str] = set()
        self._backlog: deque[_Record] = deque()
        self._session: _Session | None = None
        self._generation = 0
        self._events: queue.Queue[tuple[str, int]] = queue.Queue()
        self._supervisor: threading.Thread | None = None
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self.births = 0
        """NBIRTHs published (one per session, plus one per answered rebirth request)."""

    # ------------------------------------------------------------ public API

    @property
    def bd_seq(self) -> int:
        """The bdSeq of the current (or last) session."""
        with self._lock:
            return self._bd_seq

    @property
    def seq(self) -> int:
        """The ``seq`` the next message of this session will carry."""
        with self._lock:
            return self._seq

    @property
    def online(self) -> bool:
        """True while connected and born."""
        return self._connected.is_set()

    def start(self, timeout: float | None = 10.0) -> None:
        """Connect in the background; with ``timeout``, wait until born (else ``TimeoutError``)."""
        if self._supervisor is not None:
            raise RuntimeError(f"edge node {self.edge_node_id}: already started")
        self._stopping.clear()
        while not self._events.empty():  # left over from an earlier run
            self._events.get_nowait()
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"spb-edge-{self.edge_node_id}", daemon=True
        )
        self._supervisor.start()
        with self._lock:
            self._new_session()
        if timeout is not None and not self._connected.wait(timeout):
            self.stop(timeout=1.0)
            raise TimeoutError(f"MQTT {self.url}: edge node not born within {timeout} s")

    def publish(
        self,
        device_id: str,
        values: Sequence[tuple[str, datetime, float]],
        sent_at: datetime | None = None,
    ) -> None:
        """Send one DDATA with ``values``: (metric name, time, value in the metric's unit).

        ``sent_at`` is the payload timestamp, on the edge node's clock (default: this machine's
        clock). A virtual plant in accelerated time passes its own clock; a laboratory result
        sent when it became available, hours after its sample time, carries both (the host
        stores the payload time as the sample's availability)."""
        if device_id not in self.devices:
            raise ValueError(f"device {device_id!r}: not declared ({', '.join(self.devices)})")
        triples = []
        for name, when, value in values:
            alias = self._aliases.get((device_id, name))
            if alias is None:
                raise ValueError(f"device {device_id}: metric {name!r} is not declared")
            triples.append((alias, to_ms(when), float(value)))
        with self._lock:
            for (name, _, _), (_, ms, value) in zip(values, triples, strict=True):
                self._last[device_id, name] = (ms, value)
            self._order += 1
            sent_ms = None if sent_at is None else to_ms(sent_at)
            record = _Record(self._order, device_id, tuple(triples), sent_ms)
            session = self._session
            if session is None or not session.online:
                self._backlog.append(record)
                return
            if device_id in self._dead:
                self._dead.discard(device_id)
                self._send_dbirth(session, device_id)
            self._send_ddata(session, record, historical=False)

    def death(self, device_id: str) -> None:
        """Publish a DDEATH for ``device_id``; its next ``publish`` sends a DBIRTH first."""
        if device_id not in self.devices:
            raise ValueError(f"device {device_id!r}: not declared")
        with self._lock:
            self._dead.add(device_id)
            session = self._session
            if session is not None and session.online:
                payload = Payload(timestamp=_now_ms(), seq=self._next_seq())
                self._publish(session, MessageType.DDEATH, device_id, payload)

    def flush(self, timeout: float) -> bool:
        """Wait until every value published so far is acknowledged by the broker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock, self._ack_lock:
                session = self._session
                if not self._backlog and (session is None or not session.sent):
                    return True
            time.sleep(0.02)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        """Flush (up to ``timeout`` s), publish the NDEATH, disconnect. Values still not
        acknowledged then (the broker is away) are dropped with a logged warning."""
        if self._supervisor is None:
            return
        if not self.flush(timeout):
            logger.warning("edge node %s: stopping with values not delivered", self.edge_node_id)
        self._stopping.set()
        self._events.put(("stop", 0))
        self._supervisor.join(timeout)
        self._supervisor = None
        with self._lock:
            session = self._session
            self._session = None
            self._connected.clear()
        if session is None:
            return
        if session.online:
            session.online = False
            info = session.client.publish(
                self._topic(MessageType.NDEATH), self._death_payload(session.bd_seq), qos=1
            )
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                logger.warning("edge node %s: NDEATH not sent", self.edge_node_id)
        session.client.disconnect()
        session.client.loop_stop()

    # ------------------------------------------------------------ sessions

    def _new_session(self) -> None:
        """A new client (so nothing of the old session is resent with its old seq)."""
        bd_seq = self._bd_seq = self._next_bd_seq
        self._next_bd_seq = (bd_seq + 1) % 256
        self._generation += 1
        generation = self._generation
        client = new_client(self.client_id, clean_session=True, reconnect_on_failure=False)
        session = _Session(generation, bd_seq, client)
        client.will_set(self._topic(MessageType.NDEATH), self._death_payload(bd_seq), qos=1)
        client.on_connect = lambda c, _u, _f, reason, _p: self._on_connect(session, c, reason)
        client.on_disconnect = lambda _c, _u, _f, _r, _p: self._events.put(
            ("disconnected", generation)
        )
        client.on_publish = lambda _c, _u, mid, _r, _p: self._on_publish(session, mid)
        client.on_message = lambda _c, _u, message: self._on_message(session, message)
        self._session = session
        self._events.put(("connect", generation))

    def _connect(self, generation: int) -> None:
        """Connect the session's client, retrying with backoff while the broker is away."""
        with self._lock:
            session = self._session
        if session is None or session.generation != generation:
            return
        delay = 0.25
        while not self._stopping.is_set():
            try:
                session.client.connect(*self._host_port, keepalive=self._keepalive)
            except OSError as exc:
                logger.info("edge node %s: broker unreachable (%s)", self.edge_node_id, exc)
                self._stopping.wait(delay)
                delay = min(2 * delay, self._reconnect_max)
                continue
            session.client.loop_start()
            return

    def _supervise(self) -> None:
        """Births, rebirths and new sessions happen here, outside paho's callbacks."""
        while True:
            kind, generation = self._events.get()
            if kind == "stop" or self._stopping.is_set():
                return
            if kind == "connect":
                self._connect(generation)
                continue
            with self._lock:
                session = self._session
                if session is None or session.generation != generation:
                    continue
                if kind == "connected":
                    self._births(session)
                    session.online = True
                    self._connected.set()
                    while self._backlog:
                        self._send_ddata(session, self._backlog.popleft(), historical=True)
                elif kind == "rebirth" and session.online:
                    self._births(session)
                elif kind == "disconnected":
                    self._replace(session)

    def _replace(self, session: _Session) -> None:
        session.online = False
        self._connected.clear()
        session.client.loop_stop()  # no more callbacks from this session
        with self._ack_lock:
            unacked = [r for r in session.sent.values() if r is not None]
        self._backlog = deque(sorted([*unacked, *self._backlog], key=lambda r: r.order))
        logger.warning(
            "edge node %s: connection lost; %d value message(s) kept for the next session",
            self.edge_node_id,
            len(self._backlog),
        )
        self._new_session()

    # ------------------------------------------------------------ paho callbacks

    def _on_connect(self, session: _Session, client: Client, reason: Any) -> None:
        if reason.is_failure:
            logger.warning("edge node %s: connection refused: %s", self.edge_node_id, reason)
            return
        client.subscribe(self._topic(MessageType.NCMD), qos=1)
        self._events.put(("connected", session.generation))

    def _on_publish(self, session: _Session, mid: int) -> None:
        with self._ack_lock:
            if session.sent.pop(mid, None) is None:
                session.early_acks.add(mid)

    def _on_message(self, session: _Session, message: MQTTMessage) -> None:
        try:
            payload = decode_payload(bytes(message.payload))
        except SparkplugDecodeError as exc:
            logger.warning("edge node %s: unreadable NCMD: %s", self.edge_node_id, exc)
            return
        if any(m.name == REBIRTH and m.boolean_value for m in payload.metrics):
            self._events.put(("rebirth", session.generation))

    # ------------------------------------------------------------ messages (under _lock)

    def _topic(self, kind: MessageType, device_id: str | None = None) -> str:
        return Topic(self.group_id, kind, self.edge_node_id, device_id).text

    def _death_payload(self, bd_seq: int) -> bytes:
        metric = scalar_metric(BDSEQ, DataType.Int64, bd_seq, alias=0)
        return encode_payload(Payload(timestamp=_now_ms(), metrics=(metric,)))

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) % 256
        return seq

    def _births(self, session: _Session) -> None:
        self._seq = 0
        node_metrics = (
            scalar_metric(BDSEQ, DataType.Int64, session.bd_seq, alias=0),
            scalar_metric(REBIRTH, DataType.Boolean, False, alias=1),
        )
        payload = Payload(timestamp=_now_ms(), metrics=node_metrics, seq=self._next_seq())
        self._publish(session, MessageType.NBIRTH, None, payload)
        self.births += 1
        for device_id in self.devices:
            if device_id not in self._dead:
                self._send_dbirth(session, device_id)

    def _send_dbirth(self, session: _Session, device_id: str) -> None:
        metrics = []
        for name, unit in self.devices[device_id]:
            last = self._last.get((device_id, name))
            metrics.append(
                scalar_metric(
                    name,
                    DataType.Double,
                    last[1] if last else None,
                    alias=self._aliases[device_id, name],
                    timestamp=last[0] if last else None,
                    properties=(("engUnit", unit),),
                )
            )
        payload = Payload(timestamp=_now_ms(), metrics=tuple(metrics), seq=self._next_seq())
        self._publish(session, MessageType.DBIRTH, device_id, payload)

    def _send_ddata(self, session: _Session, record: _Record, historical: bool) -> None:
        metrics = tuple(
            Metric(alias=alias, timestamp=ms, double_value=value, is_historical=historical)
            for alias, ms, value in record.values
        )
        sent = record.sent_ms if record.sent_ms is not None else _now_ms()
        payload = Payload(timestamp=sent, metrics=metrics, seq=self._next_seq())
        self._publish(session, MessageType.DDATA, record.device_id, payload, record)

    def _publish(
        self,
        session: _Session,
        kind: MessageType,
        device_id: str | None,
        payload: Payload,
        record: _Record | None = None,
    ) -> None:
        info = session.client.publish(self._topic(kind, device_id), encode_payload(payload), qos=1)
        with self._ack_lock:
            if info.mid in session.early_acks:
                session.early_acks.discard(info.mid)
            else:
                session.sent[info.mid] = record


def _now_ms() -> int:
    return to_ms(datetime.now(UTC))
