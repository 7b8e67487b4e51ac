"""Marching a greedy control policy through primary drying, with a look-ahead over ramp limits.

Units: h, °C, Torr, cm, g/h per vial. The march integrates dL/dt = ṁ·(dL/dm) with Heun's
method (trapezoid rule with an Euler predictor), choosing the control at every knot from the
dried length reached there. Steps dry about 1/160 of the fill each, are capped at 0.25 h and at
2 °C of shelf change at the last step's pace, and stop at the breakpoints of fixed programmes,
so the piecewise-linear profiles built from the knots follow the constraint boundary to about
1e-3 °C. A shelf ramp-down limit can leave the shelf above the constraint ceiling when the
ceiling falls faster than the shelf may; ``Envelope`` turns a pass's ceilings into the bound
E(t) = min over s ≥ t of ceiling(s) + r·(s − t) from which the shelf can always follow, and the
caller marches again under it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer.optimize_policy import Choice

STEPS_PER_FILL = 160
DT_MAX_H = 0.25
RAMP_STEP_C = 2.0
DT_MIN_H = 1e-6
CHORD_TOL_C = 1e-3
"""Target gap between the piecewise-linear shelf programme and the shelf path it samples, °C."""
REJECT = 4.0
MAX_REJECTS = 6
PRESSURE_WEIGHT = 50.0
"""°C per Torr: a typical (high) sensitivity of the product temperature to the chamber
pressure (15 to 50 °C/Torr on the reference case), to weigh pressure in the chord control."""
FIRST_STEP_SHARE = 0.125
"""The first step, and the first after a breakpoint, is this share of a normal one."""
MAX_REFINE = 16.0

Plan = Callable[[float, float, float, float], Choice]
"""(t_h, dried length cm, shelf °C at the previous knot, h since that knot) -> Choice."""


class InfeasibleCycleError(ValueError):
    """No admissible cycle exists for these inputs; the message names the field and why."""


@dataclass(frozen=True)
class Programme:
    """A piecewise-linear programme evaluated with scalar arithmetic (knots ``t_h``, held
    before the first and after the last)."""

    t_h: tuple[float, ...]
    value: tuple[float, ...]

    def at(self, t: float) -> float:
        k = bisect_right(self.t_h, t)
        if k == 0:
            return self.value[0]
        if k == len(self.t_h):
            return self.value[-1]
        t0, t1 = self.t_h[k - 1], self.t_h[k]
        v0, v1 = self.value[k - 1], self.value[k]
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)

    def max_slope_per_min(self) -> float:
        """Largest |rate of change| between knots, per minute."""
        slopes = [
            abs(v1 - v0) / ((t1 - t0) * 60.0)
            for t0, t1, v0, v1 in zip(
                self.t_h, self.t_h[1:], self.value, self.value[1:], strict=False
            )
        ]
        return max(slopes, default=0.0)


@dataclass(frozen=True)
class Pass:
    """One march: the knots and, at each, the choice made (arrays of equal length)."""

    t_h: FloatArray
    length_cm: FloatArray
    shelf_c: FloatArray
    pressure_torr: FloatArray
    rate_g_h: FloatArray
    ceiling_c: FloatArray
    excess_c: FloatArray


def march(
    plan: Plan,
    l0: float,
    growth: float,
    initial_shelf_c: float,
    *,
    ramp_per_min: float | None,
    breakpoints: Sequence[float] = (),
    max_h: float = 200.0,
) -> Pass:
    """Integrate from L = 0 to L = ``l0`` under ``plan``; raise ``InfeasibleCycleError`` when
    the product is not dry by ``max_h``."""
    dl = l0 / STEPS_PER_FILL
    stops = sorted(b for b in breakpoints if b > 0.0)
    t, length = 0.0, 0.0
    now = plan(0.0, 0.0, initial_shelf_c, 0.0)
    rows: list[tuple[float, float, Choice]] = [(t, length, now)]
    pace = 60.0 * ramp_per_min if ramp_per_min else 0.0  # |dTsh/dt| of the last step, °C/h
    slope: tuple[float, float] | None = None  # d(Tsh, W·Pch)/dt of the last step (None:
    # unknown, or across a stop)
    last_dt, cap = 0.0, math.inf  # cap: the largest step the chord control allows next, h
    while length < l0:
        if t > max_h:
            raise InfeasibleCycleError(
                f"cycle: the product is not dry after {max_h:g} h "
                f"({length / l0:.0%} dried); widen the shelf or pressure bounds"
            )
        rate = now.rate_g_h
        nominal = min(dl / (growth * rate) if rate > 0.0 else DT_MAX_H, DT_MAX_H)
        if pace > 0.0:
            nominal = min(nominal, RAMP_STEP_C / pace)
        floor = nominal / MAX_REFINE  # the chord control shrinks a step this far, no further
        dt = max(min(nominal, cap if slope is not None else nominal * FIRST_STEP_SHARE), floor)
        k = bisect_right(stops, t + 1e-12)
        at_stop = k < len(stops) and stops[k] - t <= dt
        if at_stop:
            dt = stops[k] - t
        dt = max(dt, DT_MIN_H)
        for _ in range(MAX_REJECTS):
            t1, l1, then = _heun(plan, (t, length, now), dt, growth, l0)
            new_slope = (
                (then.shelf_c - now.shelf_c) / (t1 - t),
                PRESSURE_WEIGHT * (then.pressure_torr - now.pressure_torr) / (t1 - t),
            )
            error = 0.0 if slope is None else _chord_error(slope, new_slope, t1 - t, last_dt)
            if error <= REJECT * CHORD_TOL_C or dt <= floor or l1 >= l0:
                break
            dt = max(dt * max(0.2, 0.9 * math.sqrt(CHORD_TOL_C / error)), floor)
            at_stop = False
        last_dt, pace = t1 - t, abs(new_slope[0])
        factor = min(2.0, 0.9 * math.sqrt(CHORD_TOL_C / error)) if error > 0.0 else 2.0
        cap = last_dt * factor
        slope = None if at_stop else new_slope
        t, length, now = t1, l1, then
        rows.append((t, length, now))
    return Pass(
        t_h=np.array([r[0] for r in rows]),
        length_cm=np.array([r[1] for r in rows]),
        shelf_c=np.array([r[2].shelf_c for r in rows]),
        pressure_torr=np.array([r[2].pressure_torr for r in rows]),
        rate_g_h=np.array([r[2].rate_g_h for r in rows]),
        ceiling_c=np.array([r[2].ceiling_c for r in rows]),
        excess_c=np.array([r[2].excess_c for r in rows]),
    )


def _heun(
    plan: Plan, start: tuple[float, float, Choice], dt: float, growth: float, l0: float
) -> tuple[float, float, Choice]:
    """One step from (t, L, choice): Euler predictor, trapezoid corrector, the choice at the
    new knot; the last step is shortened to end exactly at L = ``l0``."""
    t, length, now = start
    rate = now.rate_g_h
    guess = plan(t + dt, min(length + dt * growth * rate, l0), now.shelf_c, dt)
    gained = dt * growth * 0.5 * (rate + guess.rate_g_h)
    if length + gained >= l0:
        dt = _time_to_finish(l0 - length, growth, rate, guess.rate_g_h, dt)
        return t + dt, l0, plan(t + dt, l0, now.shelf_c, dt)
    return t + dt, length + gained, plan(t + dt, length + gained, now.shelf_c, dt)


def _chord_error(
    slope: tuple[float, float], new_slope: tuple[float, float], dt: float, last_dt: float
) -> float:
    """Estimated gap, °C, between the straight segments just taken and the curved paths of
    the shelf temperature and the (weighted) chamber pressure: |x''|·dt²/8, with x'' from the
    change of slope over the last two steps."""
    change = max(abs(new_slope[0] - slope[0]), abs(new_slope[1] - slope[1]))
    return change * dt * dt / (4.0 * (dt + last_dt))


def _time_to_finish(remaining: float, growth: float, m0: float, m1: float, dt: float) -> float:
    """Time s ≤ dt at which the rate, linear from m0 to m1 over dt, dries ``remaining`` cm."""
    a = 0.5 * growth * (m1 - m0) / dt
    b = growth * m0
    if abs(a) * dt < 1e-12 * max(b, 1e-300):
        return min(remaining / b, dt)
    disc = max(b * b + 4.0 * a * remaining, 0.0)
    return min(2.0 * remaining / (b + math.sqrt(disc)), dt)


@dataclass(frozen=True)
class Envelope:
    """The highest shelf temperature at time t from which a ramp-down at ``r`` °C/min can
    still follow the ceilings of a pass (linear between knots, held after the last)."""

    t_h: tuple[float, ...]
    value: tuple[float, ...]

    @classmethod
    def none(cls) -> Envelope:
        return cls((0.0,), (math.inf,))

    @classmethod
    def from_pass(
        cls, done: Pass, ramp_per_min: float, shelf_max: float, previous: Envelope
    ) -> Envelope:
        ceiling = np.minimum(done.ceiling_c, shelf_max)
        bound = ceiling.copy()
        for k in range(len(bound) - 2, -1, -1):
            dt = done.t_h[k + 1] - done.t_h[k]
            bound[k] = min(bound[k], bound[k + 1] + 60.0 * ramp_per_min * dt)
        merged = [
            min(float(b), previous.at(float(t))) for t, b in zip(done.t_h, bound, strict=True)
        ]
        return cls(tuple(float(t) for t in done.t_h), tuple(merged))

    def at(self, t: float) -> float:
        return Programme(self.t_h, self.value).at(t) if len(self.t_h) > 1 else self.value[0]
