"""Shared pieces of the primary-drying integrators: the Dormand–Prince 5(4) tableau, the
tolerances, the case constants and the front heat balance solved by warm-started Newton.

The front solve is the same equation as ``physics.solve_front`` (Pikal 1985), written once
with ``math`` for a single vial and once with numpy for many, both starting from the previous
stage's front temperature so that two or three Newton steps suffice. The residual
r(T) = q(T)·(1 + Kv·Av·layer) − Kv·Av·(Tsh − T), q = ΔHs·Ap·(Psub(T) − Pch)/(3600·Rp), is
increasing and convex in T, so Newton clipped to [T(Psub = Pch), Tsh] converges from anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.dopri5 import P
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.cycle import HeatTransfer, Product, Vial

RTOL = 1e-8
"""Relative tolerance on the dried-layer thickness per step."""
ATOL_CM = 1e-10
"""Absolute tolerance on the dried-layer thickness per step, cm."""
FIRST_STEP_H = 0.02
MIN_STEP_H = 1e-11
SAFETY, SHRINK, GROW = 0.9, 0.2, 5.0
NEWTON_TOL_C = 2e-5
"""Newton stops after a step shorter than this, °C: by quadratic convergence the error left is
below |r''/2r'|·step² < 0.11·step² < 5e-11 °C (|r''/2r'| < B/(2(T+273.15)²) < 0.11/K above
−100 °C)."""
NEWTON_STEPS = 60
GOLDEN_STEPS = 24
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0

_PA, _PB, _K = physics.PSUB_A, physics.PSUB_B, physics.KELVIN
_PER_TORR = physics.DH_SUB / physics.S_PER_H  # cal/s per (g/h)


@dataclass(frozen=True)
class Case:
    """The constants of one integration (literature units, see ``physics``)."""

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

    @classmethod
    def of(cls, vial: Vial, product: Product, heat: HeatTransfer) -> Case:
        ap, c = vial.product_area_cm2, product.solids_fraction
        return cls(
            av=vial.area_cm2,
            ap=ap,
            l0=float(physics.fill_height(vial.fill_ml, ap, c)),
            growth=float(physics.cake_growth_per_gram(ap, c)),
            r0=product.r0,
            a1=product.a1,
            a2=product.a2,
            kc=heat.kc,
            kp=heat.kp,
            kd=heat.kd,
        )


def front_one(
    tsh: float, pch: float, kv: float, rp: float, frozen: float, *, case: Case, guess: float
) -> tuple[float, float, float]:
    """Front temperature, vial-bottom temperature (°C) and sublimation rate (g/h) of one vial."""
    if _PA * math.exp(-_PB / (tsh + _K)) <= pch:
        return tsh, tsh, 0.0
    conductance = kv * case.av
    per_torr = _PER_TORR * case.ap / rp
    layer = frozen / (case.ap * physics.K_ICE)
    gain = 1.0 + conductance * layer
    low = -_PB / math.log(pch / _PA) - _K
    t = min(max(guess, low), tsh)
    for _ in range(NEWTON_STEPS):
        p = _PA * math.exp(-_PB / (t + _K))
        residual = per_torr * (p - pch) * gain - conductance * (tsh - t)
        slope = per_torr * p * _PB / (t + _K) ** 2 * gain + conductance
        new = min(max(t - residual / slope, low), tsh)
        done = abs(new - t) < NEWTON_TOL_C
        t = new
        if done:
            break
    q = per_torr * (_PA * math.exp(-_PB / (t + _K)) - pch)
    return t, t + q * layer, q / _PER_TORR


def front_many(
    tsh: FloatArray,
    pch: FloatArray,
    kv: FloatArray,
    rp: FloatArray,
    frozen: FloatArray,
    *,
    case: Case,
    guess: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``front_one`` for arrays; each element stops iterating when it has converged, so its
    result does not depend on the other elements."""
    sublimes = _PA * np.exp(-_PB / (tsh + _K)) > pch
    conductance = kv * case.av
    per_torr = _PER_TORR * case.ap / rp
    layer = frozen / (case.ap * physics.K_ICE)
    gain = 1.0 + conductance * layer
    low = -_PB / np.log(pch / _PA) - _K
    t = np.where(sublimes, np.minimum(np.maximum(guess, low), tsh), tsh)
    done = ~sublimes
    for _ in range(NEWTON_STEPS):
        p = _PA * np.exp(-_PB / (t + _K))
        residual = per_torr * (p - pch) * gain - conductance * (tsh - t)
        slope = per_torr * p * _PB / (t + _K) ** 2 * gain + conductance
        new = np.minimum(np.maximum(t - residual / slope, low), tsh)
        converged = np.abs(new - t) < NEWTON_TOL_C
        t = np.where(done, t, new)
        done = done | converged
        if done.all():
            break
    q = np.where(sublimes, per_torr * (_PA * np.exp(-_PB / (t + _K)) - pch), 0.0)
    return t, t + q * layer, q / _PER_TORR


def dense_coefficients(h: float, ks: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Coefficients c1..c4 of L(t + θh) − L = c1·θ + c2·θ² + c3·θ³ + c4·θ⁴ for one step."""
    c = [h * sum(P[i][j] * ks[i] for i in range(7)) for j in range(4)]
    return c[0], c[1], c[2], c[3]


def dense_weights_many(theta: FloatArray) -> FloatArray:
    """``dense_weights`` for an array of θ: shape (7, *theta.shape)."""
    powers = np.stack([theta, theta**2, theta**3, theta**4])
    return np.tensordot(np.array(P), powers, axes=1)


def dense_slopes_many(theta: FloatArray) -> FloatArray:
    """``dense_slopes`` for an array of θ: shape (7, *theta.shape)."""
    powers = np.stack([np.ones_like(theta), 2.0 * theta, 3.0 * theta**2, 4.0 * theta**3])
    return np.tensordot(np.array(P), powers, axes=1)


@dataclass(frozen=True)
class Raw:
    """What an integrator hands back for one vial: samples at every accepted step and at the
    end of drying, plus the refined maxima between samples.

    Attributes:
        t_h, length_cm, t_sub, t_bot, rate_g_h, t_shelf, p_chamber: samples (h, cm, °C, °C,
            g/h per vial, °C, Torr).
        drying_time_h: time when the dried layer reaches the fill height (inf if never).
        max_t_bot: maximum vial-bottom temperature over the run, °C.
        max_rate_g_h: maximum sublimation rate over the run, g/h per vial.
        step_t, step_h: start and length of every accepted step (one fewer than samples), h.
        step_poly: (steps, 5) thickness at the step start and c1..c4 of its interpolant
            L(t + θh) = L + c1·θ + c2·θ² + c3·θ³ + c4·θ⁴, cm.
    """

    t_h: FloatArray
    length_cm: FloatArray
    t_sub: FloatArray
    t_bot: FloatArray
    rate_g_h: FloatArray
    t_shelf: FloatArray
    p_chamber: FloatArray
    drying_time_h: float
    max_t_bot: float
    max_rate_g_h: float
    step_t: FloatArray
    step_h: FloatArray
    step_poly: FloatArray
