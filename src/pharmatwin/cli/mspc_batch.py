"""``pharmatwin mspc batch-study``: multivariate batch monitoring validated on the virtual plant.

Trains a batch evolution model on good batches of the virtual bioreactor and watches good test
batches and every built-in fault scenario hour by hour (``pharmatwin.runtime.mspc_study``);
prints, per scenario, the share of batches flagged, the mean detection delay after the fault's
onset and how often the top contribution names a variable the fault acts on, and the share of
good batches falsely flagged.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail


def batch_study(
    train: int = typer.Option(30, "--train", help="Good batches to train on."),
    seeds: int = typer.Option(10, "--seeds", help="Batches (realizations) per fault scenario."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Batch monitoring study: flagged share, delay and contribution hits per fault scenario."""
    from pharmatwin.runtime.mspc_study import StudySettings, run_study, study_document

    if train < 5:
        fail(f"--train: need at least 5 good batches, got {train}")
    if seeds < 1:
        fail(f"--seeds: need at least 1, got {seeds}")
    with bad_input():
        result = run_study(StudySettings(train=train, seeds=seeds))
    document = study_document(result)
    if as_json:
        print(json.dumps(document, allow_nan=False))
        return
    s = result.settings
    table = Table(
        title=(
            f"Batch monitoring: BEM trained on {s.train} good batches, {s.seeds} batches per "
            f"fault, alarm after {s.consecutive} h over a {s.alpha:.0%} limit"
        )
    )
    for column in ("scenario", "flagged", "delay (h)", "top contribution hit", "top variables"):
        table.add_column(column)
    for r in result.faults:
        table.add_row(
            r.scenario,
            f"{r.flagged:.0%}",
            "-" if r.mean_delay_h != r.mean_delay_h else f"{r.mean_delay_h:.1f}",
            "-" if r.hit_rate != r.hit_rate else f"{r.hit_rate:.0%}",
            ", ".join(f"{k} ({n})" for k, n in sorted(r.top_variables().items())),
        )
    console = Console()
    console.print(table)
    failed = result.failed
    console.print(
        f"good test batches falsely flagged: {result.good.flagged:.0%} "
        f"of {len(result.good.outcomes)}; nominal batches that failed a specification, "
        f"flagged: {sum(o.alarm is not None for o in failed.outcomes)} "
        f"of {len(failed.outcomes)}"
    )
    quality = ", ".join(
        f"{name} {result.quality_rmsep[name]:.3g} (sd {result.quality_sd[name]:.3g})"
        for name in result.quality_rmsep
    )
    console.print(f"batch level model, RMSEP on the good test batches: {quality}")
