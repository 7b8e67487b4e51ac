"""The freeze-drying twin half-way through a cycle: estimated parameters and forecast ends
against the virtual dryer's truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pharmatwin.equipment.lyophilizer.dryer import DryerRun, run_dryer
from pharmatwin.equipment.lyophilizer.dryer_config import DryerScenario
from pharmatwin.runtime.lyo_forecast import EndForecast
from pharmatwin.runtime.lyo_twin import LyoTwin
from pharmatwin.runtime.lyo_validation import twin_settings_for


@pytest.fixture(scope="module")
def half_way() -> tuple[DryerRun, EndForecast]:
    scenario = DryerScenario(seed=11)
    run = run_dryer(scenario)
    twin = LyoTwin(
        scenario.plan(), run.data.thermocouple_groups, twin_settings_for(scenario, seed=1)
    )
    session = twin.session()
    for now in np.arange(1 / 6, 0.5 * run.truth.end_h, 1 / 6):
        session.step(float(now), run.data.until(float(now)))
    return run, session.forecast()


def test_rp_and_kv_intervals_cover_the_batch_truth(half_way: tuple[DryerRun, EndForecast]) -> None:
    run, fc = half_way
    truth = run.truth.shelf
    for name, value in (
        ("R0", truth.r0),
        ("A1", truth.a1),
        ("KC", truth.kc),
        ("edge_kv", truth.edge_kv),
    ):
        low, mid, high = fc.parameters[name]
        assert low < value < high, (name, value, fc.parameters[name])
    # the thermocouples taught the twin the product's resistance: much narrower than the prior
    # (R0 and A1 have a prior CV of 30 %, a 5-95 % band of about ±50 %)
    for name in ("R0", "A1"):
        low, mid, high = fc.parameters[name]
        assert (high - low) / mid < 0.6


def test_group_ends_and_collapse_risk_at_half_time(half_way: tuple[DryerRun, EndForecast]) -> None:
    run, fc = half_way
    t = run.truth
    assert fc.ends["edge"][1] < fc.ends["centre"][1] == fc.ends["batch"][1]
    assert fc.ends["centre_typical"][1] < fc.ends["centre"][1]
    for group in ("centre", "edge"):
        low, _, high = fc.ends[group]
        assert low * 0.97 < t.group_end_h(group) < high * 1.03
    typical = np.median(t.vial_end_h[~t.shelf.edge])
    assert fc.ends["centre_typical"][1] == pytest.approx(typical, rel=0.06)
    assert fc.p_collapse == 0.0  # the hottest vial stays near -10 °C, collapse at -5 °C
    assert fc.p_late == 0.0  # planned end 10 h
    hottest = fc.forecast.spec("collapse").value_quantiles
    assert hottest[0] < t.vial_max_c.max() + 1.0 and hottest[2] > t.vial_max_c.max() - 1.0
    assert math.isfinite(fc.batch_end_h)
    assert fc.p_dry == pytest.approx(1.0)
