"""Baseline for ``bench.lyo``: the algorithms of LyoPRONTO (Shivkumar et al. 2019, AAPS
PharmSciTech 20:328), re-implemented here from the model's equations with scalar Python and
scipy, for timing side by side in the same run.

* ``simulate``: as LyoPRONTO's ``calc_knownRp``, dL/dt integrated by ``solve_ivp`` (BDF) with
  the front temperature found by ``fsolve`` at every right-hand-side call, the end of drying
  as a terminal event, then 100 output points each solved again by ``fsolve``.
* ``design_space``: a loop of such simulations over shelf setpoint × chamber pressure.
* ``optimize_shelf``: as LyoPRONTO's ``opt_Tsh``, explicit Euler steps of 0.01 h, each choosing
  the shelf temperature by ``scipy.optimize.minimize`` (SLSQP) that maximizes the sublimation
  rate subject to the heat and mass balances (equalities), the collapse temperature and the
  equipment capability (inequalities) and the shelf bounds, started from the same fixed
  guess at every step.

Units: °C, Torr, cm, cm², h, cal, g (per vial); capability a + b·Pch in kg/h for N vials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import fsolve, minimize

from pharmatwin.equipment.lyophilizer.physics import (
    DH_SUB,
    K_ICE,
    KELVIN,
    PSUB_A,
    PSUB_B,
    RHO_ICE,
    RHO_SOLUTE,
    RHO_SOLUTION,
    S_PER_H,
)


@dataclass(frozen=True)
class Case:
    """The reference case of issue 6 (LyoPRONTO's example)."""

    av: float = 3.8
    ap: float = 3.14
    fill_ml: float = 2.0
    solids: float = 0.05
    r0: float = 1.4
    a1: float = 16.0
    a2: float = 0.0
    kc: float = 2.75e-4
    kp: float = 8.93e-4
    kd: float = 0.46
    t_crit: float = -5.0
    cap_a: float = -0.182
    cap_b: float = 11.7
    vials: int = 398

    @property
    def l0(self) -> float:
        """Initial frozen height, cm."""
        share = RHO_SOLUTION - self.solids * (RHO_SOLUTION - RHO_ICE) / RHO_SOLUTE
        return self.fill_ml / (self.ap * RHO_ICE) * share

    @property
    def growth(self) -> float:
        """Dried thickness per gram sublimed, cm/g."""
        ice = 1.0 - self.solids * RHO_SOLUTION / RHO_SOLUTE
        volume = 1.0 - self.solids * (RHO_SOLUTION - RHO_ICE) / RHO_SOLUTE
        return volume / (ice * self.ap * RHO_ICE)

    def kv(self, pch: float) -> float:
        return self.kc + self.kp * pch / (1.0 + self.kd * pch)

    def rp(self, length: float) -> float:
        return self.r0 + self.a1 * length / (1.0 + self.a2 * length)


def _psub(t_c: float) -> float:
    return PSUB_A * math.exp(-PSUB_B / (t_c + KELVIN))


def _front(case: Case, tsh: float, pch: float, length: float, guess: float) -> tuple[float, ...]:
    """Front temperature, vial-bottom temperature (°C) and rate (g/h) by ``fsolve``."""
    kv, rp, frozen = case.kv(pch), case.rp(length), case.l0 - length

    def heat_balance(x: Any) -> Any:
        t_sub = float(x[0])
        q = DH_SUB * (_psub(t_sub) - pch) * case.ap / rp / S_PER_H  # cal/s
        t_bot = t_sub + q * frozen / (case.ap * K_ICE)
        return [q - kv * case.av * (tsh - t_bot)]

    t_sub = float(fsolve(heat_balance, [guess])[0])
    rate = max(case.ap / rp * (_psub(t_sub) - pch), 0.0)
    t_bot = t_sub + DH_SUB / S_PER_H * rate * frozen / (case.ap * K_ICE)
    return t_sub, t_bot, rate


def simulate(
    case: Case, shelf_init: float, ramp_per_min: float, setpoint: float, pch: float
) -> tuple[float, float]:
    """Drying time (h) and maximum vial-bottom temperature (°C) at a ramped shelf and fixed
    chamber pressure."""

    def shelf(t: float) -> float:
        ramped = shelf_init + math.copysign(60.0 * ramp_per_min * t, setpoint - shelf_init)
        return min(ramped, setpoint) if setpoint >= shelf_init else max(ramped, setpoint)

    def rhs(t: float, y: Any) -> list[float]:
        length = min(float(y[0]), case.l0)
        return [_front(case, shelf(t), pch, length, shelf_init)[2] * case.growth]

    def finished(t: float, y: Any) -> float:
        return case.l0 - float(y[0])

    finished.terminal = True  # type: ignore[attr-defined]
    sol = solve_ivp(rhs, (0.0, 200.0), [0.0], method="BDF", events=finished, dense_output=True)
    end = float(sol.t[-1])
    temps = [
        _front(case, shelf(t), pch, min(float(sol.sol(t)[0]), case.l0), shelf(t))[1]
        for t in np.linspace(0.0, end, 100)
    ]
    return end, max(temps)


def design_space(
    case: Case,
    shelf_init: float,
    ramp_per_min: float,
    setpoints: list[float],
    pressures: list[float],
) -> list[tuple[float, float]]:
    """``simulate`` over every shelf setpoint × chamber pressure (setpoint-major order)."""
    return [
        simulate(case, shelf_init, ramp_per_min, tsh, pch) for tsh in setpoints for pch in pressures
    ]


def optimize_shelf(
    case: Case, pch: float, shelf_min: float, shelf_max: float, dt: float = 0.01
) -> tuple[float, float]:
    """Drying time (h) and maximum vial-bottom temperature (°C) of the shelf-temperature
    optimization at a fixed chamber pressure: x = (Tsh, Tsub, Tbot, rate g/h)."""
    kv = case.kv(pch)
    cap = (case.cap_a + case.cap_b * pch) * 1000.0 / case.vials  # g/h per vial
    per_rate = DH_SUB / S_PER_H  # cal/s per g/h
    t, length, t_max = 0.0, 0.0, -math.inf
    guess = np.array([case.t_crit, case.t_crit, case.t_crit, 0.0])
    bounds = [(shelf_min, shelf_max), (None, None), (None, None), (0.0, None)]
    while length < case.l0:
        rp, frozen = case.rp(length), case.l0 - length

        def balances(x: Any, rp: float = rp, frozen: float = frozen) -> Any:
            tsh, t_sub, t_bot, rate = x
            return [
                rate - case.ap / rp * (_psub(t_sub) - pch),
                t_bot - t_sub - per_rate * rate * frozen / (case.ap * K_ICE),
                kv * case.av * (tsh - t_bot) - per_rate * rate,
            ]

        def limits(x: Any) -> Any:
            return [case.t_crit - x[2], cap - x[3]]

        res = minimize(
            lambda x: -x[3],
            guess,
            method="SLSQP",
            bounds=bounds,
            constraints=({"type": "eq", "fun": balances}, {"type": "ineq", "fun": limits}),
        )
        rate, t_bot = float(res.x[3]), float(res.x[2])
        t_max = max(t_max, t_bot)
        gained = rate * case.growth * dt
        if length + gained >= case.l0:
            t += (case.l0 - length) / (rate * case.growth)
            break
        t, length = t + dt, length + gained
    return t, t_max
