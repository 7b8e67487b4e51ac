"""Edge node sessions as a Sparkplug B host application tracks them, turned into samples.

Follows the host application rules of Sparkplug 3.0.0 (sections 5 "Operational Behavior" and
6.4 "Payloads"):

* An NBIRTH opens a session: its ``bdSeq`` metric names the session, its ``seq`` (0-255) starts
  the message sequence, its metrics (name + alias + datatype) are the node's metrics. It drops
  the devices of the previous session (they must be born again).
* Every later NDATA/DBIRTH/DDATA/DDEATH of the session carries ``seq = previous + 1 mod 256``.
  A ``seq`` at or up to 127 behind the last one (serial number arithmetic, RFC 1982) is a
  repeat: its metrics are quarantined. A ``seq`` ahead means messages were lost: a
  ``connector_gap`` event is recorded, the data is used (its aliases are still valid) and a
  rebirth is requested (NCMD ``Node Control/Rebirth`` = true).
* DBIRTH gives a device's metrics and aliases; DDATA may carry aliases only. Data from a node
  or device without a birth in the current session, or an unknown alias, is quarantined and a
  rebirth is requested.
* An NDEATH whose ``bdSeq`` is not the current session's is stale (an old will delivered late)
  and ignored, with a logged reason; otherwise it, like DDEATH, marks the node (and its devices)
  offline: a ``connector_state`` event (at the time received: an NDEATH sent by the broker as
  the will carries the time the node connected).

Metric times are ms since the Unix epoch; a metric without its own timestamp takes the
payload's. Rebirth requests for one node are sent at most once per ``rebirth_interval_s``
until its NBIRTH arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pharmatwin.connectors.sparkplug import (
    MessageType,
    MetricSource,
    TagMapping,
    TopicError,
    from_ms,
    is_control_metric,
    parse_topic,
    rebirth_request,
    resolve_tag,
)
from pharmatwin.connectors.sparkplug_proto import (
    NUMERIC,
    Metric,
    SparkplugDecodeError,
    decode_payload,
    metric_value,
)
from pharmatwin.connectors.sparkplug_session import (
    BirthMetrics,
    Message,
    NodeSession,
    Outcome,
    bd_seq_of,
    datatype_label,
    finite,
)
from pharmatwin.historian.records import QUALITY_GOOD, Event, Quarantined, Sample

__all__ = ["Outcome", "SparkplugHost"]

logger = logging.getLogger(__name__)


class SparkplugHost:
    """Sessions of the edge nodes heard so far; ``handle`` one MQTT message at a time (not
    thread-safe: feed it from one thread).

    ``tags`` maps a metric to a historian tag (``sparkplug.resolve_tag``; default
    ``{device}.{metric}``); ``source`` prefixes the quarantine and event sources.
    """

    def __init__(
        self,
        tags: TagMapping | None = None,
        source: str = "sparkplug",
        rebirth_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tags = tags
        self._source = source
        self._rebirth_interval = rebirth_interval_s
        self._clock = clock
        self._nodes: dict[tuple[str, str], NodeSession] = {}
        self._rebirth_asked: dict[tuple[str, str], float] = {}
        self._units: dict[str, str] = {}

    def is_online(self, group_id: str, edge_node_id: str, device_id: str | None = None) -> bool:
        """True while the node (and device) has a live birth."""
        node = self._nodes.get((group_id, edge_node_id))
        if node is None or not node.online:
            return False
        return device_id is None or (device_id in node.devices and node.devices[device_id].online)

    def unit(self, tag: str) -> str | None:
        """The engineering unit a birth declared for ``tag`` (metric property ``engUnit``)."""
        return self._units.get(tag)

    def handle(self, topic: str, data: bytes, received: datetime | None = None) -> Outcome:
        """Process one message received on ``topic``."""
        out = Outcome()
        now = received or datetime.now(UTC)
        try:
            parsed = parse_topic(topic)
        except TopicError as exc:
            out.quarantined.append(self._rejected(topic, str(exc), data.hex(), now))
            return out
        kind = parsed.message_type
        if kind in (MessageType.STATE, MessageType.NCMD, MessageType.DCMD):
            out.ignored.append(f"{topic}: {kind} carries no plant data")
            return out
        try:
            payload = decode_payload(data)
        except SparkplugDecodeError as exc:
            reason = f"{kind} payload is not Sparkplug B: {exc}"
            out.quarantined.append(self._rejected(topic, reason, data.hex(), now))
            return out
        message = Message(parsed, topic, payload, now)
        if kind == MessageType.NBIRTH:
            self._nbirth(message, out)
        elif kind == MessageType.NDEATH:
            self._ndeath(message, out)
        else:
            self._in_session(message, out)
        return out

    # ------------------------------------------------------------ node birth and death

    def _nbirth(self, m: Message, out: Outcome) -> None:
        bd_seq = bd_seq_of(m.payload)
        seq = m.payload.seq
        if bd_seq is None or seq is None or not 0 <= seq <= 255:
            problem = "no bdSeq metric" if bd_seq is None else f"seq {seq} not in 0..255"
            self._reject_all(m, out, f"NBIRTH with {problem}; rebirth requested")
            self._ask_rebirth(m, out)
            return
        node = NodeSession(bd_seq=bd_seq, seq=seq)
        self._nodes[m.topic.node] = node
        self._rebirth_asked.pop(m.topic.node, None)
        self._state_event(m, out, m.topic.source, f"online (NBIRTH, bdSeq {bd_seq})")
        self._birth(m, out, node.metrics)

    def _ndeath(self, m: Message, out: Outcome) -> None:
        bd_seq = bd_seq_of(m.payload)
        node = self._nodes.get(m.topic.node)
        if node is None or not node.online:
            out.ignored.append(f"{m.text}: NDEATH for an edge node that is not online")
            return
        if bd_seq != node.bd_seq:
            reason = (
                f"{m.text}: stale NDEATH ignored: bdSeq {bd_seq} is not the current "
                f"session's bdSeq {node.bd_seq}"
            )
            logger.warning(reason)
            out.ignored.append(reason)
            return
        node.online = False
        self._state_event(m, out, m.topic.source, f"offline (NDEATH, bdSeq {bd_seq})")
        for device_id, device in node.devices.items():
            if device.online:
                device.online = False
                subject = f"{m.topic.source}/{device_id}"
                self._state_event(m, out, subject, "offline (edge node NDEATH)")

    # ------------------------------------------------------------ messages within a session

    def _in_session(self, m: Message, out: Outcome) -> None:
        node = self._nodes.get(m.topic.node)
        if node is None or not node.online:
            reason = (
                f"no session for edge node {m.topic.group_id}/{m.topic.edge_node_id}: no NBIRTH "
                "received (or it died); rebirth requested"
            )
            self._reject_all(m, out, reason)
            self._ask_rebirth(m, out)
            return
        if not self._in_sequence(m, out, node):
            return
        kind = m.topic.message_type
        device_id = m.topic.device_id
        if kind == MessageType.NDATA:
            self._data(m, out, node.metrics, "NBIRTH")
        elif kind == MessageType.DBIRTH and device_id is not None:
            device = BirthMetrics()
            node.devices[device_id] = device
            self._state_event(m, out, m.topic.source, "online (DBIRTH)")
            self._birth(m, out, device)
        elif kind == MessageType.DDEATH and device_id is not None:
            device_or_none = node.devices.get(device_id)
            if device_or_none is None or not device_or_none.online:
                out.ignored.append(f"{m.text}: DDEATH for a device that is not online")
                return
            device_or_none.online = False
            self._state_event(m, out, m.topic.source, "offline (DDEATH)")
        elif kind == MessageType.DDATA and device_id is not None:
            device_or_none = node.devices.get(device_id)
            if device_or_none is None or not device_or_none.online:
                reason = f"device {device_id} has no DBIRTH in this session; rebirth requested"
                self._reject_all(m, out, reason)
                self._ask_rebirth(m, out)
                return
            self._data(m, out, device_or_none, "DBIRTH")

    def _in_sequence(self, m: Message, out: Outcome, node: NodeSession) -> bool:
        """Check ``seq``; False when the message's data must not be used."""
        seq = m.payload.seq
        expected = (node.seq + 1) % 256
        if seq is None or not 0 <= seq <= 255:
            self._reject_all(m, out, f"seq {seq} is not in 0..255 (expected {expected})")
            return False
        if seq == expected:
            node.seq = seq
            return True
        if (node.seq - seq) % 256 < 128:
            reason = f"repeated message: seq {seq} after seq {node.seq} (expected {expected})"
            device_id = m.topic.device_id
            known = node.metrics if device_id is None else node.devices.get(device_id)
            self._reject_all(
                m, out, reason, known if m.topic.message_type != MessageType.DBIRTH else None
            )
            return False
        missing = (seq - expected) % 256
        out.events.append(
            Event(
                kind="connector_gap",
                source=f"{self._source}:{m.topic.source}",
                time=m.received,
                subject=f"{m.topic.group_id}/{m.topic.edge_node_id}",
                message=(
                    f"seq gap: expected {expected}, received {seq} ({missing} message(s) "
                    "lost); rebirth requested"
                ),
                data={"expected": expected, "received": seq, "missing": missing},
            )
        )
        node.seq = seq
        self._ask_rebirth(m, out)
        return True

    def _birth(self, m: Message, out: Outcome, metrics: BirthMetrics) -> None:
        for metric in m.payload.metrics:
            if metric.name is None or metric.datatype is None:
                reason = f"birth metric {metric.name or metric.alias} without a name or datatype"
                self._reject_metric(m, out, metric, None, reason)
                continue
            if metric.alias is not None:
                taken = metrics.names.get(metric.alias)
                if taken is not None and taken != metric.name:
                    reason = f"alias {metric.alias} of {metric.name!r} already names {taken!r}"
                    self._reject_metric(m, out, metric, metric.datatype, reason)
                    continue
                metrics.names[metric.alias] = metric.name
            metrics.types[metric.name] = metric.datatype
            unit = metric.prop("engUnit")
            tag = self._tag(m, metric.name)
            if isinstance(unit, str) and tag is not None:
                self._units[tag] = unit
            if not metric.is_null:  # a birth may declare a metric that has no value yet
                self._sample(m, out, metric, metric.name, metric.datatype)

    def _data(self, m: Message, out: Outcome, metrics: BirthMetrics, birth: str) -> None:
        for metric in m.payload.metrics:
            if metric.name is not None:
                name: str | None = metric.name if metric.name in metrics.types else None
                problem = f"metric {metric.name!r} is not in the {birth}"
            elif metric.alias is not None:
                name = metrics.names.get(metric.alias)
                problem = f"unknown alias {metric.alias} (not in the {birth})"
            else:
                name, problem = None, "metric with neither name nor alias"
            if name is None:
                self._reject_metric(m, out, metric, None, problem)
            else:
                self._sample(m, out, metric, name, metrics.types[name])

    # ------------------------------------------------------------ samples and rejects

    def _tag(self, m: Message, name: str) -> str | None:
        t = m.topic
        return resolve_tag(self._tags, MetricSource(t.group_id, t.edge_node_id, t.device_id, name))

    def _sample(self, m: Message, out: Outcome, metric: Metric, name: str, datatype: int) -> None:
        if is_control_metric(name):
            return
        value = metric_value(metric, datatype)
        number = finite(value) if datatype in NUMERIC and not metric.is_null else None
        ts = metric.timestamp if metric.timestamp is not None else m.payload.timestamp
        tag = self._tag(m, name)
        if number is None or ts is None or tag is None:
            if metric.is_null:
                problem = "null value"
            elif datatype not in NUMERIC:
                problem = f"{datatype_label(datatype)} is not a number"
            elif number is None:
                problem = f"{datatype_label(datatype)} value {value!r} is not a finite number"
            elif ts is None:
                problem = "no timestamp (neither metric nor payload)"
            else:
                problem = f"no historian tag for {m.topic.source}/{name}"
            self._reject_metric(m, out, metric, datatype, f"{name}: {problem}")
            return
        quality = metric.prop("Quality")
        if not isinstance(quality, int) or isinstance(quality, bool) or not 0 <= quality <= 255:
            quality = QUALITY_GOOD
        sent = m.payload.timestamp
        later = metric.timestamp is not None and sent is not None and sent > metric.timestamp
        available = from_ms(sent) if later and sent is not None else None
        out.samples.append(Sample(tag, from_ms(ts), number, quality, available))

    def _reject_metric(
        self,
        m: Message,
        out: Outcome,
        metric: Metric,
        datatype: int | None,
        reason: str,
        *,
        known: BirthMetrics | None = None,
    ) -> None:
        """Quarantine one metric; ``known`` (the birth's metrics) names an alias-only one."""
        name = metric.name
        if name is None and known is not None and metric.alias is not None:
            name = known.names.get(metric.alias)
        if known is not None and name is not None and datatype is None:
            datatype = known.types.get(name)
        value = "null" if metric.is_null else repr(metric_value(metric, datatype))
        ts = metric.timestamp if metric.timestamp is not None else m.payload.timestamp
        label = name if name is not None else f"alias {metric.alias}"
        out.quarantined.append(
            Quarantined(
                source=f"{self._source}:{m.text}",
                reason=reason,
                raw=f"{label} = {value}",
                tag=(self._tag(m, name) or "") if name is not None else "",
                time=from_ms(ts) if ts is not None else None,
                received=m.received,
            )
        )

    def _reject_all(
        self, m: Message, out: Outcome, reason: str, known: BirthMetrics | None = None
    ) -> None:
        metrics = [x for x in m.payload.metrics if x.name is None or not is_control_metric(x.name)]
        if not metrics:  # keep a record of the message itself
            raw = f"{m.topic.message_type} seq {m.payload.seq}, no process metrics"
            out.quarantined.append(self._rejected(m.text, reason, raw, m.received))
        for metric in metrics:
            self._reject_metric(m, out, metric, None, reason, known=known)

    def _rejected(self, topic: str, reason: str, raw: str, received: datetime) -> Quarantined:
        return Quarantined(
            source=f"{self._source}:{topic}", reason=reason, raw=raw, received=received
        )

    def _state_event(self, m: Message, out: Outcome, subject: str, message: str) -> None:
        """At the payload's time, except for NDEATH: a will's timestamp is from its CONNECT."""
        out.events.append(
            Event(
                kind="connector_state",
                source=f"{self._source}:{m.topic.source}",
                time=m.received if m.topic.message_type == MessageType.NDEATH else m.time,
                subject=subject,
                message=message,
            )
        )

    def _ask_rebirth(self, m: Message, out: Outcome) -> None:
        key = m.topic.node
        now = self._clock()
        last = self._rebirth_asked.get(key)
        if last is not None and now - last < self._rebirth_interval:
            return
        self._rebirth_asked[key] = now
        out.commands.append(rebirth_request(key[0], key[1], m.received))
