"""``pharmatwin mspc raman-study``: the Raman soft sensor on the virtual bioreactor.

Calibrates the glucose and lactate soft sensor on a calibration campaign of nominal batches,
validates it on independent batches of every built-in scenario (RMSEP beside the at-line assay's
error), and measures the twin's glucose error with and without the sensor's results.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import fail

if TYPE_CHECKING:
    from pharmatwin.runtime.softsensor_study import BatchResult, StudyResult

FIRST_TEST_SEED = 9201
"""Validation batches use seeds from here (the calibration campaign uses 9101 and 9102)."""


def raman_study(
    seeds: int = typer.Option(5, "--seeds", help="Validation seeds per scenario."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Raman soft sensor: calibration, RMSEP vs the at-line assay, the twin with and without."""
    from pharmatwin.runtime.softsensor_study import StudySettings, run_study

    if seeds < 1:
        fail(f"--seeds: must be at least 1, got {seeds}")
    settings = StudySettings(
        test_seeds=tuple(range(FIRST_TEST_SEED, FIRST_TEST_SEED + seeds)),
        workers=max(1, min(2, os.cpu_count() or 1)),
    )
    console = Console(stderr=True)

    def show(b: BatchResult) -> None:
        console.print(
            f"{b.scenario:28s} seed {b.seed}: RMSEP glucose {b.rmsep['glucose']:.2f} mM, "
            f"lactate {b.rmsep['lactate']:.2f} mM; flagged {b.flagged:.0%}; twin glucose "
            f"{b.twin_without:.2f} -> {b.twin_with:.2f} mM"
        )

    result = run_study(settings, progress=None if as_json else show)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    _print(result)


def _print(result: StudyResult) -> None:
    out = Console()
    cal = result.calibration()
    pre = cal["preprocessing"]
    regions = ", ".join(f"{lo:g}-{hi:g}" for lo, hi in pre["regions"])
    out.print(
        f"calibration: Savitzky-Golay derivative {pre['deriv']} (window {pre['window']}, "
        f"order {pre['polyorder']}), {regions} cm^-1, SNV {'on' if pre['use_snv'] else 'off'}"
    )
    for name, a in cal["analytes"].items():
        out.print(
            f"  {name}: {a['components']} PLS components, RMSECV {a['rmsecv']:.2f} mM "
            f"on {a['spectra']} spectra"
        )
    table = Table(title="Raman soft sensor on independent batches (means over seeds; mM)")
    for column in (
        "scenario",
        "RMSEP glc",
        "assay glc",
        "RMSEP lac",
        "assay lac",
        "flagged",
        "twin glc without",
        "twin glc with",
        "improved",
    ):
        table.add_column(column)
    for name, f in result.by_scenario().items():
        table.add_row(
            name,
            f"{f['rmsep_glucose']:.2f}",
            f"{f['assay_error_glucose']:.2f}",
            f"{f['rmsep_lactate']:.2f}",
            f"{f['assay_error_lactate']:.2f}",
            f"{f['flagged']:.1%}",
            f"{f['twin_glucose_without']:.2f}",
            f"{f['twin_glucose_with']:.2f}",
            f"{f['twin_improved_share']:.0%}",
        )
    out.print(table)
    out.print(
        "assay: the at-line assay's error (3 % relative) at the same true concentrations; "
        "twin: RMSE of the twin's glucose (belief mean) against the truth over the batch hours"
    )
