"""The primary-drying models follow the core model contract and the LyoPRONTO reference case."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.core.integrate import Tolerances
from pharmatwin.core.simulate import simulate
from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.model import PrimaryDrying, cycle_schedule
from pharmatwin.equipment.lyophilizer.model_slots import (
    ShelfPrior,
    Slot,
    expected_maximum,
    vial_slots_model,
)
from pharmatwin.equipment.lyophilizer.profiles import Profile

SHELF = Profile.ramp(-35.0, 1.0, 20.0)
PRESSURE = Profile.constant(0.15)


def _run(model: PrimaryDrying, p: np.ndarray, end_h: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    schedule = cycle_schedule(SHELF, PRESSURE, end_h)
    times = np.linspace(0.0, end_h, 6001)
    x = simulate(
        model,
        schedule,
        np.zeros((len(p), 1)),
        p,
        t_out=times,
        tol=Tolerances(rtol=1e-7, atol=model.state_atol()),
    ).x
    u = np.array([schedule.inputs_at(float(t)) for t in times])
    rows = x.reshape(-1, 1)
    y = model.measure(rows, np.repeat(u, len(p), axis=0), np.tile(p, (len(times), 1)))
    return times, y.reshape(len(times), len(p), -1)


def test_declarations_carry_units_bounds_and_sources() -> None:
    m = PrimaryDrying()
    assert m.state_names() == ("L",)
    assert m.input_names() == ("T_shelf", "P_chamber")
    assert {"KC", "KP", "KD", "R0", "A1", "A2"} <= set(m.parameter_names())
    assert m.output_names() == ("T_bottom", "T_sub", "rate", "dried_fraction")
    for q in m.parameters:
        assert q.unit and q.source and q.lower <= q.default <= q.upper
    assert m.parameters[m.parameter_index("KC")].default == 2.75e-4


def test_reference_case_drying_time_and_maximum_temperature_within_one_percent() -> None:
    """LyoPRONTO reference (Shivkumar et al. 2019): 6.66 h and -14.77 °C; 1 % as in issue 6."""
    m = PrimaryDrying()
    times, y = _run(m, m.default_parameters(1))
    dry = y[:, 0, 3] >= 1.0
    end = times[np.argmax(dry)]
    assert end == pytest.approx(6.66, rel=0.01)
    assert y[~dry, 0, 0].max() == pytest.approx(-14.77, rel=0.01)


def test_rhs_is_vectorized_over_members_and_stops_when_dry() -> None:
    m = PrimaryDrying()
    p = m.default_parameters(3)
    p[1, m.parameter_index("KC")] *= 1.5
    l0 = float(physics.fill_height(2.0, 3.14, 0.05))
    x = np.array([[0.1], [0.1], [l0]])
    u = np.tile([20.0, 0.15], (3, 1))
    dx = m.rhs(0.0, x, u, p)
    assert dx.shape == (3, 1)
    assert dx[1, 0] > dx[0, 0] > 0.0  # more heat, faster
    assert dx[2, 0] == 0.0
    y = m.measure(x, u, p)
    assert y[2].tolist() == [20.0, 20.0, 0.0, 1.0]  # a dry vial reads the shelf
    assert y[0, 0] > y[0, 1]  # the bottom is warmer than the front


def test_slow_tail_vial_dries_last_and_hot_tail_runs_hottest() -> None:
    slots = [
        Slot("centre", "centre"),
        Slot("edge", "edge"),
        Slot("slow", "centre", "tail", (-0.9, 0.44), z=3.0, watch="slow"),
        Slot("hot", "centre", "tail", (0.37, 0.93), z=3.0, watch="hot"),
        Slot("tc1", "centre", "thermocouple", watch="hot"),
    ]
    model = vial_slots_model(slots, ShelfPrior())
    p = model.default_parameters(1)
    schedule = cycle_schedule(SHELF, PRESSURE, 12.0)
    times = np.linspace(0.0, 12.0, 1201)
    x = simulate(model, schedule, np.zeros((1, len(slots))), p, t_out=times).x[:, 0, :]
    u = np.array([schedule.inputs_at(float(t)) for t in times])
    y = model.measure(x, u, np.tile(p, (len(times), 1)))
    names = model.output_names()
    end = {s.name: times[np.argmax(y[:, names.index(f"f_{s.name}")] >= 1.0)] for s in slots}
    assert end["edge"] < end["centre"] < end["slow"]
    assert end["tc1"] < end["centre"]  # Rp × 0.8: the thermocouple vial dries first
    wet = (y[:, names.index("f_hot")] < 1.0) & (y[:, names.index("f_centre")] < 1.0)
    assert np.all(y[wet, names.index("T_hot")] > y[wet, names.index("T_centre")])
    assert np.all(y[wet, names.index("T_max")] >= y[wet, names.index("T_hot")])
    f_last = y[:, names.index("f_last")]
    assert np.allclose(
        f_last, np.minimum.reduce([y[:, names.index(f"f_{n}")] for n in ("centre", "edge", "slow")])
    )


def test_slot_model_rejects_bad_layouts() -> None:
    with pytest.raises(ValueError, match="unique"):
        vial_slots_model([Slot("a", "centre"), Slot("a", "edge")])
    with pytest.raises(ValueError, match="typical centre"):
        vial_slots_model([Slot("a", "centre")])


def test_expected_maximum_of_normals() -> None:
    # E[max of 2 standard normals] = 1/sqrt(pi) = 0.564 (Blom's approximation: 0.50)
    assert expected_maximum(2) == pytest.approx(0.564, abs=0.07)
    assert 2.7 < expected_maximum(322) < 3.0


def test_cycle_schedule_follows_the_programmes() -> None:
    schedule = cycle_schedule(SHELF, Profile.ramp(0.1, 0.001, 0.2), 10.0)
    for t in (0.0, 0.4, 0.9, 2.0, 9.5):
        assert schedule.inputs_at(t)[0] == pytest.approx(float(SHELF.at(t)))
    assert schedule.inputs_at(1.0)[1] == pytest.approx(0.16)
    with pytest.raises(ValueError, match="end_h"):
        cycle_schedule(SHELF, PRESSURE, 0.0)
