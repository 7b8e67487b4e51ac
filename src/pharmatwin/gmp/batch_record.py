"""The electronic batch record (EBR) of one batch, from the historian and the GMP records.

What is recorded (ISA-88 / IEC 61512-4 batch production record; 21 CFR 211.188 batch records;
EU GMP Annex 11 sections 4.8, 8 and 9): the batch, asset and recipe with the exact versions of
the twin configuration and recipe used; the timeline of the recipe's phases; the critical
process parameters measured (hourly summary of the online tags); the critical quality
attributes measured at-line against what the twin predicted, and the twin's forecasts (5/50/95 %
and probability of failing each specification); alarms with their acknowledgements and lead
times; deviations (alarms, sensor faults, connector gaps, quarantined data); the audit-trail
entries of the batch; and the electronic signatures with their manifestations (printed name,
date and time UTC, meaning) and whether each is still valid (21 CFR 11.50, 11.70).

``BatchRecord.content`` is the record's data as one JSON document; a signature on the batch
record (record type ``batch_record``, id the batch id) binds to its content hash, so data that
arrive or change after signing show the signature invalid. The audit entries and signatures
are shown but are not part of the signed content.

The same sections render as HTML here (``render_html``) and as PDF in ``batch_record_pdf``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from pharmatwin.gmp.batch_record_data import collect
from pharmatwin.gmp.canonical import content_hash
from pharmatwin.historian.records import Batch

if TYPE_CHECKING:
    from pharmatwin.gmp.audit import AuditRecord, AuditTrail
    from pharmatwin.gmp.signatures import Signature, Signatures, SignatureStatus
    from pharmatwin.gmp.versions import VersionStore
    from pharmatwin.historian.store import Historian
    from pharmatwin.runtime.asset import Asset

__all__ = [
    "RECORD_TYPE",
    "BatchRecord",
    "Section",
    "SignatureRow",
    "Table",
    "build_batch_record",
    "render_html",
    "sign_batch_record",
    "write_batch_record",
]

RECORD_TYPE = "batch_record"
"""Record type of a batch record in the audit trail and on signatures (id: the batch id)."""


@dataclass(frozen=True)
class Table:
    """A table of text cells with a title; ``empty`` is shown when it has no rows."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "none"


@dataclass(frozen=True)
class Section:
    """One section of the record: facts (label, value), tables, notes."""

    key: str
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignatureRow:
    """A signature shown in the record: on what, its manifestation, valid or not and why."""

    record: str
    signature: Signature
    valid: bool
    problem: str = ""


@dataclass(frozen=True)
class BatchRecord:
    """The batch record of one batch (see the module)."""

    batch: Batch
    generated: datetime
    content: dict[str, Any]
    content_hash: str
    audit: tuple[AuditRecord, ...]
    signatures: tuple[SignatureRow, ...]

    @property
    def title(self) -> str:
        return f"Electronic batch record {self.batch.batch_id}"

    def sections(self) -> list[Section]:
        """The sections, in order: header, phases, CPPs, CQAs, alarms, deviations, audit
        trail, signatures."""
        from pharmatwin.gmp.batch_record_sections import sections

        return sections(self)


def build_batch_record(
    historian: Historian,
    batch_id: str,
    *,
    audit: AuditTrail | None = None,
    signatures: Signatures | None = None,
    versions: VersionStore | None = None,
    asset: Asset | None = None,
    twin: str | None = None,
    now: datetime | None = None,
) -> BatchRecord:
    """Collect the batch record of ``batch_id``.

    Args:
        historian: where the batch, its samples, events and twin outputs are.
        audit: the audit trail (for the batch's entries); signatures need it too.
        signatures: the e-signatures (of the batch record and of the versions used).
        versions: the version store (recipe phases and limits of the versions used).
        asset: the asset definition (which tags are read by which model output, the recipe
            and specifications when no version is recorded).
        twin: the twin's name in the historian (default ``ASSET.twin``).
        now: the generation time (UTC; default now).

    Raises ``UnknownBatch`` (a ``ValueError``) naming ``batch_id`` if there is no such batch.
    """
    batch, content = collect(historian, batch_id, versions=versions, asset=asset, twin=twin)
    digest = content_hash(content)
    entries = _audit_entries(audit, batch, content) if audit is not None else ()
    rows = _signature_rows(signatures, versions, batch_id, content) if signatures else ()
    return BatchRecord(batch, now or datetime.now(UTC), content, digest, entries, rows)


