"""``pharmatwin audit``: check the audit trail's hash chain; print or export the review report.

``verify`` exits 0 with ``N records, chain intact``, or 1 naming the first record altered,
removed, inserted or reordered. Bad input exits 2, a database that cannot be read 3. Every
command takes ``--db URL`` (default: ``PHARMATWIN_DB``, else the historian's default database).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.core.utc import parse_utc
from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.audit_report import (
    AuditReport,
    ReportFilter,
    build_report,
    dumps,
    header_lines,
    iso_utc,
    write_csv,
    write_pdf,
)
from pharmatwin.gmp.canonical import canonical_text
from pharmatwin.historian.errors import HistorianError
from pharmatwin.historian.urls import SQLITE_PREFIX, resolve_db_url, sqlite_path

BROKEN_EXIT = 1
STORAGE_EXIT = 3
DB_HELP = "Database URL: sqlite:///path.db or postgresql://... (default: $PHARMATWIN_DB or "
DB_HELP += "sqlite:///pharmatwin-data/historian.db)."

audit_app = typer.Typer(help="Check and review the audit trail.", no_args_is_help=True)

DB = typer.Option(None, "--db", help=DB_HELP)


@contextmanager
def opened(db: str | None) -> Iterator[AuditTrail]:
    """The audit trail of ``--db``; an absent SQLite file is an error (not a new, empty
    trail); bad input exits 2, a storage failure 3."""
    url = resolve_db_url(db)
    with bad_input():
        if url.startswith(SQLITE_PREFIX):
            path = sqlite_path(url)
            if path != ":memory:" and not Path(path).is_file():
                raise ValueError(f"--db: there is no database file {path}")
    try:
        with bad_input():
            trail = AuditTrail(url)
        with trail:
            yield trail
    except HistorianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(STORAGE_EXIT) from None


def _anchor(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(digest) != 64:
        fail(f"--anchor: {text!r} is not SEQ:HASH (a seq and a 64-digit SHA-256 hex)")
    return int(seq), digest.lower()


@audit_app.command("verify")
def verify(
    db: str | None = DB,
    anchor: str | None = typer.Option(
        None,
        "--anchor",
        help="SEQ:HASH of a record noted outside the database (e.g. from an earlier report): "
        "also finds removed last records and a recomputed chain.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check the hash chain; exit 1 naming the first altered, removed or inserted record."""
    expected = _anchor(anchor)
    with opened(db) as trail:
        result = trail.verify(anchor=expected)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": result.ok,
                    "checked": result.checked,
                    "first_bad_seq": result.first_bad_seq,
                    "message": result.message,
                    "head_seq": result.head_seq,
                    "head_hash": result.head_hash,
                },
                indent=2,
            )
        )
    elif result.ok:
        print(result.message)
        print(f"anchor: {result.head_seq}:{result.head_hash}")
    else:
        print(f"audit trail NOT intact: {result.message}")
    if not result.ok:
        raise typer.Exit(BROKEN_EXIT)


def _time(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    with bad_input(option):
        return parse_utc(text)
    return None  # pragma: no cover (bad_input exits)


@audit_app.command("report")
def report(
    db: str | None = DB,
    record_type: str | None = typer.Option(None, "--record-type", help="Only this kind."),
    record_id: str | None = typer.Option(None, "--record-id", help="Only this record id."),
    user: str | None = typer.Option(None, "--user", help="Only changes by this user."),
    since: str | None = typer.Option(None, "--since", help="From this UTC time (ISO 8601)."),
    until: str | None = typer.Option(None, "--until", help="Before this UTC time (ISO 8601)."),
    csv_file: Path | None = typer.Option(None, "--csv", help="Write the rows as CSV here."),
    pdf_file: Path | None = typer.Option(None, "--pdf", help="Write the report as PDF here."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """The audit-trail review report: filter by record, user and time; CSV, PDF or JSON."""
    report_filter = ReportFilter(
        record_type, record_id, user, _time("--since", since), _time("--until", until)
    )
    with opened(db) as trail, bad_input():
        built = build_report(trail, report_filter)
    if csv_file is not None:
        rows = write_csv(built, csv_file)
        print(f"{rows} records written to {csv_file}", file=sys.stderr)
    if pdf_file is not None:
        write_pdf(built, pdf_file)
        print(f"report written to {pdf_file}", file=sys.stderr)
    if as_json:
        print(dumps(built))
    elif csv_file is None and pdf_file is None:
        _print_table(built)


def _print_table(built: AuditReport) -> None:
    console = Console()
    for line in header_lines(built):
        console.print(line, markup=False, highlight=False)
    table = Table()
    for column in ("seq", "time (UTC)", "user", "action", "record", "old -> new", "reason"):
        table.add_column(column, overflow="fold")
    for r in built.records:
        change = f"{canonical_text(r.old)} -> {canonical_text(r.new)}"
        record = f"{r.record_type} {r.record_id}"
        table.add_row(str(r.seq), iso_utc(r.at), r.user, r.action, record, change, r.reason)
    console.print(table)
    for (record_type, record_id), signatures in sorted(built.signatures.items()):
        console.print(f"signatures of {record_type} {record_id}:", markup=False)
        for s in signatures:
            console.print(f"  {s.manifestation}", markup=False, highlight=False)
