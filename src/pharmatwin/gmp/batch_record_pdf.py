"""The batch record as PDF, rendered with ReportLab (BSD licence; the ``gmp`` extra).

The same sections as the HTML page (``pharmatwin.gmp.batch_record``), on A4 landscape pages
whose header repeats the batch, and whose footer gives the page number and the record's
content hash, so every printed page identifies the record it belongs to. ReportLab is imported
only when a PDF is made.
"""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from pharmatwin.gmp.batch_record import BatchRecord, Section, Table

__all__ = ["render_pdf"]

FONT_SIZE = 8
"""Table text size, points."""


def _styles() -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped, unused-ignore]

    sheet = getSampleStyleSheet()
    cell = ParagraphStyle("cell", parent=sheet["BodyText"], fontSize=FONT_SIZE, leading=10)
    head = ParagraphStyle("head", parent=cell, fontName="Helvetica-Bold")
    return {
        "title": sheet["Title"],
        "h2": sheet["Heading2"],
        "h3": sheet["Heading3"],
        "body": sheet["BodyText"],
        "note": ParagraphStyle("note", parent=sheet["BodyText"], fontName="Helvetica-Oblique"),
        "cell": cell,
        "head": head,
    }


def _p(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph  # type: ignore[import-untyped, unused-ignore]

    return Paragraph(escape(text), style)


def _table(table: Table, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
    from reportlab.platypus import LongTable, TableStyle  # type: ignore[import-untyped, unused-ignore]

    out: list[Any] = [_p(table.title, styles["h3"])] if table.title else []
    if not table.rows:
        return [*out, _p(table.empty, styles["note"])]
    data = [[_p(c, styles["head"]) for c in table.columns]]
    data += [[_p(cell, styles["cell"]) for cell in row] for row in table.rows]
    grid = LongTable(
        data, colWidths=[width / len(table.columns)] * len(table.columns), repeatRows=1
    )
    grid.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa4ae")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ebf0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return [*out, grid]


def _section(section: Section, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Spacer  # type: ignore[import-untyped, unused-ignore]

    out: list[Any] = [_p(section.title, styles["h2"])]
    if section.facts:
        from pharmatwin.gmp.batch_record import Table

        facts = Table("", ("", ""), tuple(section.facts))
        out += _table(facts, styles, width)
    for table in section.tables:
        out += _table(table, styles, width)
    out += [_p(note, styles["note"]) for note in section.notes]
    out.append(Spacer(1, 6))
    return out


def render_pdf(record: BatchRecord) -> bytes:
    """The record as PDF bytes (A4 landscape)."""
    from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped, unused-ignore]
    from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
    from reportlab.platypus import SimpleDocTemplate  # type: ignore[import-untyped, unused-ignore]

    buffer = BytesIO()
    page = landscape(A4)
    margin = 12 * mm
    doc = SimpleDocTemplate(
        buffer,
        pagesize=page,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin + 4 * mm,
        bottomMargin=margin + 4 * mm,
        title=record.title,
        author="pharmatwin",
        subject=f"batch {record.batch.batch_id}, content SHA-256 {record.content_hash}",
    )
    styles = _styles()
    width = page[0] - 2 * margin
    story: list[Any] = [
        _p(record.title, styles["title"]),
        _p(
            f"Generated {record.generated.strftime('%Y-%m-%d %H:%M:%S UTC')} by pharmatwin.",
            styles["body"],
        ),
    ]
    for section in record.sections():
        story += _section(section, styles, width)

    def decorate(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        top, bottom = page[1] - margin, margin
        canvas.drawString(margin, top, f"{record.title} ({record.batch.asset})")
        canvas.drawRightString(page[0] - margin, top, f"page {document.page}")
        canvas.drawString(margin, bottom - 2 * mm, f"content SHA-256 {record.content_hash}")
        canvas.restoreState()

    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
