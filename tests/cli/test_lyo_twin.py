"""``pharmatwin lyo validate-twin`` as a user meets it (the command is registered by the lead;
here it is mounted on a small app of its own)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from pharmatwin.cli.lyo_twin import validate_twin

app = typer.Typer()
app.command()(validate_twin)
runner = CliRunner()


def test_json_report_of_one_seed() -> None:
    result = runner.invoke(app, ["--seeds", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] is True
    assert report["at_fraction"] == 0.5 and report["tolerance"] == 0.1
    (seed,) = report["seeds"]
    assert seed["seed"] == 0
    assert abs(seed["relative_error"]) <= 0.1
    assert seed["forecast_p05_h"] <= seed["forecast_p50_h"] <= seed["forecast_p95_h"]
    assert abs(seed["at_h"] - 0.5 * seed["true_end_h"]) < 0.2


def test_table_and_bad_seed_count() -> None:
    result = runner.invoke(app, ["--seeds", "1"])
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output and "true end" in result.output
    bad = runner.invoke(app, ["--seeds", "0"])
    assert bad.exit_code == 2
    assert "--seeds" in bad.output
