"""``pharmatwin genealogy``: trace a lot backward or forward, scope a recall.

Every command takes ``--db URL`` (default: ``PHARMATWIN_DB``, else
``sqlite:///pharmatwin-data/historian.db`` in the current directory). Bad input (an unknown
lot, no direction) exits 2 naming the option; a database failure exits 1.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.gmp.genealogy_read import GenealogyReader
from pharmatwin.gmp.genealogy_records import GenealogyError, Step
from pharmatwin.gmp.genealogy_trace import RecallScope, Trace, Unit, format_path
from pharmatwin.historian.errors import HistorianError
from pharmatwin.historian.urls import resolve_db_url

STORAGE_EXIT = 1
DB_HELP = "Database URL: sqlite:///path.db or postgresql://... (default: $PHARMATWIN_DB or "
DB_HELP += "sqlite:///pharmatwin-data/historian.db)."
_FIELDS = {"lot_id": "--lot"}
"""Fields of the library's messages and the options that give them."""

genealogy_app = typer.Typer(
    help="Material genealogy: trace lots backward and forward, scope a recall.",
    no_args_is_help=True,
)

DB = typer.Option(None, "--db", help=DB_HELP)
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
LOT = typer.Option(..., "--lot", help="The lot id.")


@contextmanager
def opened(db: str | None) -> Iterator[GenealogyReader]:
    """The genealogy of ``--db``; bad input exits 2, a storage failure exits 1."""
    try:
        with bad_input():
            genealogy = GenealogyReader(resolve_db_url(db))
        with genealogy:
            try:
                yield genealogy
            except GenealogyError as exc:
                field, _, rest = str(exc).partition(": ")
                fail(f"{_FIELDS.get(field, field)}: {rest}")
    except HistorianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(STORAGE_EXIT) from None


def _iso(step: Step) -> tuple[str, str]:
    def fmt(time: Any) -> str:
        return "" if time is None else time.strftime("%Y-%m-%dT%H:%M:%SZ")

    return fmt(step.start), fmt(step.end)


def _step_dict(step: Step) -> dict[str, Any]:
    start, end = _iso(step)
    return {
        "step_id": step.step_id,
        "segment": step.segment,
        "batch_id": step.batch_id,
        "equipment_id": step.equipment_id,
        "start": start,
        "end": end or None,
    }


def _unit_dict(unit: Unit) -> dict[str, str]:
    return {
        "kind": unit.kind,
        "id": unit.id,
        "lot_id": unit.lot_id,
        "material_id": unit.material_id,
        "material_kind": unit.material_kind,
    }


def trace_dict(trace: Trace) -> dict[str, Any]:
    """A trace as JSON data."""
    return {
        "direction": trace.direction,
        "start": _unit_dict(trace.start),
        "lots": [_unit_dict(lot) for lot in trace.lots],
        "containers": [
            {
                "lot_id": group.lot_id,
                "material_id": group.material_id,
                "material_kind": group.material_kind,
                "ids": list(group.ids),
            }
            for group in trace.containers
        ],
        "steps": [_step_dict(step) for step in trace.steps],
        "equipment": list(trace.equipment),
        "batches": list(trace.batches),
    }


def recall_dict(scope: RecallScope) -> dict[str, Any]:
    """A recall scope as JSON data (each container with its path, hops and as text)."""
    return {
        "lot": _unit_dict(scope.lot),
        "finished_lots": [
            {
                "lot_id": f.lot_id,
                "material_id": f.material_id,
                "affected": f.affected,
                "total": f.total,
            }
            for f in scope.finished_lots
        ],
        "containers": [
            {
                "container_id": c.container_id,
                "lot_id": c.lot_id,
                "material_id": c.material_id,
                "path": format_path(c.path),
                "hops": [{"step_id": h.step_id, **_unit_dict(h.unit)} for h in c.path],
            }
            for c in scope.containers
        ],
        "lots": [_unit_dict(lot) for lot in scope.lots],
        "steps": [_step_dict(step) for step in scope.steps],
        "batches": list(scope.batches),
    }


def _steps_table(steps: tuple[Step, ...]) -> Table:
    table = Table(title=f"{len(steps)} steps")
    for column in ("step", "segment", "batch", "equipment", "start", "end"):
        table.add_column(column)
    for step in steps:
        table.add_row(step.step_id, step.segment, step.batch_id, step.equipment_id, *_iso(step))
    return table


@genealogy_app.command("trace")
def trace(
    lot: str = LOT,
    forward: bool = typer.Option(False, "--forward", help="Where did the lot go."),
    backward: bool = typer.Option(False, "--backward", help="What went into the lot."),
    db: str | None = DB,
    as_json: bool = JSON,
) -> None:
    """Trace a lot forward (where it went) or backward (what went into it)."""
    if forward == backward:
        fail("--forward/--backward: give exactly one of them")
    with opened(db) as genealogy:
        result = genealogy.trace(lot_id=lot, direction="forward" if forward else "backward")
    if as_json:
        print(json.dumps(trace_dict(result), indent=2))
        return
    console = Console()
    way = "downstream of" if forward else "upstream of"
    print(
        f"{result.direction} trace {way} lot {lot}: {len(result.lots)} lots, "
        f"{result.container_count} containers, {len(result.steps)} steps"
    )
    lots = Table(title=f"{len(result.lots)} lots")
    for column in ("lot", "material", "class", "containers"):
        lots.add_column(column)
    counts = {group.lot_id: len(group.ids) for group in result.containers}
    for unit in result.lots:
        lots.add_row(unit.id, unit.material_id, unit.material_kind, str(counts.get(unit.id, 0)))
    console.print(lots)
    console.print(_steps_table(result.steps))


@genealogy_app.command("recall")
def recall(
    lot: str = LOT,
    db: str | None = DB,
    as_json: bool = JSON,
    csv_file: Path | None = typer.Option(
        None, "--csv", help="Also write every affected container and its path to this CSV file."
    ),
) -> None:
    """Scope a recall: the finished containers a defective lot reached, with paths."""
    with opened(db) as genealogy:
        scope = genealogy.recall(lot)
    if csv_file is not None:
        with bad_input("--csv"):
            write_csv(scope, csv_file)
    if as_json:
        print(json.dumps(recall_dict(scope), indent=2))
        return
    print(
        f"recall of lot {lot}: {len(scope.containers)} finished containers in "
        f"{len(scope.finished_lots)} lots, {len(scope.batches)} batches in between"
    )
    table = Table(title="finished lots (--json or --csv for every container and its path)")
    for column in ("lot", "material", "affected", "of", "a path"):
        table.add_column(column)
    first: dict[str, str] = {}
    for c in scope.containers:
        first.setdefault(c.lot_id, format_path(c.path))
    for f in scope.finished_lots:
        path = first.get(f.lot_id, "")
        table.add_row(f.lot_id, f.material_id, str(f.affected), str(f.total), path)
    console = Console()
    console.print(table)
    console.print(_steps_table(scope.steps))


def write_csv(scope: RecallScope, path: Path) -> None:
    """One row per affected container: ``container_id, lot_id, material_id, path``."""
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["container_id", "lot_id", "material_id", "path"])
            for c in scope.containers:
                writer.writerow([c.container_id, c.lot_id, c.material_id, format_path(c.path)])
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror}") from None
