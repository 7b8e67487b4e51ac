"""Each fault of the virtual freeze dryer leaves its own signature in the data."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pharmatwin.equipment.lyophilizer.dryer import run_dryer
from pharmatwin.equipment.lyophilizer.dryer_config import DryerScenario, load_dryer_scenario
from pharmatwin.equipment.lyophilizer.lyo_faults import LyoFault

SETPOINT = 0.15


def test_vacuum_leak_raises_the_pressure_and_saturates_the_controller() -> None:
    run = run_dryer(load_dryer_scenario("vacuum-leak"))  # 120 sccm from 2 h
    d = run.data
    before, after = d.t_h < 2.0, (d.t_h > 2.05) & (d.t_h < run.truth.end_h)
    assert np.all(np.abs(run.truth.pressure_torr[before] - SETPOINT) < 1e-9)
    assert np.all(d.bleed_sccm[before] > 20.0)
    assert np.all(d.manometer_torr[after] > 1.8 * SETPOINT)
    assert np.all(d.bleed_sccm[after] == 0.0)


def test_shelf_control_failure_drifts_the_shelf_and_the_product_collapses() -> None:
    run = run_dryer(load_dryer_scenario("shelf-control-failure"))  # +10 °C/h from 2 h
    t = run.truth
    k2, k3 = np.searchsorted(run.data.t_h, [2.0, 3.0])
    assert t.shelf_c[k3] - t.shelf_c[k2] == pytest.approx(10.0, abs=0.3)
    assert run.data.shelf_setpoint_c[k3] == pytest.approx(20.0)
    assert 2.0 < t.collapse_h < t.end_h
    assert t.vial_max_c.max() > -5.0
    assert np.isnan(run_dryer(DryerScenario()).truth.collapse_h)


def test_a_stuck_shelf_stays_where_it_was() -> None:
    fault = LyoFault(kind="shelf_control_failure", onset_h=0.5, magnitude=0.0)
    run = run_dryer(DryerScenario(faults=[fault]))
    after = run.data.t_h > 0.5
    stuck = run.truth.shelf_c[after]
    assert np.ptp(stuck) == pytest.approx(0.0, abs=1e-9)
    assert stuck[0] < 0.0  # stuck during the ramp, far below the 20 °C setpoint
    assert run.truth.end_h > run_dryer(DryerScenario()).truth.end_h


def test_condenser_overload_raises_the_pressure_only_above_its_capacity() -> None:
    run = run_dryer(load_dryer_scenario("condenser-overload"))  # 100 g/h
    t = run.truth
    high = t.pressure_torr > 1.01 * SETPOINT
    assert high.any()
    assert t.pressure_torr.max() > 1.5 * SETPOINT
    assert np.all(t.rate_kg_h[high] > 0.100)
    low = t.rate_kg_h < 0.095
    assert np.all(t.pressure_torr[low] < 1.01 * SETPOINT)


def test_stuck_pressure_controller_holds_the_bleed_and_lets_the_pressure_go() -> None:
    run = run_dryer(load_dryer_scenario("stuck-pressure-controller"))  # 20 sccm at 1.5 h
    d = run.data
    after = d.t_h > 1.5
    assert np.all(d.bleed_sccm[after] == 20.0)
    assert np.all(run.truth.pressure_torr[after] < 0.5 * SETPOINT)
    assert run.truth.end_h > run_dryer(DryerScenario()).truth.end_h  # less gas conduction


def test_stuck_where_it_was_the_pressure_follows_the_sublimation_rate() -> None:
    fault = LyoFault(kind="stuck_pressure_controller", onset_h=1.5)
    run = run_dryer(DryerScenario(faults=[fault]))
    d, t = run.data, run.truth
    after = d.t_h > 1.5
    assert np.ptp(d.bleed_sccm[after]) == 0.0
    late = d.t_h > t.end_h + 0.05
    assert np.all(t.pressure_torr[late] < 0.95 * SETPOINT)  # the water is gone


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"kind": "vacuum_leak", "onset_h": 1.0}, "magnitude: required"),
        ({"kind": "vacuum_leak", "onset_h": 1.0, "magnitude": -5}, "leak"),
        ({"kind": "shelf_control_failure", "onset_h": 1.0, "magnitude": 500}, "drift"),
        ({"kind": "condenser_overload", "onset_h": 1.0, "magnitude": 0}, "capacity"),
        ({"kind": "stuck_pressure_controller", "onset_h": -1.0}, "onset_h"),
        ({"kind": "power_cut", "onset_h": 1.0}, "kind"),
    ],
)
def test_bad_faults_are_refused_with_the_field_named(
    fault: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        LyoFault.model_validate(fault)
