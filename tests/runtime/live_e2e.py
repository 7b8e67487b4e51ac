"""End-to-end runs shared by the OPC UA and MQTT tests: the virtual plant served by
``pharmatwin plant serve`` in its own process, the runtime consuming it into a historian, and
the comparison of what the live twin wrote with ``pharmatwin twin replay`` on the same data."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from pharmatwin.cli.main import app
from pharmatwin.equipment.bioreactor.live import LivePlant
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.historian.transfer import export_file
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.plant_config import PlantConfig
from pharmatwin.runtime.runner import Runtime

SCENARIO = "feed-pump-failure"
CONTROL_STEP_MIN = 5.0
"""Five-minute online data (the plant's default is one minute) keep the run short: 24,000
readings over the 342 h batch instead of 123,000."""
SPEED = 36_000.0
"""Ten batch hours a second: the whole batch in about 35 s."""
MEMBERS = 60
DEADLINE_S = 300.0


def write_inputs(folder: Path) -> tuple[Path, Path, str]:
    """The scenario file for the plant, the asset file for the twin, and the batch start."""
    scenario = load_scenario(SCENARIO).model_copy(update={"control_step_min": CONTROL_STEP_MIN})
    scenario_file = folder / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump(scenario.model_dump(mode="json")), encoding="utf-8")
    asset = load_asset("br01")
    asset = asset.model_copy(update={"twin": asset.twin.model_copy(update={"members": MEMBERS})})
    asset_file = folder / "asset.yaml"
    asset_file.write_text(yaml.safe_dump(asset.model_dump(mode="json")), encoding="utf-8")
    return scenario_file, asset_file, scenario.start_utc


@contextmanager
def plant_process(args: list[str], port: int | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``pharmatwin plant serve ARGS`` in its own process; waits for its OPC UA port."""
    command = [sys.executable, "-m", "pharmatwin.cli.main", "plant", "serve", *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if port is not None:
            deadline = time.monotonic() + 60.0
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"plant serve exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    time.sleep(0.2)
            else:
                raise TimeoutError("plant serve did not open its port within 60 s")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_until_finished(
    config: PlantConfig,
    db_url: str,
    at_h: float = math.inf,
    interrupt: Callable[[Runtime], Runtime] | None = None,
    plant_done: Callable[[], bool] = lambda: True,
) -> Runtime:
    """Start the runtime and poll until its twin reaches harvest and ``plant_done()`` (the
    plant has published its last result), bounded in time; once the twin has passed ``at_h``,
    ``interrupt(runtime)`` runs once and returns the runtime to go on with."""
    runtime = Runtime(config, db_url)
    runtime.start()
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not (runtime.finished() and plant_done()):
            if time.monotonic() > deadline:
                hours = {n: t.session.hour for n, t in runtime.twins.items()}
                raise TimeoutError(f"twins not finished within {DEADLINE_S:g} s: {hours}")
            runtime.poll()
            if (
                interrupt is not None
                and min(t.session.hour for t in runtime.twins.values()) >= at_h
            ):
                runtime = interrupt(runtime)
                interrupt = None
            time.sleep(0.3)
        time.sleep(1.0)  # the connector's last deliveries
    finally:
        runtime.stop()
    return runtime


def stored_at_least(db_url: str, count: int) -> Callable[[], bool]:
    """True once the historian holds ``count`` samples."""

    def done() -> bool:
        with open_historian(db_url) as historian:
            return historian.count() >= count

    return done


def expected_readings(scenario_file: Path) -> int:
    """How many readings the virtual plant publishes over the whole batch."""
    plant = LivePlant(load_scenario(str(scenario_file)))
    return len(plant.readings_between(-1.0, plant.end_h + 1.0))


def live_and_replayed(db_url: str, asset_file: Path, folder: Path) -> tuple[dict[str, Any], ...]:
    """What the live twin stored (alarms, final forecast) and the replay of the stored data."""
    with open_historian(db_url) as historian:
        events = [e for e in historian.events() if e.kind in ("alarm", "sensor_fault")]
        batch = historian.batches()[0]
        forecasts = historian.outputs("BR01.twin", batch.batch_id, "forecast")
        data = folder / "recorded.csv"
        export_file(historian, data, tags=[t.name for t in historian.tags()])
    result = CliRunner().invoke(
        app, ["twin", "replay", "--data", str(data), "--asset", str(asset_file), "--json"]
    )
    assert result.exit_code == 0, result.output
    replayed = json.loads(result.stdout)
    live = {
        "alarms": [e.data for e in sorted(events, key=lambda e: e.time)],
        "final": forecasts[-1].data,
        "forecast_times": [f.batch_h for f in forecasts],
    }
    return live, replayed


def assert_same_twin(live: dict[str, Any], replayed: dict[str, Any]) -> None:
    """Alarms identical; the final forecast's CQA quantiles within 1e-3 relative (the stored
    documents are rounded to 4 decimals, and times to whole microseconds)."""
    assert live["alarms"], "the fault scenario must raise an alarm"
    key = ("raised_at_h", "spec", "kind")
    assert [tuple(a[k] for k in key) for a in live["alarms"]] == [
        tuple(a[k] for k in key) for a in replayed["alarms"]
    ]
    assert live["forecast_times"] == [f["t_h"] for f in replayed["forecasts"]]
    final = replayed["forecasts"][-1]
    for spec, cqa in final["cqa"].items():
        for k in ("p05", "p50", "p95"):
            got, want = live["final"]["cqa"][spec][k], cqa[k]
            assert abs(got - want) <= 1e-3 * max(abs(want), 1e-6), (spec, k, got, want)
        assert abs(live["final"]["cqa"][spec]["p_fail"] - cqa["p_fail"]) <= 0.02, spec
