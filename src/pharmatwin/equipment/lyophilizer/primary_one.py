"""Primary drying of one vial, integrated with scalar ``math`` (no numpy in the loop).

dL/dt = rate(Tsh(t), Pch(t), L)·(dL/dm) is advanced by an adaptive Dormand–Prince 5(4) step
that lands exactly on every knot of the shelf and pressure programmes. The end of drying
(L = L0) is found inside the last step from the method's continuous extension; the maxima of
the product temperature and of the sublimation rate are refined between samples by a
golden-section search on the same interpolant.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable

import numpy as np

from pharmatwin.core import dopri5
from pharmatwin.core.integrate import IntegrationError
from pharmatwin.equipment.lyophilizer import primary_rk as rk
from pharmatwin.equipment.lyophilizer.primary_rk import Case, Raw, front_one
from pharmatwin.equipment.lyophilizer.profiles import Profile

Stage = tuple[float, float, float, float, float, float]  # dL/dt, Tsub, Tbot, rate, Tsh, Pch
Interval = tuple[float, float, float, tuple[float, ...]]  # t, h, L, stage slopes


class _Programme:
    """A profile as Python lists for fast scalar look-ups."""

    def __init__(self, profile: Profile) -> None:
        self.t = [float(x) for x in profile.t_h]
        self.v = [float(x) for x in profile.value]
        self.s = [float(x) for x in profile.slopes_per_h()]

    def segment(self, t: float) -> tuple[float, float, float]:
        """(start time, start value, slope) of the segment holding ``t``."""
        j = max(bisect_right(self.t, t) - 1, 0)
        return self.t[j], self.v[j], self.s[j]

    def at(self, t: float) -> float:
        t0, v0, s0 = self.segment(t)
        return v0 + s0 * (t - t0)


Segments = tuple[tuple[float, float, float], tuple[float, float, float]]  # shelf, pressure


def _stage(case: Case, seg: Segments, t: float, length: float, guess: float) -> Stage:
    sh, pr = seg
    tsh = sh[1] + sh[2] * (t - sh[0])
    pch = pr[1] + pr[2] * (t - pr[0])
    kv = case.kc + case.kp * pch / (1.0 + case.kd * pch)
    rp = case.r0 + case.a1 * length / (1.0 + case.a2 * length)
    t_sub, t_bot, rate = front_one(
        tsh, pch, kv, rp, max(case.l0 - length, 0.0), case=case, guess=guess
    )
    return rate * case.growth, t_sub, t_bot, rate, tsh, pch


def _polynomial(interval: Interval) -> tuple[float, float, float, float, float]:
    """(L at the step start, c1..c4) of the step's continuous extension in θ."""
    _, h, length, ks = interval
    return (length, *rk.dense_coefficients(h, ks))


def _dense(poly: tuple[float, float, float, float, float], theta: float) -> float:
    l0, c1, c2, c3, c4 = poly
    return l0 + theta * (c1 + theta * (c2 + theta * (c3 + theta * c4)))


def _locate_end(interval: Interval, l_new: float, l0: float) -> float:
    """θ in (0, 1] where the interpolated thickness reaches ``l0`` (Newton from the chord)."""
    poly = _polynomial(interval)
    length, c1, c2, c3, c4 = poly
    theta = min(max((l0 - length) / (l_new - length), 0.0), 1.0)
    for _ in range(12):
        value = _dense(poly, theta) - l0
        slope = c1 + theta * (2.0 * c2 + theta * (3.0 * c3 + theta * 4.0 * c4))
        if slope <= 0:
            break
        new = min(max(theta - value / slope, 0.0), 1.0)
        done = abs(new - theta) < 1e-15
        theta = new
        if done:
            break
    return theta


