"""Setpoint programmes: knots, interpolation, holds and validation."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.equipment.lyophilizer.profiles import Profile, Step


def test_constant_is_held_for_ever() -> None:
    p = Profile.constant(0.15)
    assert p.t_h.tolist() == [0.0]
    assert np.all(p.at(np.array([0.0, 3.0, 1e4])) == 0.15)


def test_ramp_reaches_the_setpoint_at_the_rate_and_holds() -> None:
    p = Profile.ramp(-35.0, 1.0, 20.0)  # 55 K at 1 K/min: 55 min
    assert p.t_h.tolist() == pytest.approx([0.0, 55.0 / 60.0])
    assert p.value.tolist() == [-35.0, 20.0]
    assert float(p.at(0.5)) == pytest.approx(-35.0 + 30.0)
    assert float(p.at(10.0)) == 20.0
    assert p.end_h == pytest.approx(55.0 / 60.0) and p.final == 20.0
    assert p.slopes_per_h().tolist() == pytest.approx([60.0, 0.0])


def test_ramp_down_and_ramp_to_the_same_value() -> None:
    down = Profile.ramp(0.2, 0.01, 0.1)
    assert down.t_h.tolist() == pytest.approx([0.0, 10.0 / 60.0])
    assert float(down.at(5.0 / 60.0)) == pytest.approx(0.15)
    flat = Profile.ramp(5.0, 1.0, 5.0)
    assert flat == Profile.constant(5.0)


def test_steps_chain_ramps_and_holds() -> None:
    p = Profile.steps(-40.0, [Step(-10.0, 0.5, hold_h=5.0), Step(10.0, 1.0, hold_h=0.0)])
    assert p.t_h.tolist() == pytest.approx([0.0, 1.0, 6.0, 6.0 + 20.0 / 60.0])
    assert p.value.tolist() == [-40.0, -10.0, -10.0, 10.0]
    t = np.array([[0.5, 3.0], [6.1, 100.0]])  # any shape
    values = p.at(t)
    assert values.shape == (2, 2)
    assert np.allclose(values, [[-25.0, -10.0], [-10.0 + 6.0, 10.0]])


def test_profiles_compare_and_hash_by_value() -> None:
    a = Profile.ramp(-35.0, 1.0, 20.0)
    b = Profile(np.array([0.0, 55.0 / 60.0]), np.array([-35.0, 20.0]))
    assert a == b and hash(a) == hash(b)
    assert a != Profile.constant(20.0)
    with pytest.raises(ValueError):
        a.t_h[0] = 1.0  # frozen all the way down


@pytest.mark.parametrize(
    ("t", "v", "message"),
    [
        ([0.0, 1.0], [1.0], "as many values"),
        ([0.5, 1.0], [1.0, 2.0], "first knot must be at 0"),
        ([0.0, 1.0, 1.0], [1.0, 2.0, 3.0], "strictly increasing"),
        ([0.0, np.nan], [1.0, 2.0], "finite"),
        ([], [], "one or more knots"),
    ],
)
def test_bad_knots_are_refused(t: list[float], v: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Profile(np.array(t), np.array(v))


def test_bad_steps_name_the_field() -> None:
    with pytest.raises(ValueError, match="rate_per_min: must be positive"):
        Step(10.0, 0.0)
    with pytest.raises(ValueError, match="hold_h"):
        Step(10.0, 1.0, hold_h=-1.0)
    with pytest.raises(ValueError, match="rate_per_min"):
        Profile.ramp(-35.0, -1.0, 20.0)
    with pytest.raises(ValueError, match="initial"):
        Profile.steps(float("inf"), [])
