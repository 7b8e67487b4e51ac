"""How the validation study judges a sensor alarm: by what the probe really got wrong."""

from __future__ import annotations

import pytest

from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.forecasting.alarms import Alarm
from pharmatwin.runtime.bioreactor_twin import PH_PROBE
from pharmatwin.runtime.twin_study import _false, probe_error


def sensor_alarm(at_h: float) -> Alarm:
    return Alarm(PH_PROBE, "sensor", at_h, 1.0, float("nan"))


def test_a_drifting_probe_is_found_out_and_its_alarm_is_justified() -> None:
    run = run_plant(load_scenario("ph-probe-drift").model_copy(update={"seed": 3}))
    # the fault adds 0.06 pH per day from 72 h; the probe's own drift is 0.003 pH/day (sd)
    gained = probe_error(run, PH_PROBE, 300.0) - probe_error(run, PH_PROBE, 200.0)
    assert gained == pytest.approx(0.06 * 100 / 24, abs=0.05)
    assert abs(probe_error(run, PH_PROBE, 60.0)) < 0.1
    assert not _false(sensor_alarm(200.0), run)


def test_a_sensor_alarm_on_a_calibrated_probe_is_false_and_a_process_alarm_always() -> None:
    run = run_plant(load_scenario("nominal").model_copy(update={"seed": 3}))
    early = abs(probe_error(run, PH_PROBE, 12.0))
    assert early < 0.04  # 0.02 calibration spread, a few thousandths of drift so far
    assert _false(sensor_alarm(12.0), run)
    assert _false(Alarm("titre", "process", 12.0, 0.6, 336.0), run)
