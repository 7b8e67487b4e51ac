"""What the historian stores: tags, samples, quarantined values, batches, events, twin outputs.

These are the contracts between the connectors (which produce samples), the historian (which
stores them) and the runtime (which reads samples and writes twin outputs). Times are
timezone-aware UTC ``datetime``; in storage they are integer microseconds since the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

QUALITY_GOOD = 192
"""OPC UA StatusCode Good, as its legacy 8-bit quality byte (0xC0)."""

QUALITY_UNCERTAIN = 64
"""OPC UA Uncertain (0x40): e.g. a value backfilled from a server's history."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

EventKind = Literal[
    "alarm",
    "alarm_cleared",
    "acknowledgement",
    "sensor_fault",
    "connector_gap",
    "connector_state",
    "batch",
    "twin_config",
]


def to_us(time: datetime) -> int:
    """Microseconds since the Unix epoch of a timezone-aware time."""
    if time.tzinfo is None:
        raise ValueError(f"time {time.isoformat()}: a timezone-aware UTC time is required")
    delta = time.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    """The UTC time ``us`` microseconds after the Unix epoch."""
    return EPOCH + timedelta(microseconds=int(us))


@dataclass(frozen=True)
class TagInfo:
    """A historian tag: name, engineering unit, the asset it belongs to, a description."""

    name: str
    unit: str
    asset: str = ""
    description: str = ""


@dataclass(frozen=True)
class Sample:
    """One value of one tag.

    Attributes:
        tag: tag name.
        time: source timestamp (when the value was true at the plant), UTC.
        value: value in the tag's engineering unit.
        quality: OPC UA quality byte (192 good).
        available: when the value became known (laboratory results arrive hours after their
            sample time); ``None`` means at ``time``.
    """

    tag: str
    time: datetime
    value: float
    quality: int = QUALITY_GOOD
    available: datetime | None = None


@dataclass(frozen=True)
class Quarantined:
    """A value that was received and not stored as a sample, with the reason.

    ``raw`` keeps what arrived (the value as text, or the whole payload when it could not be
    parsed); ``tag`` and ``time`` are empty / ``None`` when they could not be read.
    """

    source: str
    reason: str
    raw: str
    tag: str = ""
    time: datetime | None = None
    received: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Batch:
    """A batch on an asset. ``state``: running, complete, aborted."""

    batch_id: str
    asset: str
    recipe: str
    start: datetime
    end: datetime | None = None
    state: str = "running"


@dataclass(frozen=True)
class Event:
    """Something that happened: an alarm, an acknowledgement, a sensor fault, a connector gap.

    Events are idempotent on (kind, source, time, subject): writing the same one twice (a
    runtime that restarts and recomputes) stores it once.
    """

    kind: EventKind
    source: str
    time: datetime
    subject: str
    message: str
    asset: str = ""
    batch_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TwinOutput:
    """A belief or forecast a twin produced; idempotent on (twin, batch_id, kind, time)."""

    twin: str
    batch_id: str
    kind: Literal["belief", "forecast"]
    time: datetime
    batch_h: float
    data: dict[str, Any]


@dataclass(frozen=True)
class WriteResult:
    """Counts of one write: stored, already stored with the same value, quarantined."""

    inserted: int
    duplicates: int
    quarantined: int


class SampleSink(Protocol):
    """Where a connector puts what it receives (the historian implements it)."""

    def write(self, samples: list[Sample]) -> WriteResult:
        """Store samples; a sample whose tag and time are stored with another value is
        quarantined, never written over the stored one."""
        ...

    def quarantine(self, items: list[Quarantined]) -> None:
        """Keep rejected values with their reasons."""
        ...

    def add_event(self, event: Event) -> None:
        """Record an event (e.g. a connector gap)."""
        ...
