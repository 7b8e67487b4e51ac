"""``pharmatwin twin run``: keep every twin of a plant configuration live."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console

from pharmatwin.cli.errors import bad_input

DB_HELP = (
    "Historian URL: sqlite:///path or postgresql://...; default $PHARMATWIN_DB, "
    "else sqlite:///pharmatwin-data/historian.db"
)


def run(
    config: Path = typer.Option(..., "--config", help="The plant configuration (YAML)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    poll_s: float = typer.Option(1.0, "--poll", min=0.01, help="Seconds between polls."),
    until_finished: bool = typer.Option(
        False, "--until-finished", help="Stop once every twin has reached harvest."
    ),
) -> None:
    """Consume live data, update each twin, forecast and alarm; Ctrl-C stops cleanly."""
    from pharmatwin.historian.urls import resolve_db_url
    from pharmatwin.runtime.plant_config import load_plant_config
    from pharmatwin.runtime.runner import Runtime

    with bad_input():
        plant = load_plant_config(config)
        url = resolve_db_url(db or plant.db or None)
    console = Console(stderr=True)
    runtime = Runtime(plant, url)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with bad_input("--config"):
        runtime.start()
    try:
        for name, twin in runtime.twins.items():
            console.print(
                f"{name}: batch {twin.batch.batch_id}, resuming after hour {twin.resumed_from_h:g}"
                if twin.resumed_from_h
                else f"{name}: batch {twin.batch.batch_id} from its start"
            )
        console.print(f"historian {url}; sources: {', '.join(runtime.connectors)}; Ctrl-C stops")
        while not stop.is_set():
            report = runtime.poll()
            for name, steps in report.steps.items():
                for step in steps:
                    for alarm in step.alarms:
                        console.print(
                            f"{name} {step.hour:g} h: ALARM {alarm.kind} {alarm.spec} "
                            f"P(fail) {alarm.probability:.0%}"
                        )
            if until_finished and runtime.finished():
                break
            stop.wait(poll_s)
    finally:
        runtime.stop()
        signal.signal(signal.SIGINT, previous)
    console.print("stopped")
