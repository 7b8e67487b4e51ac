"""``pharmatwin twin replay``: run the twin over recorded plant data."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.cli.twin_run import run as run_live
from pharmatwin.forecasting.alarms import AlarmSettings
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.bioreactor_twin import TwinRun, TwinSettings
from pharmatwin.runtime.plant_record import PlantRecord
from pharmatwin.runtime.twin_documents import (
    alarm_document,
    fault_document,
    forecast_document,
    ranking_document,
)

if TYPE_CHECKING:
    from pharmatwin.runtime.twin_study import BatchScore, StudySummary

twin_app = typer.Typer(help="Run a twin over plant data.", no_args_is_help=True)
twin_app.command("run")(run_live)


@twin_app.command("replay")
def replay(
    data: Path = typer.Option(..., help="Plant data: the CSV written by `simulate --out`."),
    asset: str | None = typer.Option(None, help="Built-in asset name or an asset YAML file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Replay recorded data through the twin: forecasts, alarms, sensor faults."""
    if not data.is_file():
        fail(f"--data: no such file {str(data)!r}")
    with bad_input():
        chosen = load_asset(asset)
        record = PlantRecord.from_csv(data)
    with bad_input("--asset"):
        run = chosen.build_twin().replay(record)
    document = timeline(run, record)
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        _print(document)


def timeline(run: TwinRun, record: PlantRecord) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "alarms": [alarm_document(a) for a in run.alarms],
        "sensor_faults": [fault_document(f) for f in run.sensor_faults],
        "forecasts": [forecast_document(fc) for fc in run.forecasts],
        "recommendations": [ranking_document(t, ranked) for t, ranked in run.recommendations],
        "rejected": [{"t_h": r.time_h, "tag": r.tag, "reason": r.reason} for r in record.rejected]
        + [
            {"t_h": t, "tag": tag, "reason": reason} for t, tag, reason in run.rejected_measurements
        ],
    }


def _print(document: dict[str, Any]) -> None:
    console = Console()
    table = Table(title="Alarms")
    for column in ("raised [h]", "kind", "spec", "P(fail)", "predicted violation [h]", "lead [h]"):
        table.add_column(column)
    for a in document["alarms"]:
        table.add_row(
            f"{a['raised_at_h']:.1f}",
            a["kind"],
            a["spec"],
            f"{a['probability']:.2f}",
            "-" if a["predicted_violation_h"] is None else f"{a['predicted_violation_h']:.0f}",
            "-" if a["lead_time_h"] is None else f"{a['lead_time_h']:.0f}",
        )
    console.print(table)
    last = document["forecasts"][-1] if document["forecasts"] else None
    if last is not None:
        console.print(f"last forecast at {last['t_h']:.0f} h:")
        for name, q in last["cqa"].items():
            console.print(
                f"  {name}: {q['p05']} / {q['p50']} / {q['p95']}  P(fail) {q['p_fail']:.2f}"
            )
    for rec in document["recommendations"]:
        best = rec["ranked"][0]
        console.print(
            f"at {rec['t_h']:.0f} h the twin recommends: {best['action']} "
            f"(P(meet all specs) {best['p_ok_before']:.2f} -> {best['p_ok_after']:.2f})"
        )
    if document["rejected"]:
        console.print(f"{len(document['rejected'])} values not used (see --json for reasons)")


@twin_app.command("study")
def study(
    seeds: int = typer.Option(20, help="Seeds per fault scenario."),
    nominal_seeds: int = typer.Option(40, help="Seeds of the nominal scenario."),
    members: int = typer.Option(200, help="Ensemble size of the twin."),
    forecast_every: float = typer.Option(6.0, help="Hours between forecasts."),
    workers: int = typer.Option(2, help="Processes to run batches in."),
    estimator: str = typer.Option(
        "enkf", help="enkf (ensemble Kalman filter), pf (particle filter) or both."
    ),
    recovery_seeds: int = typer.Option(
        5, help="Seeds per fault on which the top recommendation is carried out on the plant."
    ),
    seed_offset: int = typer.Option(
        0, help="Added to every seed: another set of plants (nominal 1000+, faults 2000+)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Validation study: every fault scenario and nominal, many seeds, twin vs truth."""
    from dataclasses import asdict

    from pharmatwin.runtime.twin_study import run_study, summarize

    for name, value, low in (
        ("--seeds", seeds, 0),
        ("--nominal-seeds", nominal_seeds, 1),
        ("--members", members, 10),
        ("--workers", workers, 1),
        ("--seed-offset", seed_offset, 0),
    ):
        if value < low:
            fail(f"{name}: must be at least {low}, got {value}")
    if estimator not in ("enkf", "pf", "both"):
        fail(f"--estimator: choose enkf, pf or both, not {estimator!r}")
    asset = load_asset()
    console = Console(stderr=True)
    summaries = {}
    for name in ("enkf", "pf") if estimator == "both" else (estimator,):
        settings = TwinSettings(
            members=members,
            forecast_every_h=forecast_every,
            alarms=AlarmSettings(**asset.alarms.model_dump()),
            actions=tuple(asset.actions),
            estimator="pf" if name == "pf" else "enkf",
        )

        def show(score: BatchScore, filter_name: str = name) -> None:
            console.print(_progress(filter_name, score))

        scores = run_study(
            seeds,
            nominal_seeds,
            settings,
            workers=workers,
            # with both filters, the recommendations are carried out for the EnKF twin only
            recovery_seeds=recovery_seeds if name == "enkf" or estimator == "pf" else 0,
            seed_offset=seed_offset,
            progress=None if as_json else show,
        )
        summaries[name] = summarize(scores)
    if as_json:
        document = {k: asdict(v) for k, v in summaries.items()}
        print(json.dumps(document if estimator == "both" else document[estimator], indent=2))
        return
    for name, summary in summaries.items():
        _print_summary(name, summary)


def _progress(estimator: str, s: BatchScore) -> str:
    alarm = "no alarm" if math.isnan(s.alarm_h) else f"first alarm {s.alarm_h:.0f} h"
    return (
        f"{estimator} {s.scenario:28s} seed {s.seed}: fails {', '.join(s.failed) or '-'}; {alarm}"
    )


def _print_summary(estimator: str, summary: StudySummary) -> None:
    out = Console()
    out.print(
        f"[bold]{estimator.upper()}[/bold]: {summary.batches} batches: {summary.passing} meet "
        f"every specification, {summary.failing} fail one"
    )
    out.print(
        f"false alarm rate on passing nominal batches: {summary.false_alarm_rate:.1%} "
        f"(target <= 5 %); on every passing batch: {summary.false_alarm_rate_all_passing:.1%}"
    )
    out.print(
        f"failing batches alarmed >= 24 h before the first violation: "
        f"{summary.timely_detection:.1%} (target >= 90 %); "
        f"median lead {summary.median_lead_h:.0f} h"
    )
    for day, error in summary.titre_mape.items():
        out.print(
            f"final-titre forecast on nominal batches, day {day}: median abs. error {error:.1%}"
            + (" (target <= 10 %)" if day == 7 else "")
        )
    out.print(
        f"coverage of the 90 % interval of final titre: {summary.coverage_90:.1%} (target 85-95 %)"
    )
    if summary.recoverable:
        out.print(
            f"top recommendation restores compliance in {summary.recovered_share:.0%} of "
            f"{summary.recoverable} recoverable fault batches (target >= 80 %)"
        )
