"""``lyo optimize`` on the issue 6 study file, through a small typer app of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from pharmatwin.cli.lyo_optimize import optimize

app = typer.Typer()


@app.callback()
def _group() -> None:
    """Keep ``optimize`` a sub-command."""


app.command("optimize")(optimize)
runner = CliRunner()

STUDY: dict[str, Any] = {
    "vial": {"area_cm2": 3.8, "product_area_cm2": 3.14, "fill_mL": 2.0},
    "product": {
        "solids_fraction": 0.05, "R0": 1.4, "A1": 16.0, "A2": 0.0, "collapse_temperature_C": -5.0,
    },
    "heat_transfer": {"KC": 2.75e-4, "KP": 8.93e-4, "KD": 0.46},
    "chamber_pressure_Torr": {"setpoint": 0.15, "min": 0.05, "max": 0.3},
    "shelf_temperature_C": {
        "initial": -35.0, "ramp_C_per_min": 1.0, "setpoint": 20.0, "min": -45.0, "max": 120.0,
    },
    "equipment": {"a": -0.182, "b": 11.7, "vials": 398},
    "optimize": {"mode": "shelf"},
}  # fmt: skip


def _write(tmp_path: Path, **changes: Any) -> Path:
    study = json.loads(json.dumps(STUDY))
    for key, value in changes.items():
        if value is None:
            study.pop(key)
        elif isinstance(value, dict) and isinstance(study.get(key), dict):
            study[key].update(value)
        else:
            study[key] = value
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


def _run_json(path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["optimize", "--config", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize("mode", ["shelf", "pressure", "both"])
def test_json_meets_the_constraints_and_beats_the_configured_cycle(
    tmp_path: Path, mode: str
) -> None:
    out = _run_json(_write(tmp_path, optimize={"mode": mode}))
    assert out["mode"] == mode
    assert out["configured_drying_time_h"] == pytest.approx(6.66, rel=0.01)
    assert out["drying_time_h"] < out["configured_drying_time_h"]
    assert out["max_product_temperature_C"] <= -5.0 + 0.01
    assert out["temperature_margin_C"] >= -0.01
    assert out["capability_margin_kg_h"] >= -1e-3
    traj = out["trajectory"]
    assert set(traj) == {
        "t_h", "product_temperature_C", "shelf_temperature_C", "chamber_pressure_Torr",
        "sublimation_rate_kg_h",
    }  # fmt: skip
    assert len({len(column) for column in traj.values()}) == 1
    assert max(traj["product_temperature_C"]) <= -5.0 + 0.01
    for p, rate in zip(traj["chamber_pressure_Torr"], traj["sublimation_rate_kg_h"], strict=True):
        assert 398 * rate <= (-0.182 + 11.7 * p) * (1 + 1e-3)
    shelf = out["programmes"]["shelf_temperature_C"]
    pressure = out["programmes"]["chamber_pressure_Torr"]
    if mode == "pressure":
        assert shelf["value"] == [-35.0, 20.0]  # the configured programme is kept
    else:
        assert min(shelf["value"]) >= -45.0 and max(shelf["value"]) <= 120.0
    if mode == "shelf":
        assert pressure["value"] == [0.15]
    else:
        assert min(pressure["value"]) >= 0.05 and max(pressure["value"]) <= 0.3


def test_margin_and_ramp_limit_from_the_study(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        optimize={"mode": "shelf", "margin_C": 2.0},
        shelf_temperature_C={"max_ramp_C_per_min": 0.5},
    )
    out = _run_json(path)
    assert out["max_product_temperature_C"] == pytest.approx(-7.0, abs=0.01)
    shelf = out["programmes"]["shelf_temperature_C"]
    assert shelf["value"][0] == -35.0
    for (t0, v0), (t1, v1) in zip(
        zip(shelf["t_h"], shelf["value"], strict=True),
        zip(shelf["t_h"][1:], shelf["value"][1:], strict=True),
        strict=False,
    ):
        assert abs(v1 - v0) <= 0.5 * 60.0 * (t1 - t0) * (1 + 1e-9)


def test_table_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "cycle.png"
    result = runner.invoke(app, ["optimize", "--config", str(_write(tmp_path)), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert "Optimized cycle (mode shelf)" in result.stdout
    assert "primary drying time" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shelf_temperature_C": {"min": None}}, "shelf_temperature_C.min: required"),
        (
            {"optimize": {"mode": "pressure"}, "chamber_pressure_Torr": {"setpoint": 0.15}},
            None,
        ),
        ({"product": {"collapse_temperature_C": -40.0}}, "product.collapse_temperature_C"),
        ({"equipment": None}, "equipment"),
        ({"shelf_temperature_C": {"min": 90.0}}, "shelf_temperature_C"),
        ({"optimize": {"mode": "fast"}}, "optimize.mode"),
    ],
)
def test_bad_or_infeasible_study_names_the_field(
    tmp_path: Path, changes: dict[str, Any], message: str | None
) -> None:
    study = json.loads(json.dumps(STUDY))
    for key, value in changes.items():
        if value is None:
            study.pop(key)
            continue
        for field, entry in value.items():
            if entry is None:
                study[key].pop(field)
            else:
                study[key][field] = entry
    if message is None:  # pressure mode with bounds removed
        study["chamber_pressure_Torr"] = {"setpoint": 0.15}
        message = "chamber_pressure_Torr.min: required"
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    result = runner.invoke(app, ["optimize", "--config", str(path), "--json"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_unknown_plot_type_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["optimize", "--config", str(_write(tmp_path)), "--plot", str(tmp_path / "a.gif")]
    )
    assert result.exit_code == 2
    assert "unknown file type" in result.stderr
