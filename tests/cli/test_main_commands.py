"""Every command group answers on the ``pharmatwin`` program, and the freeze dryer is also a
kind of equipment under ``simulate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pharmatwin.cli.main import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lyo-reference.yaml"


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        ("simulate", ["bioreactor", "lyophilizer"]),
        ("lyo", ["simulate", "design-space", "optimize", "validate-twin"]),
        ("mspc", ["benchmark-tep", "fit", "score", "batch-study", "raman-study"]),
        ("audit", ["verify", "report"]),
        ("versions", ["list", "show", "diff", "propose", "approve"]),
        ("genealogy", ["trace", "recall"]),
    ],
)
def test_each_group_lists_its_commands(group: str, commands: list[str]) -> None:
    result = CliRunner().invoke(app, [group, "--help"])
    assert result.exit_code == 0, result.output
    for command in commands:
        assert command in result.output


def test_simulate_lyophilizer_is_lyo_simulate() -> None:
    runner = CliRunner()
    one = runner.invoke(app, ["simulate", "lyophilizer", "--config", str(EXAMPLE), "--json"])
    two = runner.invoke(app, ["lyo", "simulate", "--config", str(EXAMPLE), "--json"])
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    assert json.loads(one.output) == json.loads(two.output)
    assert json.loads(one.output)["drying_time_h"] == pytest.approx(6.66, rel=0.01)