def _audit_entries(audit: AuditTrail, batch: Batch, content: dict[str, Any]) -> tuple[Any, ...]:
    """The batch's audit entries: records of the batch (record id = batch id), of its alarms
    (record id = alarm id, e.g. acknowledgements) and of the versions it used; records since
    its start that name it (``batch_id`` in the new or old value); and records in its time
    window about its asset (record id ``ASSET`` or starting ``ASSET.``, ``ASSET/``,
    ``ASSET:``, e.g. setpoint changes)."""
    ids = {batch.batch_id} | {a["id"] for a in content["alarms"]}
    ids |= {f"{r['name']}@v{r['version']}" for r in content["versions"]}
    seen: dict[int, AuditRecord] = {}
    for record_id in sorted(ids):
        seen.update((r.seq, r) for r in audit.records(record_id=record_id))
    prefixes = tuple(f"{batch.asset}{sep}" for sep in "./:")
    for r in audit.iter_records(since=batch.start):
        values = [v for v in (r.new, r.old) if isinstance(v, dict)]
        about_asset = r.record_id == batch.asset or r.record_id.startswith(prefixes)
        if any(v.get("batch_id") == batch.batch_id for v in values) or (
            about_asset and (batch.end is None or r.at <= batch.end)
        ):
            seen[r.seq] = r
    return tuple(seen[k] for k in sorted(seen))


def _signature_rows(
    signatures: Signatures,
    versions: VersionStore | None,
    batch_id: str,
    content: dict[str, Any],
) -> tuple[SignatureRow, ...]:
    out = [_row("batch record", s) for s in signatures.status(RECORD_TYPE, batch_id, content)]
    if versions is not None:
        for ref in content["versions"]:
            try:
                statuses = versions.signature_status(ref["kind"], ref["name"], ref["version"])
            except ValueError:
                continue  # not in this store (the header shows it unapproved)
            label = f"{ref['kind']} {ref['name']} v{ref['version']}"
            out.extend(_row(label, s) for s in statuses)
    return tuple(out)


def _row(label: str, status: SignatureStatus) -> SignatureRow:
    return SignatureRow(label, status.signature, status.valid, status.problem)


def sign_batch_record(
    signatures: Signatures,
    record: BatchRecord,
    *,
    user: str,
    password: str,
    meaning: Any,
    reason: str,
) -> Signature:
    """Sign the record's content (e.g. QA "reviewed" or "released"); see ``Signatures.sign``."""
    return signatures.sign(
        user=user,
        password=password,
        record_type=RECORD_TYPE,
        record_id=record.batch.batch_id,
        content=record.content,
        meaning=meaning,
        reason=reason,
    )


# HTML -------------------------------------------------------------------------------------


def _template() -> Template:
    text = (resources.files("pharmatwin.gmp") / "templates" / "batch_record.html").read_text(
        encoding="utf-8"
    )
    return Template(text)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _table_html(table: Table) -> str:
    parts = [f"<h3>{_e(table.title)}</h3>"] if table.title else []
    if not table.rows:
        parts.append(f'<p class="empty">{_e(table.empty)}</p>')
        return "\n".join(parts)
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>")
    return "\n".join(parts)


def _section_html(section: Section) -> str:
    parts = [f'<section id="{_e(section.key)}"><h2>{_e(section.title)}</h2>']
    if section.facts:
        rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in section.facts)
        parts.append(f"<dl>{rows}</dl>")
    parts.extend(_table_html(t) for t in section.tables)
    parts.extend(f'<p class="note">{_e(n)}</p>' for n in section.notes)
    parts.append("</section>")
    return "\n".join(parts)


def render_html(record: BatchRecord) -> str:
    """The record as one self-contained HTML page (no external resources; all text
    escaped)."""
    return _template().substitute(
        title=_e(record.title),
        generated=_e(record.generated.strftime("%Y-%m-%d %H:%M:%S UTC")),
        content_hash=_e(record.content_hash),
        body="\n".join(_section_html(s) for s in record.sections()),
    )


def write_batch_record(record: BatchRecord, path: Path) -> Path:
    """Write the record to ``path``: ``.html`` / ``.htm`` or ``.pdf`` (needs reportlab)."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(render_html(record), encoding="utf-8")
    elif suffix == ".pdf":
        from pharmatwin.gmp.batch_record_pdf import render_pdf

        path.write_bytes(render_pdf(record))
    else:
        raise ValueError(f"out: {path.name!r} must end in .html or .pdf")
    return path
