"""Alarms and sensor faults raised by the twins, and their acknowledgement.

An alarm's id is ``alarm_id(source, time, subject)``: the first 16 hex digits of the SHA-256
of ``"{source}|{time_us}|{subject}"`` (``time_us``: microseconds since the Unix epoch, UTC).
Events are unique on (kind, source, time, subject) in the historian, so the id is stable across
restarts and identifies one alarm. An acknowledgement is an event of kind ``acknowledgement``
whose subject is the alarm's id, with data ``{by, comment, alarm}``, and an audit-trail record
(record type ``alarm``, id the alarm's id, old ``None``, new the acknowledgement, reason the
comment: EU GMP Annex 11, section 9).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pharmatwin.historian.records import Event, to_us
from pharmatwin.historian.store import Historian
from pharmatwin.service.schemas.twins import AcknowledgementOut, AlarmOut
from pharmatwin.service.services.audit import AuditService
from pharmatwin.service.services.errors import NotFoundError

ALARM_KINDS = ("alarm", "sensor_fault")
ACK_SOURCE = "service"


def alarm_id(source: str, time: datetime, subject: str) -> str:
    """The stable id of the alarm event (see the module docstring)."""
    key = f"{source}|{to_us(time)}|{subject}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _number(data: dict[str, Any], name: str) -> float | None:
    value = data.get(name)
    return float(value) if isinstance(value, int | float) else None


class AlarmService:
    """Alarms from the historian; acknowledgements are appended to ``audit`` (without it, the
    service only reads)."""

    def __init__(self, historian: Historian, audit: AuditService | None = None) -> None:
        self.historian = historian
        self.audit = audit

    def _raised(self, asset: str | None, batch_id: str | None) -> list[Event]:
        events = self.historian.events(asset=asset, batch_id=batch_id)
        return [e for e in events if e.kind in ALARM_KINDS]

    def alarms(
        self, asset: str | None = None, batch_id: str | None = None, active: bool | None = None
    ) -> list[AlarmOut]:
        """Alarms by time, with lead times, whether cleared and acknowledged."""
        events = self.historian.events(asset=asset, batch_id=batch_id)
        cleared = {
            (e.source, e.subject, e.data.get("raised_at_h")): e.data.get("cleared_at_h")
            for e in events
            if e.kind == "alarm_cleared"
        }
        acks: dict[str, list[dict[str, Any]]] = {}
        for e in self.historian.events(kind="acknowledgement"):
            acks.setdefault(e.subject, []).append(
                {"by": e.data.get("by"), "comment": e.data.get("comment"), "time": e.time}
            )
        out = []
        for e in events:
            if e.kind not in ALARM_KINDS:
                continue
            key = (e.source, e.subject, e.data.get("raised_at_h"))
            cleared_h = cleared.get(key)
            is_active = key not in cleared
            if active is not None and is_active != active:
                continue
            ident = alarm_id(e.source, e.time, e.subject)
            out.append(
                AlarmOut(
                    id=ident,
                    kind=e.kind,
                    source=e.source,
                    time=e.time,
                    subject=e.subject,
                    message=e.message,
                    asset=e.asset,
                    batch_id=e.batch_id,
                    raised_at_h=_number(e.data, "raised_at_h"),
                    probability=_number(e.data, "probability"),
                    predicted_violation_h=_number(e.data, "predicted_violation_h"),
                    lead_time_h=_number(e.data, "lead_time_h"),
                    active=is_active,
                    cleared_at_h=None if cleared_h is None else float(cleared_h),
                    acknowledged=ident in acks,
                    acknowledgements=acks.get(ident, []),
                    data=e.data,
                )
            )
        return out

    def find(self, ident: str) -> Event:
        for e in self._raised(None, None):
            if alarm_id(e.source, e.time, e.subject) == ident:
                return e
        raise NotFoundError(f"alarm_id: no alarm {ident!r}")

    def acknowledge(self, ident: str, by: str, comment: str) -> AcknowledgementOut:
        """Record that ``by`` acknowledged the alarm, with a comment (1 to 500 characters),
        as an event and in the audit trail."""
        if self.audit is None:
            raise RuntimeError("AlarmService: acknowledging needs the audit trail")
        alarm = self.find(ident)
        now = datetime.now(UTC)
        self.historian.add_event(
            Event(
                kind="acknowledgement",
                source=f"{ACK_SOURCE}:{by}",
                time=now,
                subject=ident,
                message=f"{by} acknowledged {alarm.kind} {alarm.subject}: {comment}",
                asset=alarm.asset,
                batch_id=alarm.batch_id,
                data={"by": by, "comment": comment, "alarm": ident},
            )
        )
        record = self.audit.record(
            user=by,
            action="acknowledge",
            record_type="alarm",
            record_id=ident,
            old=None,
            new={
                "acknowledged": True,
                "by": by,
                "time": now,
                "comment": comment,
                "alarm": {
                    "kind": alarm.kind,
                    "subject": alarm.subject,
                    "source": alarm.source,
                    "time": alarm.time,
                    "asset": alarm.asset,
                    "batch_id": alarm.batch_id,
                },
            },
            reason=comment,
        )
        return AcknowledgementOut(
            alarm_id=ident, by=by, time=now, comment=comment, audit_seq=record.seq
        )
