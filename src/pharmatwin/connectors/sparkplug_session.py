"""The state a Sparkplug B host keeps per edge node, and what handling one message yields.

Times are ms since the Unix epoch in payloads (Sparkplug 3.0.0, section 6.4), UTC ``datetime``
here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from pharmatwin.connectors.sparkplug import BDSEQ, Topic, from_ms
from pharmatwin.connectors.sparkplug_proto import DataType, Payload, metric_value
from pharmatwin.historian.records import Event, Quarantined, Sample


@dataclass
class Outcome:
    """What one message produced: samples to store, values to quarantine, events to record,
    MQTT messages (topic, payload) to publish, and messages ignored on purpose with why."""

    samples: list[Sample] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    commands: list[tuple[str, bytes]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass
class BirthMetrics:
    """The metrics a birth declared: alias -> name and name -> datatype."""

    names: dict[int, str] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    online: bool = True


@dataclass
class NodeSession:
    """One edge node's session: its bdSeq, the last seq, its metrics and its devices'."""

    bd_seq: int
    seq: int
    metrics: BirthMetrics = field(default_factory=BirthMetrics)
    devices: dict[str, BirthMetrics] = field(default_factory=dict)
    online: bool = True


@dataclass(frozen=True)
class Message:
    """A received message: parsed topic, topic text, payload, time received."""

    topic: Topic
    text: str
    payload: Payload
    received: datetime

    @property
    def time(self) -> datetime:
        """The payload's time, else the time received."""
        ts = self.payload.timestamp
        return from_ms(ts) if ts is not None else self.received


def datatype_label(datatype: int | None) -> str:
    """The Sparkplug name of a datatype code, for messages."""
    if datatype is None:
        return "no datatype"
    try:
        return DataType(datatype).name
    except ValueError:
        return f"datatype {datatype}"


def finite(value: object) -> float | None:
    """``value`` as a float when it is a finite number, else None."""
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def bd_seq_of(payload: Payload) -> int | None:
    """The value of the ``bdSeq`` metric, if there is one."""
    for metric in payload.metrics:
        if metric.name == BDSEQ:
            value = metric_value(metric, DataType.UInt64)
            return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None
