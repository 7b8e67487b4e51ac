"""Cycle optimizer on the LyoPRONTO reference case (issue 6): every constraint holds in an
independent forward simulation, and every mode dries faster than the fixed reference cycle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pharmatwin.equipment.lyophilizer import optimize as optimize_module
from pharmatwin.equipment.lyophilizer.cycle import Equipment, HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.optimize import (
    InfeasibleCycleError,
    OptimizedCycle,
    optimize_cycle,
)
from pharmatwin.equipment.lyophilizer.primary import simulate_primary
from pharmatwin.equipment.lyophilizer.profiles import Profile, Step

VIAL = Vial(area_cm2=3.8, product_area_cm2=3.14, fill_ml=2.0)
PRODUCT = Product(solids_fraction=0.05, r0=1.4, a1=16.0, a2=0.0, collapse_temperature_c=-5.0)
HEAT = HeatTransfer(kc=2.75e-4, kp=8.93e-4, kd=0.46)
EQUIPMENT = Equipment(a=-0.182, b=11.7, vials=398)
REFERENCE_SHELF = Profile.ramp(-35.0, 1.0, 20.0)
REFERENCE_PRESSURE = Profile.constant(0.15)
SHELF = (-45.0, 120.0)
PRESSURE = (0.03, 0.4)
# LyoPRONTO's opt_Tsh for this case (test_data/reference_optimizer.csv, its last row).
LYOPRONTO_TIME_H = 2.122960913194663
LYOPRONTO_FINAL_SHELF_C = 84.18255420723496

CASES: dict[str, dict[str, Any]] = {
    "shelf": {"mode": "shelf", "shelf_bounds_c": SHELF, "fixed_pressure": REFERENCE_PRESSURE},
    "shelf-ramp": {
        "mode": "shelf", "shelf_bounds_c": SHELF, "fixed_pressure": REFERENCE_PRESSURE,
        "max_ramp_c_per_min": 1.0, "initial_shelf_c": -35.0,
    },
    "shelf-capability": {
        "mode": "shelf", "shelf_bounds_c": SHELF, "fixed_pressure": Profile.constant(0.03),
    },
    "shelf-pressure-steps": {
        "mode": "shelf", "shelf_bounds_c": SHELF,
        "fixed_pressure": Profile.steps(0.08, [Step(0.2, 0.01, 0.5), Step(0.1, 0.05)]),
    },
    "pressure": {
        "mode": "pressure", "pressure_bounds_torr": PRESSURE, "fixed_shelf": REFERENCE_SHELF,
    },
    "both": {"mode": "both", "shelf_bounds_c": SHELF, "pressure_bounds_torr": PRESSURE},
    "both-ramp": {
        "mode": "both", "shelf_bounds_c": SHELF, "pressure_bounds_torr": PRESSURE,
        "max_ramp_c_per_min": 0.5, "initial_shelf_c": -35.0,
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def reference_time() -> float:
    result = simulate_primary(VIAL, PRODUCT, HEAT, REFERENCE_SHELF, REFERENCE_PRESSURE)
    assert result.drying_time_h == pytest.approx(6.66, rel=0.01)  # the published cycle
    return result.drying_time_h


@pytest.fixture(scope="module")
def optimized() -> dict[str, OptimizedCycle]:
    return {
        name: optimize_cycle(VIAL, PRODUCT, HEAT, EQUIPMENT, **kw) for name, kw in CASES.items()
    }


def _check_constraints(cycle: OptimizedCycle, kw: dict[str, Any], limit: float = -5.0) -> None:
    """Re-simulate the returned programmes independently and check every constraint."""
    sim = simulate_primary(VIAL, PRODUCT, HEAT, cycle.shelf, cycle.pressure)
    traj = sim.trajectory
    assert sim.drying_time_h == pytest.approx(cycle.drying_time_h, rel=1e-9)
    assert sim.max_product_temperature_c <= limit + 0.01
    assert float(np.max(traj.product_temperature_c)) <= limit + 0.01
    capability = EQUIPMENT.capability_kg_h(traj.chamber_pressure_torr)
    load = EQUIPMENT.vials * traj.sublimation_rate_kg_h
    assert bool(np.all(load <= capability * (1 + 1e-3)))
    assert cycle.temperature_margin_c >= -0.01
    assert cycle.capability_margin_kg_h >= -1e-3 * float(np.max(capability))
    if kw["mode"] != "pressure":
        lo, hi = kw["shelf_bounds_c"]
        assert float(np.min(cycle.shelf.value)) >= lo - 1e-9
        assert float(np.max(cycle.shelf.value)) <= hi + 1e-9
    if kw["mode"] != "shelf":
        lo, hi = kw["pressure_bounds_torr"]
        assert float(np.min(cycle.pressure.value)) >= lo - 1e-12
        assert float(np.max(cycle.pressure.value)) <= hi + 1e-12
    ramp = kw.get("max_ramp_c_per_min")
    if ramp is not None:
        assert cycle.shelf.value[0] == kw["initial_shelf_c"]
        slopes = np.diff(cycle.shelf.value) / np.diff(cycle.shelf.t_h) / 60.0
        assert float(np.max(np.abs(slopes))) <= ramp * (1 + 1e-9)


@pytest.mark.parametrize("name", list(CASES))
def test_every_mode_meets_the_constraints_and_beats_the_reference_cycle(
    name: str, optimized: dict[str, OptimizedCycle], reference_time: float
) -> None:
    cycle = optimized[name]
    assert cycle.mode == CASES[name]["mode"]
    _check_constraints(cycle, CASES[name])
    assert cycle.drying_time_h < reference_time


def test_shelf_optimum_matches_lyopronto(optimized: dict[str, OptimizedCycle]) -> None:
    cycle = optimized["shelf"]
    # LyoPRONTO steps explicitly (Euler, 0.01 h) with the rate at each step's start; the rate
    # falls through drying, so it ends slightly early: agreement to 0.2 % is what its step
    # allows (it is 0.1 % here).
    assert cycle.drying_time_h == pytest.approx(LYOPRONTO_TIME_H, rel=2e-3)
    assert cycle.shelf.final == pytest.approx(LYOPRONTO_FINAL_SHELF_C, abs=0.05)
    assert cycle.shelf.value[0] == 120.0  # the upper bound binds first, as in LyoPRONTO
    # the collapse limit is active from about 0.8 h to the end
    traj = cycle.trajectory
    late = traj.t_h > 0.85
    np.testing.assert_allclose(traj.product_temperature_c[late], -5.0, atol=0.01)
    assert cycle.max_product_temperature_c == pytest.approx(-5.0, abs=0.01)


def test_the_active_constraint_is_kept(optimized: dict[str, OptimizedCycle]) -> None:
    capped = optimized["shelf-capability"]
    load = EQUIPMENT.vials * capped.trajectory.sublimation_rate_kg_h
    capability = float(EQUIPMENT.capability_kg_h(0.03))
    assert float(np.max(load)) == pytest.approx(capability, rel=1e-3)
    assert capped.capability_margin_kg_h == pytest.approx(0.0, abs=1e-3 * capability)
    both = optimized["both"]
    assert both.drying_time_h < optimized["shelf"].drying_time_h  # more freedom, faster
    ramp = optimized["shelf-ramp"]
    assert optimized["shelf"].drying_time_h < ramp.drying_time_h


def test_faster_than_every_feasible_fixed_cycle(optimized: dict[str, OptimizedCycle]) -> None:
    """The greedy shelf policy beats any constant-setpoint cycle that keeps the limits."""
    setpoints = np.arange(-20.0, 121.0, 10.0)
    best = np.inf
    for setpoint in setpoints:
        run = simulate_primary(
            VIAL, PRODUCT, HEAT, Profile.constant(float(setpoint)), REFERENCE_PRESSURE
        )
        if run.max_product_temperature_c <= -5.0:
            best = min(best, run.drying_time_h)
    assert np.isfinite(best)
    assert optimized["shelf"].drying_time_h < best


def test_an_excess_in_the_simulation_is_backed_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no tolerance at all, the re-plan lowers the target until the forward simulation
    is strictly below the limit."""
    monkeypatch.setattr(optimize_module, "TEMPERATURE_TOL_C", 0.0)
    cycle = optimize_cycle(VIAL, PRODUCT, HEAT, EQUIPMENT, **CASES["shelf"])
    assert cycle.temperature_margin_c >= 0.0
    assert cycle.max_product_temperature_c <= -5.0
    assert cycle.max_product_temperature_c == pytest.approx(-5.0, abs=0.01)


