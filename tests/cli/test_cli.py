"""The command line as a user meets it: outputs, files, and bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pharmatwin.cli.main import app
from pharmatwin.equipment.bioreactor.scenario import read_recipe

runner = CliRunner()


def short_scenario_file(tmp_path: Path, **changes: object) -> Path:
    """A two-day version of the nominal scenario (fast), with optional changes."""
    recipe = read_recipe("cho-mab-fedbatch-14d")
    recipe.update(
        harvest_h=48,
        phases=recipe["phases"][:1],  # type: ignore[index]
        boluses=[],
        feeds=[{"medium": "feed-A", "start_h": 24, "end_h": 48, "rate_L_per_h": 1.4}],
    )
    document = {"name": "short", "seed": 3, "recipe": recipe, "faults": []}
    document.update(changes)
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_scenarios_json_lists_nominal_and_every_fault() -> None:
    result = runner.invoke(app, ["scenarios", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"name", "faults", "description"} <= set(rows[0])
    assert rows[0]["name"] == "nominal" and rows[0]["faults"] == []
    kinds = {k for row in rows for k in row["faults"]}
    assert kinds == {
        "ph_probe_drift",
        "temperature_control_failure",
        "feed_pump_failure",
        "wrong_feed_concentration",
        "aeration_failure",
        "viability_loss",
    }


def test_simulate_json_reports_every_cqa(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate", "bioreactor", "--scenario", str(short_scenario_file(tmp_path)), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["harvest_h"] == 48.0
    assert set(doc["cqa"]) == {"titre", "viability", "lactate", "ammonia"}
    titre = doc["cqa"]["titre"]
    assert titre["pass"] is False and titre["limit"] == 3.5 and "p_fail" not in titre
    assert doc["violations"]["titre"] == 48.0 and doc["violations"]["ammonia"] is None


def test_simulate_ensemble_json_carries_p_fail(tmp_path: Path) -> None:
    path = short_scenario_file(tmp_path)
    result = runner.invoke(
        app, ["simulate", "bioreactor", "--scenario", str(path), "--members", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["cqa"]["titre"]["p_fail"] == 1.0 and doc["cqa"]["ammonia"]["p_fail"] == 0.0


def test_simulate_writes_historian_csv_and_parquet(tmp_path: Path) -> None:
    path = short_scenario_file(tmp_path)
    out_csv, out_parquet = tmp_path / "data.csv", tmp_path / "data.parquet"
    for out in (out_csv, out_parquet):
        result = runner.invoke(
            app, ["simulate", "bioreactor", "--scenario", str(path), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
    with out_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["time_utc"].endswith("Z")
    tags = {r["tag"] for r in rows}
    assert {"BR01.AT201.PV", "BR01.TT101.PV", "BR01.AT301.PV", "BR01.TITRE.LAB"} <= tags
    titre = [r for r in rows if r["tag"] == "BR01.TITRE.LAB"]
    assert all(r["available_utc"] > r["time_utc"] for r in titre)
    assert {r["unit"] for r in rows if r["tag"] == "BR01.TT101.PV"} == {"degC"}
    import pyarrow.parquet as pq

    table = pq.read_table(out_parquet)
    assert table.num_rows == len(rows)
    assert str(table.schema.field("time_utc").type) == "timestamp[ms, tz=UTC]"


@pytest.mark.parametrize("suffix", [".png", ".html"])
def test_simulate_plots(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"plot{suffix}"
    result = runner.invoke(
        app,
        [
            "simulate",
            "bioreactor",
            "--scenario",
            str(short_scenario_file(tmp_path)),
            "--plot",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pharmatwin.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def bad_recipe(tmp_path: Path, **changes: object) -> Path:
    recipe = read_recipe("cho-mab-fedbatch-14d")
    recipe.update(changes)
    return short_scenario_file(tmp_path, recipe=recipe)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: short_scenario_file(p, colour="red"), "colour: unknown field"),
        (
            lambda p: bad_recipe(
                p, media={"feed-A": {"Glc": -40.0, "Gln": 10}, "glucose-400": {"Glc": 2220}}
            ),
            "recipe.media.feed-A.Glc: Input should be greater than or equal to 0",
        ),
        (
            lambda p: bad_recipe(
                p,
                initial_state={
                    "Xv": 0.5,
                    "Xd": 0,
                    "Glc": -3,
                    "Gln": 4,
                    "Lac": 0,
                    "Amm": 0,
                    "mAb": 0,
                    "V": 1500,
                },
            ),
            "recipe.initial_state.Glc: -3 mM is outside",
        ),
        (
            lambda p: bad_recipe(
                p,
                phases=[
                    {"name": "a", "start_h": 0},
                    {"name": "b", "start_h": 100},
                    {"name": "c", "start_h": 50},
                ],
            ),
            "recipe.phases.2.start_h: phases out of order",
        ),
        (
            lambda p: short_scenario_file(p, parameters={"mu_max": 5.0}),
            "parameters.mu_max: 5 1/h is outside its bounds",
        ),
        (
            lambda p: short_scenario_file(p, parameters={"warp": 1.0}),
            "parameters.warp: unknown parameter",
        ),
        (
            lambda p: short_scenario_file(
                p, faults=[{"kind": "gremlins", "onset_h": 1, "magnitude": 1}]
            ),
            "faults.0.kind",
        ),
        (
            lambda p: bad_recipe(p, phases=[{"name": "a", "start_h": 0, "setpoints": {"T": 500}}]),
            "recipe.phases.0.setpoints.T: 500 degC is outside [0, 50]",
        ),
        (
            lambda p: bad_recipe(
                p, phases=[{"name": "a", "start_h": 0, "setpoints": {"F_base": 1}}]
            ),
            "recipe.phases.0.setpoints.F_base: set by the pH loop",
        ),
        (
            lambda p: bad_recipe(p, harvest_h=float("nan")),
            "recipe.harvest_h: Input should be a finite number",
        ),
        (
            lambda p: bad_recipe(
                p,
                initial_state={
                    "Xv": 0.5,
                    "Xd": 0,
                    "Glc": 30,
                    "Gln": 4,
                    "Lac": 0,
                    "Amm": 0,
                    "mAb": 0,
                    "V": 0.05,
                },
            ),
            "recipe.initial_state.V: 0.05 L does not cover the 0.7 L of samples",
        ),
        (
            lambda p: short_scenario_file(
                p, faults=[{"kind": "viability_loss", "onset_h": 100, "magnitude": 0.01}]
            ),
            "faults.0.onset_h: 100 h is not before harvest",
        ),
        (
            lambda p: short_scenario_file(p, start_utc="yesterday"),
            "start_utc: 'yesterday' is not an ISO 8601 time",
        ),
        (lambda p: short_scenario_file(p, seed=True), "seed: Input should be a valid integer"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_code_2(
    tmp_path: Path, make: object, expected: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = run_cli("simulate", "bioreactor", "--scenario", str(path), "--json")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--members", "0"], "--members: must be between 1 and 1,000, got 0"),
        (["--seed", "-3"], "--seed: must be >= 0"),
        (["--out", "data.txt"], "unknown file type; use .csv or .parquet"),
    ],
)
def test_bad_options_are_one_line(args: list[str], expected: str) -> None:
    result = run_cli("simulate", "bioreactor", *args)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {expected}" or expected in result.stderr.strip()
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_scenario_name_is_bad_input() -> None:
    result = run_cli("simulate", "bioreactor", "--scenario", "no-such-thing")
    assert result.returncode == 2
    assert "unknown scenario 'no-such-thing'" in result.stderr and "nominal" in result.stderr


def test_twin_study_prints_both_filters_figures() -> None:
    args = ["twin", "study", "--seeds", "0", "--nominal-seeds", "1", "--members", "20"]
    result = runner.invoke(app, [*args, "--workers", "1", "--estimator", "both", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"enkf", "pf"}
    for figures in document.values():
        assert figures["batches"] == 1
        assert set(figures["titre_mape"]) == {"3", "7", "10"}
        assert 0.0 <= figures["coverage_90"] <= 1.0
    bad = run_cli("twin", "study", "--estimator", "kalman")
    assert bad.returncode == 2 and "--estimator: choose enkf, pf or both" in bad.stderr
