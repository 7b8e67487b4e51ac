"""The audit trail through the service: every change made through the API is appended here,
and QA reads, verifies and exports it.

Each mutating endpoint appends one record with the session's user, the server's UTC time, the
record changed, the old and the new value and the reason the request gave (21 CFR 11.10(e);
EU GMP Annex 11, section 9). The change is made first (in the historian, the user store or on
the plant) and its record appended right after, in the same database; the request's reason is
validated before the change, so the append cannot fail on input. The two writes are separate
transactions: a crash between them would leave a change without its record.
"""

from __future__ import annotations

import tempfile
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

from pharmatwin.gmp.audit import AuditRecord, AuditTrail
from pharmatwin.gmp.audit_report import ReportFilter, build_report, write_csv, write_pdf
from pharmatwin.service.schemas.gmp import AuditListOut, AuditRecordOut, VerifyOut
from pharmatwin.service.services.errors import UnavailableError

MAX_LIMIT = 10_000
"""Most records one ``GET /api/audit`` returns (the exports hold every one)."""


def record_out(r: AuditRecord) -> AuditRecordOut:
    return AuditRecordOut(
        seq=r.seq,
        at=r.at,
        user=r.user,
        action=r.action,
        record_type=r.record_type,
        record_id=r.record_id,
        old=r.old,
        new=r.new,
        reason=r.reason,
        previous_hash=r.previous_hash,
        hash=r.hash,
    )


def report_filter(
    record_type: str | None,
    record_id: str | None,
    user: str | None,
    since: datetime | None,
    until: datetime | None,
) -> ReportFilter:
    """The filter of a request; empty strings mean "any"."""
    return ReportFilter(
        record_type=record_type or None,
        record_id=record_id or None,
        user=user or None,
        since=since,
        until=until,
    )


class AuditService:
    """Appends the API's changes to ``trail``; reads, verifies and exports it."""

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    def record(
        self,
        *,
        user: str,
        action: str,
        record_type: str,
        record_id: str,
        old: Any,
        new: Any,
        reason: str,
    ) -> AuditRecord:
        """Append one record (``AuditError`` naming the field for bad input)."""
        return self.trail.append(
            user=user,
            action=action,
            record_type=record_type,
            record_id=record_id,
            old=old,
            new=new,
            reason=reason,
        )

    def latest(self, record_type: str, record_id: str) -> AuditRecord | None:
        """The newest record about one GMP record, or ``None``."""
        newest = deque(self.trail.iter_records(record_type=record_type, record_id=record_id), 1)
        return newest[0] if newest else None

    def records(self, f: ReportFilter, limit: int) -> AuditListOut:
        """The last ``limit`` records matching ``f``, in seq order, and how many match."""
        total = 0
        last: deque[AuditRecord] = deque(maxlen=limit)
        for r in self.trail.iter_records(
            record_type=f.record_type,
            record_id=f.record_id,
            user=f.user,
            since=f.since,
            until=f.until,
        ):
            total += 1
            last.append(r)
        return AuditListOut(total=total, limit=limit, records=[record_out(r) for r in last])

    def verify(self) -> VerifyOut:
        """Check the whole chain (streamed; see ``AuditTrail.verify``)."""
        v = self.trail.verify()
        return VerifyOut(
            ok=v.ok,
            checked=v.checked,
            first_bad_seq=v.first_bad_seq,
            message=v.message,
            head_seq=v.head_seq,
            head_hash=v.head_hash,
        )

    def export_csv(self, f: ReportFilter) -> bytes:
        """The review report as CSV (``pharmatwin.gmp.audit_report.CSV_COLUMNS``, UTF-8)."""
        report = build_report(self.trail, f)
        with tempfile.TemporaryDirectory(prefix="pharmatwin-audit-") as folder:
            path = Path(folder) / "audit.csv"
            write_csv(report, path)
            return path.read_bytes()

    def export_pdf(self, f: ReportFilter) -> bytes:
        """The review report as PDF (needs reportlab, the 'gmp' extra: 409 without it)."""
        require_reportlab()
        report = build_report(self.trail, f)
        with tempfile.TemporaryDirectory(prefix="pharmatwin-audit-") as folder:
            path = Path(folder) / "audit.pdf"
            write_pdf(report, path)
            return path.read_bytes()


def require_reportlab() -> None:
    """``UnavailableError`` (409) unless reportlab, the PDF library, is installed."""
    from importlib.util import find_spec

    if find_spec("reportlab") is None:
        raise UnavailableError("pdf: PDF needs reportlab; install the 'gmp' extra")
