"""``pharmatwin historian``: export, import and query the historian; list tags and quarantine.

Every command takes ``--db URL`` (default: ``PHARMATWIN_DB``, else
``sqlite:///pharmatwin-data/historian.db`` in the current directory).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast, get_args

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.core.utc import parse_utc
from pharmatwin.historian.checks import iso_z
from pharmatwin.historian.errors import HistorianError
from pharmatwin.historian.queries import How
from pharmatwin.historian.records import to_us
from pharmatwin.historian.store import Historian
from pharmatwin.historian.transfer import describe, export_file, import_file
from pharmatwin.historian.urls import open_historian, resolve_db_url

STORAGE_EXIT = 1
DB_HELP = "Database URL: sqlite:///path.db or postgresql://... (default: $PHARMATWIN_DB or "
DB_HELP += "sqlite:///pharmatwin-data/historian.db)."
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)\s*$")
_UNIT_SECONDS = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}

historian_app = typer.Typer(help="Store and read plant data (the historian).", no_args_is_help=True)
query_app = typer.Typer(help="Read samples: a window, the latest values, or bins.")
historian_app.add_typer(query_app, name="query", no_args_is_help=True)

DB = typer.Option(None, "--db", help=DB_HELP)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


@contextmanager
def opened(db: str | None) -> Iterator[Historian]:
    """The historian of ``--db``; bad input exits 2, a storage failure exits 1."""
    try:
        with bad_input():
            historian = open_historian(resolve_db_url(db))
        with historian, bad_input():
            yield historian
    except HistorianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(STORAGE_EXIT) from None


def parse_time(option: str, text: str | None) -> datetime | None:
    """An ISO 8601 UTC time option (``None`` stays ``None``)."""
    if text is None:
        return None
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None


def parse_duration(option: str, text: str) -> timedelta:
    """A duration such as ``30s``, ``10min``, ``1h``, ``1d`` or ``500ms``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{option}: {text!r} is not a duration such as 30s, 10min, 1h or 1d")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{option}: must be positive, got {text!r}")
    return timedelta(seconds=seconds)


def _print_rows(title: str, columns: list[str], rows: list[dict[str, Any]], limit: int) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows[:limit]:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    console = Console()
    console.print(table)
    if len(rows) > limit:
        console.print(f"{len(rows) - limit:,} more rows not shown (use --limit or --json)")


@historian_app.command("export")
def export(
    out: Path = typer.Argument(..., help="File to write: .csv or .parquet."),
    tag: list[str] | None = typer.Option(
        None, "--tag", help="Tag to export (repeat; default all)."
    ),
    start: str | None = typer.Option(None, help="From this UTC time (ISO 8601), inclusive."),
    end: str | None = typer.Option(None, help="Up to this UTC time (ISO 8601), exclusive."),
    db: str | None = DB,
) -> None:
    """Write samples to a historian file (the columns `simulate --out` writes)."""
    with bad_input():
        window = parse_time("--start", start), parse_time("--end", end)
    with opened(db) as historian:
        rows = export_file(historian, out, tag or None, *window)
    print(f"{rows:,} samples written to {out}")


