"""The optimizer's per-step choices against the front solve of ``physics`` (issue 6 case)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.optimize_march import Envelope, Pass, Programme
from pharmatwin.equipment.lyophilizer.optimize_policy import (
    Case,
    choose_pressure,
    choose_shelf,
    rate_for_temperature,
    rates_for_temperature,
    temperature_for_rate,
)

AV, AP = 3.8, 3.14
L0 = float(physics.fill_height(2.0, AP, 0.05))


def _case(t_limit: float = -5.0, vials: int = 398) -> Case:
    per_vial = 1000.0 / vials
    return Case(
        av=AV, ap=AP, l0=L0, growth=float(physics.cake_growth_per_gram(AP, 0.05)),
        r0=1.4, a1=16.0, a2=0.0, kc=2.75e-4, kp=8.93e-4, kd=0.46,
        t_limit=t_limit, cap_a=-0.182 * per_vial, cap_b=11.7 * per_vial,
    )  # fmt: skip


def _front(case: Case, shelf: float, pch: float, length: float) -> physics.FrontState:
    return physics.solve_front(shelf, pch, case.kv(pch), case.rp(length), case.l0 - length, AV, AP)


@pytest.mark.parametrize("length", [0.0, 0.2, 0.5, L0])
@pytest.mark.parametrize("pch", [0.05, 0.15, 0.3])
def test_rate_and_temperature_are_inverse_and_match_the_front_solve(
    length: float, pch: float
) -> None:
    case = _case()
    alpha = case.rp(length) / AP
    beta = case.beta_shelf(length, pch)
    for shelf in (-20.0, 0.0, 40.0):
        rate = rate_for_temperature(shelf, pch, alpha, beta)
        front = _front(case, shelf, pch, length)
        assert rate == pytest.approx(float(front.rate_g_h), rel=1e-8, abs=1e-12)
        assert temperature_for_rate(rate, pch, alpha, beta) == pytest.approx(shelf, abs=1e-8)
        bottom = temperature_for_rate(rate, pch, alpha, case.beta_bottom(length))
        assert bottom == pytest.approx(float(front.t_bot), abs=1e-7)


def test_no_sublimation_when_the_target_is_below_the_ice_at_chamber_pressure() -> None:
    ice = float(physics.ice_temperature_at(0.15))
    assert rate_for_temperature(ice - 0.1, 0.15, 1.0, 1.0) == 0.0
    assert rate_for_temperature(ice + 0.1, 0.15, 1.0, 1.0) > 0.0


def test_vectorized_rates_equal_the_scalar_ones() -> None:
    pch = np.append(np.linspace(0.03, 0.4, 9), 3.5)
    many = rates_for_temperature(-5.0, pch, 1.4 / AP, 16.0)
    one = [rate_for_temperature(-5.0, float(p), 1.4 / AP, 16.0) for p in pch]
    np.testing.assert_allclose(many, one, rtol=1e-10, atol=1e-14)
    assert many[-1] == 0.0  # ice at 3.5 Torr is warmer than -5 °C (3.0 Torr)
    assert bool(np.all(many[:-1] > 0.0))


@pytest.mark.parametrize("length", [0.0, 0.3, 0.6])
def test_shelf_choice_puts_the_vial_bottom_at_the_limit(length: float) -> None:
    case = _case()
    choice = choose_shelf(case, length, 0.15, 500.0, -50.0)
    front = _front(case, choice.shelf_c, 0.15, length)
    assert float(front.t_bot) == pytest.approx(-5.0, abs=1e-7)
    assert choice.rate_g_h == pytest.approx(float(front.rate_g_h), rel=1e-8)
    assert choice.ceiling_c == choice.shelf_c
    assert choice.excess_c == 0.0


def test_shelf_choice_respects_the_upper_bound_and_the_capability() -> None:
    case = _case()
    bounded = choose_shelf(case, 0.0, 0.15, 20.0, -50.0)
    assert bounded.shelf_c == 20.0
    assert float(_front(case, 20.0, 0.15, 0.0).t_bot) < -5.0
    low_pressure = choose_shelf(case, 0.1, 0.03, 500.0, -50.0)  # capability binds at 0.03 Torr
    assert low_pressure.rate_g_h == pytest.approx(case.capability(0.03), rel=1e-12)
    front = _front(case, low_pressure.shelf_c, 0.03, 0.1)
    assert float(front.rate_g_h) == pytest.approx(case.capability(0.03), rel=1e-8)
    assert float(front.t_bot) < -5.0


def test_shelf_choice_reports_the_excess_when_forced_above_the_ceiling() -> None:
    case = _case()
    ceiling = choose_shelf(case, 0.5, 0.15, 500.0, -50.0).shelf_c
    forced = choose_shelf(case, 0.5, 0.15, 500.0, ceiling + 3.0)
    assert forced.shelf_c == ceiling + 3.0
    assert forced.excess_c == pytest.approx(3.0, abs=1e-9)


def test_pressure_choice_is_the_best_admissible_pressure() -> None:
    case = _case()
    grid = np.linspace(0.03, 0.4, 25)
    choice = choose_pressure(case, 0.2, grid, 10.0, 10.0)
    fine = np.linspace(0.03, 0.4, 2001)
    front = _front(case, 10.0, fine, 0.2)  # type: ignore[arg-type]
    cap = case.capability(fine)  # type: ignore[arg-type]
    ok = (front.t_bot <= -5.0) & (front.rate_g_h <= cap)
    assert choice.rate_g_h == pytest.approx(float(np.max(front.rate_g_h[ok])), rel=2e-3)
    chosen = _front(case, 10.0, choice.pressure_torr, 0.2)
    assert float(chosen.t_bot) <= -5.0 + 1e-9
    assert float(chosen.rate_g_h) <= case.capability(choice.pressure_torr) * (1 + 1e-9)


def test_pressure_choice_reports_when_no_pressure_is_admissible() -> None:
    choice = choose_pressure(_case(), 0.5, np.linspace(0.05, 0.4, 9), 200.0, 200.0)
    assert choice.excess_c > 0.0


def test_both_choice_is_at_least_as_fast_as_any_single_pressure() -> None:
    case = _case()
    grid = np.linspace(0.03, 0.4, 25)
    both = choose_pressure(case, 0.3, grid, 120.0, -45.0)
    for pch in (0.05, 0.1, 0.15, 0.3):
        assert both.rate_g_h >= choose_shelf(case, 0.3, pch, 120.0, -45.0).rate_g_h * (1 - 1e-3)


def test_programme_and_envelope() -> None:
    prog = Programme((0.0, 1.0, 2.0), (-35.0, 25.0, 25.0))
    assert prog.at(-1.0) == -35.0
    assert prog.at(0.5) == pytest.approx(-5.0)
    assert prog.at(9.0) == 25.0
    assert prog.max_slope_per_min() == pytest.approx(1.0)
    t = np.array([0.0, 1.0, 2.0])
    done = Pass(
        t_h=t, length_cm=t, shelf_c=t, pressure_torr=t, rate_g_h=t,
        ceiling_c=np.array([50.0, 40.0, 0.0]), excess_c=np.zeros(3),
    )  # fmt: skip
    env = Envelope.from_pass(done, 0.25, 45.0, Envelope.none())  # 15 °C/h down
    assert env.value == (30.0, 15.0, 0.0)
    assert env.at(0.5) == pytest.approx(22.5)
    assert math.isinf(Envelope.none().at(3.0))