def integrate_one(case: Case, shelf: Profile, pressure: Profile, max_h: float) -> Raw:
    """Integrate one vial from L = 0 until L = L0 or ``max_h`` hours."""
    sh_prog, pr_prog = _Programme(shelf), _Programme(pressure)
    stops = sorted({x for x in (*sh_prog.t, *pr_prog.t) if 0.0 < x < max_h} | {max_h})
    t, length, h = 0.0, 0.0, rk.FIRST_STEP_H
    first = _stage(
        case, (sh_prog.segment(0.0), pr_prog.segment(0.0)), 0.0, 0.0, float(shelf.value[0])
    )
    samples: list[Stage] = [first]
    times, lengths = [0.0], [0.0]
    intervals: list[Interval] = []
    k1, guess = first[0], first[1]
    drying_time = math.inf
    stop_i = 0
    while True:
        stop = stops[stop_i]
        seg = (sh_prog.segment(t), pr_prog.segment(t))
        last = t + h >= stop - 1e-12 * max(1.0, stop)
        if last:
            h = stop - t
        t_new = stop if last else t + h
        ks = [k1]
        out = samples[-1]
        l_stage = length
        for i in range(1, 7):
            l_stage = length + h * sum(a * k for a, k in zip(dopri5.A[i], ks, strict=False))
            tau = t_new if dopri5.C[i] == 1.0 else t + dopri5.C[i] * h
            out = _stage(case, seg, tau, l_stage, guess)
            ks.append(out[0])
            guess = out[1]
        error = abs(h * sum(e * k for e, k in zip(dopri5.E, ks, strict=True)))
        norm = error / (rk.ATOL_CM + rk.RTOL * max(abs(length), abs(l_stage)))
        if not norm <= 1.0:
            h *= max(rk.SHRINK, rk.SAFETY * norm**-0.2) if math.isfinite(norm) else rk.SHRINK
            if not h > rk.MIN_STEP_H:
                raise IntegrationError(f"primary drying: step size collapsed at t = {t:.6g} h")
            continue
        interval: Interval = (t, h, length, tuple(ks))
        intervals.append(interval)
        if l_stage >= case.l0:
            theta = _locate_end(interval, l_stage, case.l0)
            drying_time = t + theta * h
            out = _stage(case, seg, drying_time, case.l0, guess)
            t_new, l_stage = drying_time, case.l0
        times.append(t_new)
        lengths.append(l_stage)
        samples.append(out)
        if l_stage >= case.l0:
            break
        t, length, k1 = t_new, l_stage, ks[6]
        if last:
            stop_i += 1
            if t >= max_h:
                break
        h *= rk.GROW if norm == 0 else min(rk.GROW, rk.SAFETY * norm**-0.2)
    refine = _Refiner(case, (sh_prog, pr_prog), times=times, intervals=intervals, samples=samples)
    cols = list(zip(*samples, strict=True))
    step_t = np.array([iv[0] for iv in intervals])
    step_h = np.array([iv[1] for iv in intervals])
    slopes = np.array([iv[3] for iv in intervals]).reshape(-1, 7)
    poly = np.column_stack(
        [[iv[2] for iv in intervals], step_h[:, None] * (slopes @ np.array(dopri5.P))]
    )
    return Raw(
        t_h=np.array(times),
        length_cm=np.array(lengths),
        t_sub=np.array(cols[1]),
        t_bot=np.array(cols[2]),
        rate_g_h=np.array(cols[3]),
        t_shelf=np.array(cols[4]),
        p_chamber=np.array(cols[5]),
        drying_time_h=drying_time,
        max_t_bot=refine.maximum(2),
        max_rate_g_h=refine.maximum(3),
        step_t=step_t,
        step_h=step_h,
        step_poly=poly.reshape(-1, 5),
    )


class _Refiner:
    """Golden-section search for the maximum of a stage quantity around its largest sample."""

    def __init__(
        self,
        case: Case,
        programmes: tuple[_Programme, _Programme],
        *,
        times: list[float],
        intervals: list[Interval],
        samples: list[Stage],
    ) -> None:
        self.case = case
        self.shelf, self.pressure = programmes
        self.times, self.intervals, self.samples = times, intervals, samples

    def maximum(self, column: int) -> float:
        values = [s[column] for s in self.samples]
        best = max(range(len(values)), key=values.__getitem__)
        if not self.intervals:
            return values[best]
        lo, hi = max(best - 1, 0), min(best + 1, len(values) - 1)
        guess = self.samples[best][1]
        value = self._function(column, lo, hi, guess)
        a, b = self.times[lo], self.times[hi]
        c, d = b - rk.GOLDEN * (b - a), a + rk.GOLDEN * (b - a)
        fc, fd = value(c), value(d)
        for _ in range(rk.GOLDEN_STEPS):
            if fc > fd:
                b, d, fd = d, c, fc
                c = b - rk.GOLDEN * (b - a)
                fc = value(c)
            else:
                a, c, fc = c, d, fd
                d = a + rk.GOLDEN * (b - a)
                fd = value(d)
        return max(values[best], fc, fd)

    def _function(self, column: int, lo: int, hi: int, guess: float) -> Callable[[float], float]:
        split = self.times[lo + 1] if hi - lo == 2 else math.inf
        first, second = self.intervals[lo], self.intervals[min(lo + 1, len(self.intervals) - 1)]
        polys = (_polynomial(first), _polynomial(second))

        def value(tau: float) -> float:
            which = 0 if tau <= split else 1
            t0, h = (first, second)[which][:2]
            theta = (tau - t0) / h if h > 0 else 0.0
            length = min(_dense(polys[which], theta), self.case.l0)
            seg = (self.shelf.segment(tau), self.pressure.segment(tau))
            return _stage(self.case, seg, tau, length, guess)[column]

        return value
