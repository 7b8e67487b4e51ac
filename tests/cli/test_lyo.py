"""``lyo simulate`` and ``lyo design-space`` as a user meets them: JSON, tables, plots, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pharmatwin.cli.lyo import lyo_app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lyo-reference.yaml"
runner = CliRunner()


def config_file(tmp_path: Path, **changes: Any) -> Path:
    """The example with sections changed (mappings merged into the example's) or removed."""
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            del document[key]
        elif isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_simulate_json_is_the_reference_result() -> None:
    result = runner.invoke(lyo_app, ["simulate", "--config", str(EXAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"drying_time_h", "max_product_temperature_C", "trajectory"}
    assert document["drying_time_h"] == pytest.approx(6.66, rel=0.01)
    assert document["max_product_temperature_C"] == pytest.approx(-14.77, rel=0.01)
    trajectory = document["trajectory"]
    assert set(trajectory) == {
        "t_h",
        "product_temperature_C",
        "shelf_temperature_C",
        "chamber_pressure_Torr",
        "sublimation_rate_kg_h",
    }
    lengths = {len(v) for v in trajectory.values()}
    assert len(lengths) == 1 and lengths.pop() > 60
    assert trajectory["t_h"][0] == 0.0
    assert trajectory["t_h"][-1] == document["drying_time_h"]
    assert trajectory["shelf_temperature_C"][0] == -35.0
    assert trajectory["shelf_temperature_C"][-1] == 20.0
    assert set(trajectory["chamber_pressure_Torr"]) == {0.15}
    assert max(trajectory["product_temperature_C"]) <= document["max_product_temperature_C"]
    assert 0.0 < max(trajectory["sublimation_rate_kg_h"]) < 1e-3  # per vial


def test_simulate_not_dry_gives_null(tmp_path: Path) -> None:
    path = config_file(tmp_path, shelf_temperature_C={"setpoint": -45.0})
    result = runner.invoke(lyo_app, ["simulate", "--config", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["drying_time_h"] is None


def test_simulate_table_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "run.png"
    result = runner.invoke(lyo_app, ["simulate", "--config", str(EXAMPLE), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "drying time" in result.stdout and "6.654 h" in result.stdout
    assert "-14.77 °C" in result.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_design_space_json_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "space.svg"
    args = ["design-space", "--config", str(EXAMPLE), "--json", "--plot", str(plot)]
    result = runner.invoke(lyo_app, args)
    assert result.exit_code == 0, result.output
    grid = json.loads(result.stdout)["grid"]
    assert len(grid) == 9
    assert all(
        set(p)
        == {
            "shelf_temperature_C",
            "chamber_pressure_Torr",
            "drying_time_h",
            "max_product_temperature_C",
            "feasible",
        }
        for p in grid
    )
    assert [(p["shelf_temperature_C"], p["chamber_pressure_Torr"]) for p in grid] == [
        (s, p) for s in (-20.0, 0.0, 20.0) for p in (0.05, 0.1, 0.15)
    ]
    assert grid[-1]["drying_time_h"] == pytest.approx(6.66, rel=0.01)
    assert all(p["feasible"] for p in grid)
    assert "<svg" in plot.read_text(encoding="utf-8")


def test_design_space_table_shows_why_a_point_is_infeasible(tmp_path: Path) -> None:
    path = config_file(tmp_path, product={"collapse_temperature_C": -20.0})
    result = runner.invoke(lyo_app, ["design-space", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "Design space" in result.stdout and "yes" in result.stdout
    assert "0 °C, 0.15 Torr: product -19.84 °C above the limit -20.00 °C" in result.stdout


@pytest.mark.parametrize(
    ("command", "changes", "expected"),
    [
        ("simulate", {"product": {"R0": -1}}, "product.R0: "),
        ("simulate", {"vial": {"area_cm2": 3.0}}, "vial.product_area_cm2: 3.14 cm² is larger"),
        ("simulate", {"vial": [1]}, "vial: "),
        ("simulate", {"shelf_temperature_C": {"max": 20, "min": 30}}, "shelf_temperature_C.max"),
        ("design-space", {"design_space": None}, "design_space: required"),
        ("design-space", {"equipment": None}, "equipment: required"),
        ("design-space", {"colour": "blue"}, "colour: unknown field"),
    ],
)
def test_bad_config_exits_2_naming_the_field(
    tmp_path: Path, command: str, changes: dict[str, Any], expected: str
) -> None:
    path = config_file(tmp_path, **changes)
    result = runner.invoke(lyo_app, [command, "--config", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert expected in lines[0]


def test_missing_file_and_bad_plot_suffix_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(lyo_app, ["simulate", "--config", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "cannot read" in result.stderr
    result = runner.invoke(
        lyo_app, ["simulate", "--config", str(EXAMPLE), "--plot", str(tmp_path / "x.gif")]
    )
    assert result.exit_code == 2 and "x.gif: unknown file type" in result.stderr
    assert not (tmp_path / "x.gif").exists()
