"""``pharmatwin lyo validate-twin``: the freeze-drying twin's end-of-drying forecast validated on
the virtual freeze dryer (issue 6 acceptance: within 10 % at half the drying time, every seed).

Exit code 0 when every seed is within the tolerance, 1 when one is not, 2 on bad input.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import fail
from pharmatwin.runtime.lyo_validation import ValidationReport, validate_end_forecast


def validate_twin(
    seeds: int = typer.Option(20, "--seeds", help="Number of virtual batches (seeds 0..N-1)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Run the virtual freeze dryer for each seed, feed the twin half of the drying time and
    compare its forecast end of primary drying with the true end."""
    if seeds < 1:
        fail(f"--seeds: need at least 1, got {seeds}")
    report = validate_end_forecast(seeds)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _print(report)
    if not report.passed:
        raise typer.Exit(1)


def _print(report: ValidationReport) -> None:
    table = Table(
        title=(
            f"End of primary drying forecast at {report.at_fraction:.0%} of the drying time "
            f"(tolerance {report.tolerance:.0%})"
        )
    )
    for column in (
        "seed",
        "true end [h]",
        "forecast at [h]",
        "p05 [h]",
        "p50 [h]",
        "p95 [h]",
        "error",
    ):
        table.add_column(column, justify="right")
    for r in report.results:
        table.add_row(
            str(r.seed),
            f"{r.true_end_h:.3f}",
            f"{r.at_h:.2f}",
            *(f"{v:.3f}" for v in r.forecast_h),
            f"{r.relative_error:+.1%}",
        )
    console = Console()
    console.print(table)
    verdict = "PASSED" if report.passed else "FAILED"
    console.print(
        f"{verdict}: largest error {report.max_abs_error:.1%} over {len(report.results)} seeds "
        f"({report.seconds:.0f} s)"
    )
