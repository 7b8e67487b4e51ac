"""``pharmatwin simulate bioreactor``: run the virtual bioreactor and report its CQAs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.core.specs import SpecResult
from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.records import PlantRun
from pharmatwin.equipment.bioreactor.scenario import Scenario, load_scenario
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.historian.files import write_samples
from pharmatwin.runtime.plant_export import sensor_table

MAX_MEMBERS = 1_000

simulate_app = typer.Typer(help="Simulate a piece of equipment.", no_args_is_help=True)


@simulate_app.command("bioreactor")
def bioreactor(
    scenario: str = typer.Option("nominal", help="Built-in scenario name or a YAML file."),
    seed: int | None = typer.Option(None, help="Override the scenario's random seed."),
    members: int = typer.Option(1, help="Independent plant realizations (1 to 1,000)."),
    out: Path | None = typer.Option(None, help="Write sensor data (.csv or .parquet)."),
    plot: Path | None = typer.Option(None, help="Draw the main signals (.png or .html)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Run a 14-day CHO fed-batch on the virtual bioreactor and check every CQA."""
    if not 1 <= members <= MAX_MEMBERS:
        fail(f"--members: must be between 1 and {MAX_MEMBERS:,}, got {members}")
    with bad_input():
        chosen = load_scenario(scenario)
        if seed is not None:
            if seed < 0:
                raise ValueError(f"--seed: must be >= 0, got {seed}")
            chosen = chosen.model_copy(update={"seed": seed})
    for path, kinds in ((out, (".csv", ".parquet")), (plot, (".png", ".html"))):
        if path is not None and path.suffix.lower() not in kinds:
            fail(f"{path}: unknown file type; use {' or '.join(kinds)}")
    with bad_input("simulation"):
        run = _run_with_progress(chosen, members, quiet=as_json)
    results = run.assess(SPECIFICATIONS)
    if out is not None:
        with bad_input():
            write_samples(sensor_table(run, chosen.start_utc, f"{chosen.name}-{chosen.seed}"), out)
    if plot is not None:
        from pharmatwin.cli.plots import plot_run

        with bad_input("--plot"):
            plot_run(run, SPECIFICATIONS, plot, title=f"{chosen.name} (seed {chosen.seed})")
    if as_json:
        print(json.dumps(summary(run, results), indent=2, allow_nan=False))
    else:
        _print_table(chosen, run, results, out, plot)


def summary(run: PlantRun, results: list[SpecResult]) -> dict[str, Any]:
    """The ``--json`` document: medians over members, and ``p_fail`` for ensembles."""
    ensemble = run.members > 1
    cqa: dict[str, Any] = {}
    violations: dict[str, float | None] = {}
    for r in results:
        value = float(np.median(r.value))
        entry: dict[str, Any] = {
            "value": value if math.isfinite(value) else None,
            "limit": _limit(r),
            "unit": r.spec.unit,
            "pass": bool(r.spec.within(np.array([value]))[0]) if ensemble else bool(r.passed[0]),
        }
        if ensemble:
            entry["p_fail"] = r.p_fail
        cqa[r.spec.name] = entry
        violations[r.spec.name] = median_first_violation(r)
    return {"cqa": cqa, "harvest_h": float(run.t[-1]), "violations": violations}


def median_first_violation(result: SpecResult) -> float | None:
    """Median over members of the time of first violation (a member that never violates
    counts as never); None when the median member never violates."""
    first = np.where(np.isnan(result.first_violation_h), np.inf, result.first_violation_h)
    median = float(np.median(first))
    return None if math.isinf(median) else median


def _limit(result: SpecResult) -> float | list[float] | None:
    spec = result.spec
    if spec.lower is not None and spec.upper is not None:
        return [spec.lower, spec.upper]
    return spec.lower if spec.lower is not None else spec.upper


def _run_with_progress(scenario: Scenario, members: int, quiet: bool) -> PlantRun:
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f} %"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task(f"simulating {scenario.name}", total=1.0)
        return run_plant(scenario, members, lambda f: progress.update(task, completed=f))


def _print_table(
    scenario: Scenario,
    run: PlantRun,
    results: list[SpecResult],
    out: Path | None,
    plot: Path | None,
) -> None:
    console = Console()
    faults = ", ".join(f.kind for f in scenario.faults) or "none"
    console.print(
        f"[bold]{scenario.name}[/] seed {scenario.seed}, {run.members} member(s), "
        f"harvest at {run.t[-1]:g} h, faults: {faults}"
    )
    table = Table(title="Critical quality attributes (true values)")
    for column in ("CQA", "value", "limit", "when", "result", "first violation"):
        table.add_column(column)
    if run.members > 1:
        table.add_column("P(fail)")
    for r in results:
        value = float(np.median(r.value))
        ok = bool(r.spec.within(np.array([value]))[0])
        first = median_first_violation(r)
        row = [
            r.spec.name,
            f"{value:.3g} {r.spec.unit}",
            r.spec.limit_text(),
            r.spec.when,
            "[green]pass[/]" if ok else "[red]FAIL[/]",
            "-" if first is None else f"{first:.1f} h",
        ]
        if run.members > 1:
            row.append(f"{r.p_fail:.2f}")
        table.add_row(*row)
    console.print(table)
    if out is not None:
        console.print(f"sensor data written to {out}")
    if plot is not None:
        console.print(f"plot written to {plot}")