def test_ramp_down_limit_uses_the_look_ahead() -> None:
    kw: dict[str, Any] = {
        "mode": "shelf", "shelf_bounds_c": SHELF, "fixed_pressure": REFERENCE_PRESSURE,
        "max_ramp_c_per_min": 0.2, "initial_shelf_c": 100.0,
    }  # fmt: skip
    cycle = optimize_cycle(VIAL, PRODUCT, HEAT, EQUIPMENT, **kw)
    assert cycle.passes >= 2  # the greedy pass overshoots the falling ceiling
    _check_constraints(cycle, kw)
    slopes = np.diff(cycle.shelf.value) / np.diff(cycle.shelf.t_h) / 60.0
    assert float(np.min(slopes)) == pytest.approx(-0.2, rel=1e-6)  # ramps down at the limit


def test_margin_lowers_the_limit_and_slows_drying(optimized: dict[str, OptimizedCycle]) -> None:
    kw = dict(CASES["shelf"], margin_c=2.0)
    cycle = optimize_cycle(VIAL, PRODUCT, HEAT, EQUIPMENT, **kw)
    _check_constraints(cycle, kw, limit=-7.0)
    assert cycle.max_product_temperature_c == pytest.approx(-7.0, abs=0.01)
    assert cycle.drying_time_h > optimized["shelf"].drying_time_h


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"product": Product(0.05, 1.4, 16.0, 0.0, -40.0)}, "collapse_temperature_c"),
        ({"mode": "both", "pressure_bounds_torr": (0.001, 0.012)}, "equipment"),
        ({"shelf_bounds_c": (90.0, 120.0)}, "shelf_bounds_c"),
        ({"shelf_bounds_c": (-60.0, -40.0)}, "shelf_bounds_c"),
        ({"max_ramp_c_per_min": 0.05, "initial_shelf_c": 119.0}, "max_ramp_c_per_min"),
        ({"mode": "pressure", "pressure_bounds_torr": PRESSURE,
          "fixed_shelf": Profile.constant(120.0)}, "fixed_shelf"),
    ],
)  # fmt: skip
def test_infeasible_input_gives_a_clear_error(change: dict[str, Any], field: str) -> None:
    kw: dict[str, Any] = dict(CASES["shelf"])
    product = change.pop("product", PRODUCT)
    kw.update(change)
    with pytest.raises(InfeasibleCycleError, match=field):
        optimize_cycle(VIAL, product, HEAT, EQUIPMENT, **kw)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mode": "fast"}, "mode"),
        ({"fixed_pressure": None}, "fixed_pressure"),
        ({"shelf_bounds_c": (20.0, -20.0)}, "shelf_bounds_c"),
        ({"shelf_bounds_c": None}, "shelf_bounds_c"),
        ({"mode": "pressure"}, "pressure_bounds_torr"),
        ({"mode": "pressure", "pressure_bounds_torr": PRESSURE}, "fixed_shelf"),
        ({"mode": "both", "pressure_bounds_torr": (0.0, 0.2)}, "pressure_bounds_torr"),
        ({"max_ramp_c_per_min": 1.0}, "initial_shelf_c"),
        ({"max_ramp_c_per_min": 1.0, "initial_shelf_c": 130.0}, "initial_shelf_c"),
        ({"max_ramp_c_per_min": -1.0}, "max_ramp_c_per_min"),
        ({"margin_c": -1.0}, "margin_c"),
    ],
)
def test_bad_input_names_the_argument(change: dict[str, Any], field: str) -> None:
    kw = dict(CASES["shelf"], **change)
    with pytest.raises(ValueError, match=field):
        optimize_cycle(VIAL, PRODUCT, HEAT, EQUIPMENT, **kw)
