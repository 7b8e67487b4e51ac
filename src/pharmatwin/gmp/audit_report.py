"""The audit-trail review report: the records matching a filter, with the chain check and the
signatures of each record; as rows, CSV, JSON or PDF.

EU GMP Annex 11, section 9: audit trails must be available, convertible to a generally
intelligible form and regularly reviewed; 21 CFR 11.10(b) and (e): accurate and complete
copies in human-readable and electronic form. Each row gives seq, time (UTC), user, action,
record, old and new value and reason; each record with signatures shows their manifestations
(printed name, date and time, meaning: 21 CFR 11.50(b)). The header gives the filter, the
result of ``AuditTrail.verify`` over the whole trail and when the report was made.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pharmatwin.gmp.audit import AuditRecord, AuditTrail, VerifyResult, utc_now
from pharmatwin.gmp.canonical import canonical_text
from pharmatwin.gmp.signatures import Signature, read_signatures

__all__ = [
    "CSV_COLUMNS",
    "AuditReport",
    "ReportFilter",
    "build_report",
    "iso_utc",
    "report_json",
    "write_csv",
    "write_pdf",
]

CSV_COLUMNS = (
    "seq",
    "time_utc",
    "user",
    "action",
    "record_type",
    "record_id",
    "old",
    "new",
    "reason",
    "signatures",
    "hash",
)
PDF_VALUE_CHARS = 600
"""Longer old/new values are cut in the PDF (the CSV and JSON exports hold them whole)."""


def iso_utc(time: datetime) -> str:
    """ISO 8601 UTC text with microseconds and ``Z``."""
    return canonical_text(time).strip('"')


@dataclass(frozen=True)
class ReportFilter:
    """Which records to show; ``None`` means any. ``since <= at < until`` (UTC)."""

    record_type: str | None = None
    record_id: str | None = None
    user: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        """The filter in words (``all records`` when empty)."""
        parts = [
            f"{name} = {value}"
            for name, value in (
                ("record type", self.record_type),
                ("record id", self.record_id),
                ("user", self.user),
            )
            if value is not None
        ]
        if self.since is not None:
            parts.append(f"from {iso_utc(self.since)}")
        if self.until is not None:
            parts.append(f"before {iso_utc(self.until)}")
        return ", ".join(parts) or "all records"


@dataclass(frozen=True)
class AuditReport:
    """A review report: the records, the signatures of each record, the chain check."""

    filter: ReportFilter
    records: list[AuditRecord]
    signatures: dict[tuple[str, str], list[Signature]]
    verify: VerifyResult
    printed_at: datetime
    database: str
    extra: dict[str, Any] = field(default_factory=dict)

    def signatures_of(self, record: AuditRecord) -> list[Signature]:
        """The signatures of the GMP record ``record`` is about."""
        return self.signatures.get((record.record_type, record.record_id), [])


def build_report(
    trail: AuditTrail,
    report_filter: ReportFilter = ReportFilter(),
    *,
    clock: Callable[[], datetime] = utc_now,
) -> AuditReport:
    """Verify the whole trail, then read the records matching ``report_filter``."""
    result = trail.verify()
    f = report_filter
    records = trail.records(
        record_type=f.record_type, record_id=f.record_id, user=f.user, since=f.since, until=f.until
    )
    keys = sorted({(r.record_type, r.record_id) for r in records})
    signatures = {key: read_signatures(trail.backend, *key) for key in keys}
    return AuditReport(
        f, records, {k: v for k, v in signatures.items() if v}, result, clock(), trail.label
    )


def _value(value: Any) -> str:
    return canonical_text(value)


def _manifestations(signatures: list[Signature]) -> str:
    return "; ".join(s.manifestation for s in signatures)


def write_csv(report: AuditReport, path: Path) -> int:
    """Write one CSV row per record (``CSV_COLUMNS``, UTF-8); the number of rows."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in report.records:
            writer.writerow(
                (
                    r.seq,
                    iso_utc(r.at),
                    r.user,
                    r.action,
                    r.record_type,
                    r.record_id,
                    _value(r.old),
                    _value(r.new),
                    r.reason,
                    _manifestations(report.signatures_of(r)),
                    r.hash,
                )
            )
    return len(report.records)


def _signature_json(signature: Signature) -> dict[str, Any]:
    return {
        "printed_name": signature.printed_name,
        "user": signature.user,
        "signed_at": iso_utc(signature.at),
        "meaning": signature.meaning,
        "content_hash": signature.content_hash,
        "signature_id": signature.signature_id,
    }


