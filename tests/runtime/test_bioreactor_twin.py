"""The bioreactor twin on a drifting pH probe: a sensor fault, not a process fault."""

from __future__ import annotations

import pytest

from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.bioreactor_twin import PH_PROBE, BioreactorTwin, TwinSettings
from pharmatwin.runtime.plant_record import PlantRecord


def test_a_drifting_ph_probe_is_reported_corrected_and_recalibration_recommended() -> None:
    scenario = load_scenario("ph-probe-drift")  # +0.06 pH per day from 72 h
    record = PlantRecord.from_run(run_plant(scenario))
    settings = TwinSettings(members=100, actions=tuple(load_asset().actions))
    twin = BioreactorTwin(scenario.recipe, settings).replay(record)
    (fault,) = twin.sensor_faults
    assert fault.tag == PH_PROBE
    assert 72.0 < fault.detected_at_h <= 72.0 + 4 * 24.0
    assert fault.bias > settings.ph_bias_threshold
    assert fault.drift_per_day == pytest.approx(0.06, abs=0.03)
    sensor_alarms = [a for a in twin.alarms if a.kind == "sensor"]
    assert [a.raised_at_h for a in sensor_alarms] == [fault.detected_at_h]
    assert "drifting" in sensor_alarms[0].evidence[-1]
    # the twin ranks the actions at its next forecast, and the repair of the probe comes first
    at_h, ranked = next(r for r in twin.recommendations if r[0] >= fault.detected_at_h)
    assert at_h - fault.detected_at_h <= settings.forecast_every_h
    assert ranked[0].action == "recalibrate pH probe"
    assert ranked[0].expected_after > ranked[0].expected_before
