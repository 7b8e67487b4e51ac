"""The freeze-drying twin over a whole nominal cycle: thermocouples retired when their vial runs
dry, the Pirani end point, what the dry thermocouple vials teach about Kv, no false alarm."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from pharmatwin.equipment.lyophilizer.dryer import DryerRun, run_dryer
from pharmatwin.equipment.lyophilizer.dryer_config import DryerScenario
from pharmatwin.runtime.lyo_twin import LyoTwin, LyoTwinRun
from pharmatwin.runtime.lyo_validation import twin_settings_for


@pytest.fixture(scope="module")
def replay() -> tuple[DryerRun, LyoTwinRun]:
    scenario = DryerScenario(seed=0)
    run = run_dryer(scenario)
    settings = replace(twin_settings_for(scenario, 0), members=60, forecast_every_h=1.0)
    twin = LyoTwin(scenario.plan(), run.data.thermocouple_groups, settings)
    return run, twin.replay(run.data)


def test_each_thermocouple_is_retired_when_its_vial_runs_dry(
    replay: tuple[DryerRun, LyoTwinRun],
) -> None:
    run, result = replay
    truth = run.truth.vial_end_h[run.truth.shelf.thermocouple]
    assert len(result.retired) == len(truth)
    for reason in result.retired:
        match = re.match(r"thermocouple (\d+): vial dry from ([\d.]+) h", reason)
        assert match, reason
        k, onset = int(match.group(1)) - 1, float(match.group(2))
        assert onset == pytest.approx(truth[k], abs=2 / 60)  # within two minutes
    assert result.rejected == []  # every value used, the dried fractions included


def test_pirani_ratio_shows_the_end_of_primary_drying(replay: tuple[DryerRun, LyoTwinRun]) -> None:
    run, result = replay
    assert result.observed_end_h is not None
    assert result.observed_end_h == pytest.approx(run.truth.end_h, abs=3 / 60)


def test_dry_thermocouple_vials_teach_the_twin_kv(replay: tuple[DryerRun, LyoTwinRun]) -> None:
    run, result = replay
    kc = run.truth.shelf.kc
    before = result.forecasts[3].parameters["KC"]  # 4 h: no vial dry yet
    after = result.forecasts[-1].parameters["KC"]  # every thermocouple vial dry
    assert (after[2] - after[0]) < 0.8 * (before[2] - before[0])
    assert after[0] < kc < after[2]


def test_forecasts_close_in_on_the_true_end_without_false_alarms(
    replay: tuple[DryerRun, LyoTwinRun],
) -> None:
    run, result = replay
    end = run.truth.end_h
    assert result.alarms == []
    last_wet = [f for f in result.forecasts if f.t < end - 0.1][-1]
    assert last_wet.batch_end_h == pytest.approx(end, rel=0.03)
    errors = [abs(f.batch_end_h - end) / end for f in result.forecasts if f.t < end]
    assert max(errors) < 0.10
    assert np.all([f.p_collapse == 0.0 for f in result.forecasts])