def report_json(report: AuditReport) -> dict[str, Any]:
    """The report as JSON data."""
    v = report.verify
    return {
        "database": report.database,
        "filter": report.filter.describe(),
        "printed_at": iso_utc(report.printed_at),
        "verify": {
            "ok": v.ok,
            "checked": v.checked,
            "first_bad_seq": v.first_bad_seq,
            "message": v.message,
            "head_seq": v.head_seq,
            "head_hash": v.head_hash,
        },
        "records": [
            {
                "seq": r.seq,
                "time_utc": iso_utc(r.at),
                "user": r.user,
                "action": r.action,
                "record_type": r.record_type,
                "record_id": r.record_id,
                "old": r.old,
                "new": r.new,
                "reason": r.reason,
                "hash": r.hash,
                "signatures": [_signature_json(s) for s in report.signatures_of(r)],
            }
            for r in report.records
        ],
    }


def dumps(report: AuditReport) -> str:
    """``report_json`` as indented JSON text."""
    return json.dumps(report_json(report), indent=2, ensure_ascii=False)


def header_lines(report: AuditReport) -> Iterator[str]:
    """The report's header, line by line."""
    v = report.verify
    yield f"Database: {report.database}"
    yield f"Filter: {report.filter.describe()} ({len(report.records)} records)"
    check = v.message if v.ok else f"NOT INTACT - {v.message}"
    yield f"Chain check (whole trail): {check}"
    if v.ok:
        yield f"Anchor (keep outside the database): seq {v.head_seq}, hash {v.head_hash}"
    yield f"Printed: {iso_utc(report.printed_at)}"


def _cut(text: str) -> str:
    if len(text) <= PDF_VALUE_CHARS:
        return text
    return text[:PDF_VALUE_CHARS] + f" ... ({len(text)} characters; whole in CSV/JSON)"


def write_pdf(report: AuditReport, path: Path) -> None:
    """Write the report as a PDF: A4 landscape, header, one table row per record (repeated
    column titles on every page), then the signatures of each record, page numbers below.
    Uses reportlab (imported here; the 'gmp' extra) with its bundled Bitstream Vera font,
    embedded in the file."""
    from xml.sax.saxutils import escape

    # reportlab ships no type hints: its names are Any here
    from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
    from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped, unused-ignore]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped, unused-ignore]
    from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped, unused-ignore]
    from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped, unused-ignore]
    from reportlab.platypus import (  # type: ignore[import-untyped, unused-ignore]
        LongTable,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )

    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
    body = ParagraphStyle("body", fontName="Vera", fontSize=7, leading=8.5)
    bold = ParagraphStyle("bold", parent=body, fontName="VeraBd")
    title = ParagraphStyle("title", fontName="VeraBd", fontSize=13, leading=16)

    def cell(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    story: list[Any] = [Paragraph("Audit trail review report", title), Spacer(1, 2 * mm)]
    story += [cell(line, bold if "NOT INTACT" in line else body) for line in header_lines(report)]
    story.append(Spacer(1, 4 * mm))
    columns = ("Seq", "Time (UTC)", "User", "Action", "Record", "Old -> new", "Reason")
    rows: list[list[Paragraph]] = [[cell(c, bold) for c in columns]]
    for r in report.records:
        change = f"{_cut(_value(r.old))} -> {_cut(_value(r.new))}"
        record = f"{r.record_type} {r.record_id}"
        fields = (str(r.seq), iso_utc(r.at), r.user, r.action, record, change, r.reason)
        rows.append([cell(text) for text in fields])
    widths = [x * mm for x in (12, 34, 22, 16, 38, 92, 53)]
    table = LongTable(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    if report.signatures:
        story += [Spacer(1, 5 * mm), Paragraph("Electronic signatures", title)]
        for (record_type, record_id), signatures in sorted(report.signatures.items()):
            story.append(cell(f"{record_type} {record_id}", bold))
            for s in signatures:
                line = f"{s.manifestation} - content {s.content_hash[:16]}..."
                story.append(cell(line))

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Vera", 7)
        text = f"Audit trail review - printed {iso_utc(report.printed_at)} - page {doc.page}"
        canvas.drawString(12 * mm, 8 * mm, text)
        canvas.restoreState()

    document = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title="Audit trail review report",
        author="pharmatwin",
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
