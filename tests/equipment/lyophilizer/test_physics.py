"""The primary-drying physics against tabulated values, limits and its own balances."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.cycle import HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.primary_rk import Case, front_many, front_one

VIAL = Vial(area_cm2=3.8, product_area_cm2=3.14, fill_ml=2.0)
PRODUCT = Product(solids_fraction=0.05, r0=1.4, a1=16.0, a2=0.0, collapse_temperature_c=-5.0)
HEAT = HeatTransfer(kc=2.75e-4, kp=8.93e-4, kd=0.46)


@pytest.mark.parametrize(
    ("t_c", "p_torr"),
    # Vapour pressure of ice, CRC Handbook of Chemistry and Physics ("Vapor pressure of ice"):
    # 103.24 Pa at -20 °C, 12.84 Pa at -40 °C, 611.15 Pa at 0 °C (1 Torr = 133.322 Pa).
    [(-20.0, 103.24 / 133.322), (-40.0, 12.84 / 133.322), (0.0, 611.15 / 133.322)],
)
def test_ice_vapour_pressure_matches_tables_within_one_percent(t_c: float, p_torr: float) -> None:
    # The two-parameter Clausius-Clapeyron fit (Pikal 1985) is quoted to ~1 % over -40..0 °C.
    assert float(physics.ice_vapour_pressure(t_c)) == pytest.approx(p_torr, rel=0.01)


def test_ice_temperature_inverts_the_vapour_pressure() -> None:
    t = np.linspace(-60.0, 0.0, 13)
    assert np.allclose(physics.ice_temperature_at(physics.ice_vapour_pressure(t)), t, atol=1e-9)


def test_kv_goes_from_contact_to_saturated_gas_conduction() -> None:
    assert float(physics.vial_heat_transfer(0.0, 2.75e-4, 8.93e-4, 0.46)) == 2.75e-4
    high = float(physics.vial_heat_transfer(1e9, 2.75e-4, 8.93e-4, 0.46))
    assert high == pytest.approx(2.75e-4 + 8.93e-4 / 0.46, rel=1e-6)
    p = np.array([0.05, 0.1, 0.2])
    assert np.all(np.diff(physics.vial_heat_transfer(p, 2.75e-4, 8.93e-4, 0.46)) > 0)


def test_cake_resistance_is_linear_without_a2_and_saturates_with_it() -> None:
    assert float(physics.cake_resistance(0.5, 1.4, 16.0, 0.0)) == pytest.approx(1.4 + 8.0)
    far = float(physics.cake_resistance(1e9, 1.4, 16.0, 2.0))
    assert far == pytest.approx(1.4 + 16.0 / 2.0, rel=1e-6)


def test_pure_ice_fill_height_and_growth_are_volume_over_area() -> None:
    l0 = float(physics.fill_height(2.0, 3.14, 0.0))
    assert l0 == pytest.approx(2.0 / (3.14 * physics.RHO_ICE))
    # all of it is ice: sublime 2 g (the water of 2 mL) and the whole height is dry
    assert float(physics.cake_growth_per_gram(3.14, 0.0)) * 2.0 == pytest.approx(l0)


def test_front_satisfies_the_heat_balance_and_stops_when_the_shelf_is_too_cold() -> None:
    tsh = np.array([-30.0, 0.0, 20.0, -45.0])
    kv = physics.vial_heat_transfer(0.1, HEAT.kc, HEAT.kp, HEAT.kd)
    s = physics.solve_front(tsh, 0.1, kv, 5.0, np.array([0.5, 0.3, 0.1, 0.5]), 3.8, 3.14)
    heat_in = kv * 3.8 * (tsh - s.t_bot)  # cal/s from the shelf
    heat_used = s.rate_g_h * physics.DH_SUB / physics.S_PER_H
    assert np.allclose(heat_in, heat_used, rtol=1e-7, atol=1e-12)
    assert np.allclose(s.rate_g_h, 3.14 * (s.p_sub - 0.1) / 5.0 * np.array([1, 1, 1, 0]))
    # -45 °C ice has 0.054 Torr < 0.1 Torr: nothing sublimes and the product sits at the shelf
    assert s.rate_g_h[3] == 0.0 and s.t_bot[3] == -45.0
    assert np.all(s.t_sub[:3] < s.t_bot[:3]) and np.all(s.t_bot[:3] < tsh[:3])


def test_the_integrators_front_solvers_equal_physics_solve_front() -> None:
    case = Case.of(VIAL, PRODUCT, HEAT)
    rng = np.random.default_rng(3)
    tsh = rng.uniform(-50.0, 30.0, 200)
    pch = rng.uniform(0.03, 0.4, 200)
    rp = rng.uniform(1.0, 20.0, 200)
    frozen = rng.uniform(0.0, case.l0, 200)
    kv = physics.vial_heat_transfer(pch, case.kc, case.kp, case.kd)
    ref = physics.solve_front(tsh, pch, kv, rp, frozen, case.av, case.ap)
    guess = rng.uniform(-60.0, 30.0, 200)
    t_sub, t_bot, rate = front_many(tsh, pch, kv, rp, frozen, case=case, guess=guess)
    assert np.allclose(t_sub, ref.t_sub, atol=1e-8)
    assert np.allclose(t_bot, ref.t_bot, atol=1e-8)
    assert np.allclose(rate, ref.rate_g_h, rtol=1e-8, atol=1e-12)
    for i in range(0, 200, 17):
        one = front_one(tsh[i], pch[i], kv[i], rp[i], frozen[i], case=case, guess=float(guess[i]))
        assert one == pytest.approx((ref.t_sub[i], ref.t_bot[i], ref.rate_g_h[i]), abs=1e-8)
