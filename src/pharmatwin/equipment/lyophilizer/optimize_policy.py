"""Per-step control choices of the cycle optimizer: the fastest admissible sublimation rate.

Units as in ``physics``: °C, Torr, cm, cm², h, cal, g (per vial); the equipment capability is
converted to g/h per vial. Every choice rests on one equation. At a given dried-cake length L
(resistance Rp, frozen thickness L0 − L) and chamber pressure Pch, the sublimation rate ṁ
[g/h] fixes the front: Psub = Pch + ṁ·Rp/Ap, Tsub = T_ice(Psub), and the temperature
``drop`` ṁ·β above it, with β = ΔHs/3600·(L0 − L)/(Ap·k_ice) at the vial bottom and
β + ΔHs/(3600·Kv·Av) at the shelf (Pikal 1985; the heat balance of ``physics.solve_front``).
So ``T_ice(Pch + α·ṁ) + β·ṁ = target`` (α = Rp/Ap) gives, for a target vial-bottom
temperature, the rate at the collapse limit and, for a target shelf temperature, the rate the
shelf drives. The left side is increasing and concave in ṁ, so Newton's method started at
ṁ = 0 climbs to the root monotonically without safeguards; the shelf temperature that a rate
needs is the same expression in closed form.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer.physics import (
    DH_SUB,
    K_ICE,
    KELVIN,
    PSUB_A,
    PSUB_B,
    S_PER_H,
)

_NEWTON_STEPS = 40
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_GOLDEN_STEPS = 22
_RATE_TOL = 1e-12
_LOG_A = math.log(PSUB_A)


@dataclass(frozen=True)
class Case:
    """One vial's numbers for the optimizer (literature units, see the module docstring).

    ``t_limit`` is the collapse temperature minus the margin, °C; ``cap_a`` + ``cap_b``·Pch is
    the condenser's capability in g/h per vial (the equipment's kg/h over the vial count).
    """

    av: float
    ap: float
    l0: float
    growth: float
    r0: float
    a1: float
    a2: float
    kc: float
    kp: float
    kd: float
    t_limit: float
    cap_a: float
    cap_b: float

    def kv(self, pch: float) -> float:
        """Vial heat-transfer coefficient at ``pch`` Torr, cal/(s·K·cm²)."""
        return self.kc + self.kp * pch / (1.0 + self.kd * pch)

    def rp(self, length: float) -> float:
        """Dried-layer resistance at cake length ``length`` cm, cm²·Torr·h/g."""
        return self.r0 + self.a1 * length / (1.0 + self.a2 * length)

    def beta_bottom(self, length: float) -> float:
        """Vial-bottom temperature rise above the front per g/h sublimed, K·h/g."""
        return DH_SUB / S_PER_H * (self.l0 - length) / (self.ap * K_ICE)

    def beta_shelf(self, length: float, pch: float) -> float:
        """Shelf temperature rise above the front per g/h sublimed, K·h/g."""
        return self.beta_bottom(length) + DH_SUB / (S_PER_H * self.kv(pch) * self.av)

    def capability(self, pch: float) -> float:
        """Largest admissible sublimation rate per vial at ``pch`` Torr, g/h."""
        return self.cap_a + self.cap_b * pch


def ice_temperature(p_torr: float) -> float:
    """Ice temperature (°C) whose vapour pressure is ``p_torr`` Torr (scalar ``physics``)."""
    return -PSUB_B / (math.log(p_torr) - _LOG_A) - KELVIN


def temperature_for_rate(rate: float, pch: float, alpha: float, beta: float) -> float:
    """T_ice(Pch + α·ṁ) + β·ṁ: the vial-bottom (β at the bottom) or shelf (β at the shelf)
    temperature, °C, at which a vial sublimes ``rate`` g/h."""
    return ice_temperature(pch + alpha * rate) + beta * rate


def rate_for_temperature(target: float, pch: float, alpha: float, beta: float) -> float:
    """The rate ṁ ≥ 0 (g/h) with ``temperature_for_rate(ṁ) = target``; 0 when even the ice in
    equilibrium with the chamber is not colder than ``target``."""
    log_p = math.log(pch) - _LOG_A
    if -PSUB_B / log_p - KELVIN >= target:
        return 0.0
    rate = 0.0
    for _ in range(_NEWTON_STEPS):
        p = pch + alpha * rate
        log_p = math.log(p) - _LOG_A
        residual = -PSUB_B / log_p - KELVIN + beta * rate - target
        slope = alpha * PSUB_B / (p * log_p * log_p) + beta
        step = residual / slope
        rate -= step
        if -step <= _RATE_TOL * (1.0 + rate):
            break
    return rate


def rates_for_temperature(
    target: float | FloatArray, pch: FloatArray, alpha: float, beta: float | FloatArray
) -> FloatArray:
    """``rate_for_temperature`` over arrays of chamber pressure (and ``target``/``beta``)."""
    log_p = np.log(pch) - _LOG_A
    possible = -PSUB_B / log_p - KELVIN < target
    rate = np.zeros(np.broadcast(pch, target, beta).shape)
    for _ in range(_NEWTON_STEPS):
        p = pch + alpha * rate
        log_p = np.log(p) - _LOG_A
        residual = -PSUB_B / log_p - KELVIN + beta * rate - target
        step = residual / (alpha * PSUB_B / (p * log_p * log_p) + beta)
        rate = np.where(possible, rate - step, 0.0)
        if float(np.max(-step, initial=0.0, where=possible)) <= _RATE_TOL * 10.0:
            break
    return rate


def temperatures_for_rate(
    rate: FloatArray, pch: FloatArray, alpha: float, beta: float | FloatArray
) -> FloatArray:
    """``temperature_for_rate`` over arrays."""
    log_p = np.log(pch + alpha * rate) - _LOG_A
    return np.asarray(-PSUB_B / log_p - KELVIN + beta * rate)


@dataclass(frozen=True)
class Choice:
    """The control chosen at one instant and what it gives.

    Attributes:
        shelf_c: shelf temperature, °C.
        pressure_torr: chamber pressure, Torr.
        rate_g_h: sublimation rate per vial, g/h.
        ceiling_c: the highest shelf temperature that keeps every constraint here, °C
            (for the look-ahead over ramp limits; +inf when nothing limits it).
        excess_c: how far the shelf sits above that ceiling (> 0 only when a ramp-down limit
            forced it there), °C.
    """

    shelf_c: float
    pressure_torr: float
    rate_g_h: float
    ceiling_c: float
    excess_c: float


def choose_shelf(case: Case, length: float, pch: float, upper: float, lower: float) -> Choice:
    """Shelf mode at chamber pressure ``pch``: the warmest shelf in [lower, upper] that keeps
    the vial bottom at or below the limit and the rate within the capability."""
    alpha = case.rp(length) / case.ap
    limit = min(
        rate_for_temperature(case.t_limit, pch, alpha, case.beta_bottom(length)),
        case.capability(pch),
    )
    beta = case.beta_shelf(length, pch)
    ceiling = temperature_for_rate(max(limit, 0.0), pch, alpha, beta)
    shelf = max(min(ceiling, upper), lower)
    rate = limit if shelf == ceiling else rate_for_temperature(shelf, pch, alpha, beta)
    return Choice(shelf, pch, rate, ceiling, max(shelf - ceiling, 0.0))


def choose_pressure(
    case: Case, length: float, pressures: FloatArray, upper: float, lower: float
) -> Choice:
    """Pressure (``upper == lower``: the shelf is fixed) and both modes: over a grid of chamber
    pressures, the shelf temperature in [lower, upper] that gives the fastest admissible rate,
    then golden-section searches between the best point's neighbours (the optimum is usually
    where two constraints cross, between grid points): of the rate, or, when no grid point is
    admissible, of the ceiling first. When no pressure is admissible even at ``lower``, the one
    closest to admissible is returned with its ``excess_c``."""
    best = _best_on_grid(case, length, pressures, upper, lower)
    if math.isinf(best.excess_c):
        return best
    k = int(np.searchsorted(pressures, best.pressure_torr))
    bracket = (float(pressures[max(k - 1, 0)]), float(pressures[min(k + 1, len(pressures) - 1)]))
    probe = _Probe(case, length, upper, lower)
    if best.excess_c > 0.0:
        _golden(probe.ceiling, bracket)
        if probe.top < lower:
            excess = lower - probe.top
            return Choice(lower, best.pressure_torr, best.rate_g_h, probe.top, excess)
    _golden(probe.rate, bracket)
    ceiling = max(best.ceiling_c, probe.top)
    found = max(probe.found, key=lambda choice: choice.rate_g_h, default=None)
    if found is not None and (best.excess_c > 0.0 or found.rate_g_h > best.rate_g_h):
        return Choice(found.shelf_c, found.pressure_torr, found.rate_g_h, ceiling, 0.0)
    return Choice(best.shelf_c, best.pressure_torr, best.rate_g_h, ceiling, best.excess_c)


class _Probe:
    """Scalar evaluations at one dried length for the golden-section searches; keeps every
    admissible choice met and the highest ceiling."""

    def __init__(self, case: Case, length: float, upper: float, lower: float) -> None:
        self.case, self.length, self.upper, self.lower = case, length, upper, lower
        self.alpha = case.rp(length) / case.ap
        self.beta_bottom = case.beta_bottom(length)
        self.found: list[Choice] = []
        self.top = -math.inf

    def ceiling(self, pch: float) -> float:
        """The highest admissible shelf temperature at ``pch``, °C (-inf: none)."""
        case = self.case
        limit = min(
            rate_for_temperature(case.t_limit, pch, self.alpha, self.beta_bottom),
            case.capability(pch),
        )
        if limit <= 0.0:
            return -math.inf
        beta = case.beta_shelf(self.length, pch)
        ceiling = temperature_for_rate(limit, pch, self.alpha, beta)
        self.top = max(self.top, ceiling)
        if ceiling >= self.lower:
            if ceiling <= self.upper:
                self.found.append(Choice(ceiling, pch, limit, ceiling, 0.0))
            else:
                rate = rate_for_temperature(self.upper, pch, self.alpha, beta)
                self.found.append(Choice(self.upper, pch, rate, ceiling, 0.0))
        return ceiling

    def rate(self, pch: float) -> float:
        """The fastest admissible rate at ``pch``, g/h (-inf: not admissible)."""
        count = len(self.found)
        self.ceiling(pch)
        return self.found[-1].rate_g_h if len(self.found) > count else -math.inf


def _golden(f: Callable[[float], float], bracket: tuple[float, float]) -> None:
    """Golden-section search for the maximum of ``f`` over ``bracket`` (for its side effects
    on a ``_Probe``: every evaluation is recorded there)."""
    a, b = bracket
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(_GOLDEN_STEPS):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - _GOLDEN * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _GOLDEN * (b - a)
            fd = f(d)


def _best_on_grid(case: Case, length: float, pch: FloatArray, upper: float, lower: float) -> Choice:
    alpha = case.rp(length) / case.ap
    beta = case.beta_bottom(length) + DH_SUB / (
        S_PER_H * (case.kc + case.kp * pch / (1.0 + case.kd * pch)) * case.av
    )
    # one Newton loop for both targets: the vial bottom at the limit, the shelf at ``upper``
    both = rates_for_temperature(
        np.array([[case.t_limit], [upper]]),
        pch,
        alpha,
        np.stack([np.full_like(pch, case.beta_bottom(length)), beta]),
    )
    limit = np.minimum(both[0], case.cap_a + case.cap_b * pch)
    at_upper = both[1]
    ceiling = temperatures_for_rate(np.maximum(limit, 0.0), pch, alpha, beta)
    rate = np.minimum(limit, at_upper)
    possible = limit > 0.0
    ceiling = np.where(possible, ceiling, -np.inf)
    excess = np.maximum(lower - ceiling, 0.0)
    ok = excess <= 0.0
    if bool(np.any(ok)):
        k = int(np.argmax(np.where(ok, rate, -np.inf)))
        shelf = min(float(ceiling[k]), upper)
        return Choice(shelf, float(pch[k]), float(rate[k]), float(np.max(ceiling)), 0.0)
    k = int(np.argmin(excess))
    if not possible[k]:
        return Choice(lower, float(pch[k]), 0.0, -math.inf, math.inf)
    forced = rate_for_temperature(lower, float(pch[k]), alpha, float(beta[k]))
    return Choice(lower, float(pch[k]), forced, float(ceiling[k]), float(excess[k]))