@historian_app.command("import")
def import_(
    path: Path = typer.Argument(..., help="File to read: .csv or .parquet."),
    source: str = typer.Option("file", help="Source name recorded with quarantined rows."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Store the samples of a historian file; bad rows are quarantined with their reason."""
    if not path.is_file():
        fail(f"{path}: no such file")
    with opened(db) as historian:
        result = import_file(historian, path, source)
    if as_json:
        counts = {k: getattr(result, k) for k in ("inserted", "duplicates", "quarantined")}
        print(json.dumps(counts))
    else:
        print(f"{path}: {describe(result)}")


@query_app.command("window")
def window(
    tag: list[str] | None = typer.Option(None, "--tag", help="Tag (repeat; default all)."),
    start: str | None = typer.Option(None, help="From this UTC time (ISO 8601), inclusive."),
    end: str | None = typer.Option(None, help="Up to this UTC time (ISO 8601), exclusive."),
    limit: int = typer.Option(100, help="Rows shown in the table."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Samples between two times, by tag then time."""
    with bad_input():
        bounds = parse_time("--start", start), parse_time("--end", end)
    with opened(db) as historian:
        frame = historian.window(tag or None, *bounds)
    rows = [_sample_row(s.tag, to_us(s.time), s.value, s.quality) for s in frame.to_samples()]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        _print_rows(f"{len(rows):,} samples", ["tag", "time", "value", "quality"], rows, limit)


def _sample_row(tag: str, time_us: int, value: float, quality: int) -> dict[str, Any]:
    return {"tag": tag, "time": iso_z(time_us), "value": value, "quality": quality}


@query_app.command("latest")
def latest(
    tag: list[str] | None = typer.Option(None, "--tag", help="Tag (repeat; default all)."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """The last sample of each tag."""
    with opened(db) as historian:
        found = historian.latest(tag or None)
    rows = [_sample_row(s.tag, to_us(s.time), s.value, s.quality) for s in found.values()]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        _print_rows("Latest samples", ["tag", "time", "value", "quality"], rows, len(rows))


@query_app.command("resample")
def resample(
    tag: str = typer.Option(..., "--tag", help="The tag."),
    start: str = typer.Option(..., help="First bin's start, UTC (ISO 8601)."),
    end: str = typer.Option(..., help="End of the last bin, UTC (ISO 8601)."),
    every: str = typer.Option("1h", help="Bin width: 30s, 10min, 1h, 1d ..."),
    how: str = typer.Option("mean", help="mean, min, max, first, last or count."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """One value per time bin (empty bins: null; count 0)."""
    with bad_input():
        low, high = parse_time("--start", start), parse_time("--end", end)
        step = parse_duration("--every", every)
        if how not in get_args(How):
            raise ValueError(f"--how: {how!r} is not one of {', '.join(get_args(How))}")
    if low is None or high is None:  # pragma: no cover - both options are required
        fail("--start and --end are required")
    with opened(db) as historian:
        edges, values = historian.resample(tag, low, high, step, cast(How, how))
    rows = [
        {"start": iso_z(int(e)), how: None if np.isnan(v) else float(v)}
        for e, v in zip(edges.tolist(), values.tolist(), strict=True)
    ]
    if as_json:
        print(json.dumps({"tag": tag, "every_s": step.total_seconds(), "bins": rows}, indent=2))
    else:
        _print_rows(f"{tag}: {how} every {every}", ["start", how], rows, len(rows))


@historian_app.command("tags")
def tags(db: str | None = DB, as_json: bool = JSON) -> None:
    """Every tag with its unit, asset and description."""
    with opened(db) as historian:
        found = historian.tags()
    rows = [
        {"name": t.name, "unit": t.unit, "asset": t.asset, "description": t.description}
        for t in found
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        _print_rows(f"{len(rows)} tags", ["name", "unit", "asset", "description"], rows, len(rows))


@historian_app.command("quarantine")
def quarantine(
    source: str | None = typer.Option(None, help="Only values from this source."),
    since: str | None = typer.Option(None, help="Received at or after this UTC time."),
    limit: int = typer.Option(100, help="Rows shown in the table."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Values received and not stored, with the reasons."""
    with bad_input():
        after = parse_time("--since", since)
    with opened(db) as historian:
        items = historian.quarantined(source, after)
    rows = [
        {
            "received": iso_z(to_us(q.received)),
            "source": q.source,
            "tag": q.tag,
            "time": None if q.time is None else iso_z(to_us(q.time)),
            "raw": q.raw,
            "reason": q.reason,
        }
        for q in items
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        columns = ["received", "source", "tag", "time", "raw", "reason"]
        _print_rows(f"{len(rows):,} quarantined values", columns, rows, limit)
