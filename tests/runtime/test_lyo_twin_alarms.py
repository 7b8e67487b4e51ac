"""The freeze-drying twin alarms early: a collapse on the way (shelf temperature control
failure), a cycle that will not be dry by its planned end, equipment off its programme."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pharmatwin.equipment.lyophilizer.dryer import run_dryer
from pharmatwin.equipment.lyophilizer.dryer_config import DryerScenario, load_dryer_scenario
from pharmatwin.forecasting.alarms import Alarm
from pharmatwin.runtime.lyo_twin import LyoTwin, LyoTwinSettings
from pharmatwin.runtime.lyo_validation import twin_settings_for

EVERY = 1 / 6


def _settings(scenario: DryerScenario, forecast_every_h: float) -> LyoTwinSettings:
    # 60 members keep these replays short; the alarms do not hinge on the ensemble size
    return replace(twin_settings_for(scenario, 0), members=60, forecast_every_h=forecast_every_h)


def _first(alarms: list[Alarm], spec: str) -> Alarm | None:
    return next((a for a in alarms if a.spec == spec), None)


def test_collapse_alarm_comes_before_the_product_collapses() -> None:
    scenario = load_dryer_scenario("shelf-control-failure")  # shelf +10 °C/h from 2 h
    run = run_dryer(scenario)
    collapse_h = run.truth.collapse_h
    assert 3.0 < collapse_h < 5.0
    session = LyoTwin(
        scenario.plan(), run.data.thermocouple_groups, _settings(scenario, 0.5)
    ).session()
    for now in np.arange(EVERY, collapse_h, EVERY):
        session.step(float(now), run.data.until(float(now)))
        if _first(session.policy.timeline, "collapse"):
            break
    alarms = session.result().alarms
    shelf = _first(alarms, "shelf_temperature_deviation")
    assert shelf is not None and 2.0 < shelf.raised_at_h <= 2.5
    assert "drifting" in shelf.evidence[0]
    collapse = _first(alarms, "collapse")
    assert collapse is not None
    assert collapse.raised_at_h < collapse_h - 0.5  # at least half an hour of warning
    assert collapse.predicted_violation_h < collapse_h + 0.5
    assert collapse.probability > 0.5
    assert any("hottest vial" in e for e in collapse.evidence)


def test_late_end_alarm_when_the_plan_is_too_short() -> None:
    scenario = DryerScenario(planned_end_h=7.0)  # the batch needs about 7.3 h
    run = run_dryer(scenario)
    assert run.truth.end_h > 7.0
    twin = LyoTwin(scenario.plan(), run.data.thermocouple_groups, _settings(scenario, 1.0))
    result = twin.replay(run.data, until_h=2.0)
    late = _first(result.alarms, "late_end")
    assert late is not None and late.raised_at_h <= 2.0
    assert _first(result.alarms, "collapse") is None
    assert result.forecasts[-1].p_late > 0.5


def test_vacuum_leak_raises_a_pressure_alarm_and_no_false_process_alarm() -> None:
    scenario = load_dryer_scenario("vacuum-leak")  # 120 sccm from 2 h
    run = run_dryer(scenario)
    twin = LyoTwin(scenario.plan(), run.data.thermocouple_groups, _settings(scenario, 1.5))
    result = twin.replay(run.data, until_h=3.0)
    pressure = _first(result.alarms, "chamber_pressure_deviation")
    assert pressure is not None and 2.0 <= pressure.raised_at_h <= 2.5
    assert [a.spec for a in result.alarms] == ["chamber_pressure_deviation"]


def test_missing_readings_are_recorded_and_do_not_retire_a_thermocouple() -> None:
    scenario = DryerScenario(seed=2)
    run = run_dryer(scenario)
    gap = (run.data.t_h > 0.5) & (run.data.t_h < 1.0)
    run.data.thermocouples[0, gap] = np.nan
    run.data.shelf_c[gap] = np.nan
    twin = LyoTwin(scenario.plan(), run.data.thermocouple_groups, _settings(scenario, 1.5))
    result = twin.replay(run.data, until_h=1.5)
    missing = [r for r in result.rejected if r[1] == "TC1"]
    assert missing and all(reason == "missing value" for _, _, reason in missing)
    assert all(0.5 < t < 1.0 for t, _, _ in missing)
    assert result.retired == [] and result.alarms == []
    assert np.isfinite(result.forecasts[-1].batch_end_h)
