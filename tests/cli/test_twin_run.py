"""``pharmatwin twin run``: a plant configuration kept live from a folder of files."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from pharmatwin.cli.main import app
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import load_asset


def test_twin_run_consumes_dropped_files_and_writes_forecasts(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    runner = CliRunner()
    data = inbox / "batch.parquet"
    result = runner.invoke(
        app, ["simulate", "bioreactor", "--scenario", "aeration-failure", "--out", str(data)]
    )
    assert result.exit_code == 0, result.output
    asset = load_asset("br01")
    asset = asset.model_copy(update={"twin": asset.twin.model_copy(update={"members": 30})})
    (tmp_path / "asset.yaml").write_text(yaml.safe_dump(asset.model_dump(mode="json")))
    config = {
        "sources": [{"name": "drop", "kind": "file", "url": str(inbox)}],
        "assets": [
            {
                "asset": str(tmp_path / "asset.yaml"),
                "source": "drop",
                "batch": {"id": "B7", "start_utc": load_scenario("aeration-failure").start_utc},
            }
        ],
    }
    (tmp_path / "plant.yaml").write_text(yaml.safe_dump(config))
    db = f"sqlite:///{tmp_path / 'h.db'}"
    args = ["twin", "run", "--config", str(tmp_path / "plant.yaml"), "--db", db]
    result = runner.invoke(app, [*args, "--until-finished", "--poll", "0.2"])
    assert result.exit_code == 0, result.output
    assert "ALARM process lactate" in result.output
    with open_historian(db) as historian:
        forecasts = historian.outputs("BR01.twin", "B7", "forecast")
        alarms = historian.events(kind="alarm", batch_id="B7")
    assert forecasts[-1].batch_h == 336.0
    assert {a.subject for a in alarms} >= {"lactate"}
    assert (inbox / "processed" / "batch.parquet").is_file()


def test_twin_run_names_the_bad_field(tmp_path: Path) -> None:
    (tmp_path / "plant.yaml").write_text(
        yaml.safe_dump(
            {
                "sources": [{"name": "a", "kind": "file", "url": str(tmp_path)}],
                "assets": [
                    {"asset": "br01", "source": "b", "batch": {"start_utc": "2026-01-05T06:00Z"}}
                ],
            }
        )
    )
    result = CliRunner().invoke(
        app, ["twin", "run", "--config", str(tmp_path / "plant.yaml"), "--db", "sqlite://"]
    )
    assert result.exit_code == 2
    assert "assets.0.source: no source named 'b'" in result.output
