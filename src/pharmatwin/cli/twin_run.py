"""``pharmatwin twin run``: keep every twin of a plant configuration live."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from pharmatwin.cli.errors import bad_input

if TYPE_CHECKING:
    from pharmatwin.gmp.versions import VersionStore
    from pharmatwin.runtime.plant_config import PlantConfig

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
    """Consume live data, update each twin, forecast and alarm; Ctrl-C stops cleanly.

    Each twin's configuration and recipe are versioned in the database's GMP records: in the
    configuration's ``mode: production`` only approved versions run; in development an
    unapproved one is recorded as a draft. The batch and its forecasts name the versions used.
    """
    from pharmatwin.gmp.audit import AuditTrail
    from pharmatwin.gmp.signatures import Signatures
    from pharmatwin.gmp.users import UserStore
    from pharmatwin.gmp.versions import VersionStore
    from pharmatwin.historian.urls import resolve_db_url
    from pharmatwin.runtime.plant_config import load_plant_config

    with bad_input():
        plant = load_plant_config(config)
        url = resolve_db_url(db or plant.db or None)
    console = Console(stderr=True)
    users, audit = UserStore(url), AuditTrail(url)
    versions = VersionStore(url, audit=audit, signatures=Signatures(users=users, audit=audit))
    try:
        _run(plant, url, versions, console, poll_s=poll_s, until_finished=until_finished)
    finally:
        audit.close()
        users.close()


def _run(
    plant: PlantConfig,
    url: str,
    versions: VersionStore,
    console: Console,
    *,
    poll_s: float,
    until_finished: bool,
) -> None:
    from pharmatwin.runtime.runner import Runtime
    from pharmatwin.runtime.versioned_twin import UnapprovedConfiguration

    runtime = Runtime(plant, url, versions=versions)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        with bad_input("--config"):
            runtime.start()
    except UnapprovedConfiguration as exc:
        runtime.stop()
        signal.signal(signal.SIGINT, previous)
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
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
