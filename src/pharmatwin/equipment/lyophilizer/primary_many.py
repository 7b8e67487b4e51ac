"""Primary drying of many vials (grid points, ensemble members) in one vectorized integration.

The same Dormand–Prince 5(4) scheme as ``primary_one``, with one clock and one step size per
member: every member lands on its own programme knots, accepts or rejects its own steps and
stops at its own end of drying, while each stage is a handful of numpy operations over all
members. A member's result therefore does not depend on which other members share the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pharmatwin.core import dopri5
from pharmatwin.core.integrate import IntegrationError
from pharmatwin.core.types import BoolArray, FloatArray, IndexArray
from pharmatwin.equipment.lyophilizer import primary_rk as rk
from pharmatwin.equipment.lyophilizer.primary_rk import Case, Raw, front_many
from pharmatwin.equipment.lyophilizer.profiles import Profile

_P = np.array(dopri5.P)


@dataclass(frozen=True)
class Packed:
    """Profiles of all members as padded arrays ``(members, knots + 1)``; padding knots are
    at +inf so that a segment index never reaches them."""

    t: FloatArray
    v: FloatArray
    s: FloatArray

    @classmethod
    def of(cls, profiles: Sequence[Profile]) -> Packed:
        width = max(p.t_h.size for p in profiles) + 1
        t = np.full((len(profiles), width), np.inf)
        v = np.empty((len(profiles), width))
        s = np.zeros((len(profiles), width))
        for m, p in enumerate(profiles):
            n = p.t_h.size
            t[m, :n], v[m, :n], v[m, n:], s[m, :n] = p.t_h, p.value, p.value[-1], p.slopes_per_h()
        return cls(t, v, s)

    def segment(self, t: FloatArray) -> tuple[IndexArray, FloatArray]:
        """Segment index of each member at its time ``t`` and the next knot after it."""
        j = np.count_nonzero(self.t <= t[:, None], axis=1) - 1
        j = np.maximum(j, 0)
        rows = np.arange(t.size)
        return j, self.t[rows, j + 1]

    def value(self, j: IndexArray, t: FloatArray) -> FloatArray:
        rows = np.arange(t.size)
        return np.asarray(self.v[rows, j] + self.s[rows, j] * (t - self.t[rows, j]))


@dataclass
class _Stage:
    slope: FloatArray
    t_sub: FloatArray
    t_bot: FloatArray
    rate: FloatArray
    t_shelf: FloatArray
    p_chamber: FloatArray


@dataclass(frozen=True)
class _Setup:
    case: Case
    shelf: Packed
    pressure: Packed

    def segments(self, t: FloatArray) -> tuple[tuple[IndexArray, IndexArray], FloatArray]:
        """Each member's shelf and pressure segment indices at ``t`` and its next knot."""
        js, next_s = self.shelf.segment(t)
        jp, next_p = self.pressure.segment(t)
        return (js, jp), np.minimum(next_s, next_p)


def _stage(
    setup: _Setup,
    seg: tuple[IndexArray, IndexArray],
    t: FloatArray,
    length: FloatArray,
    guess: FloatArray,
) -> _Stage:
    case = setup.case
    tsh, pch = setup.shelf.value(seg[0], t), setup.pressure.value(seg[1], t)
    kv = case.kc + case.kp * pch / (1.0 + case.kd * pch)
    rp = case.r0 + case.a1 * length / (1.0 + case.a2 * length)
    frozen = np.maximum(case.l0 - length, 0.0)
    t_sub, t_bot, rate = front_many(tsh, pch, kv, rp, frozen, case=case, guess=guess)
    return _Stage(rate * case.growth, t_sub, t_bot, rate, tsh, pch)


def _merge(into: _Stage, other: _Stage, where: BoolArray) -> _Stage:
    return _Stage(
        *(
            np.where(where, b, a)
            for a, b in zip(vars(into).values(), vars(other).values(), strict=True)
        )
    )


def _locate_end(poly: FloatArray, l_new: FloatArray, l0: float) -> FloatArray:
    """θ per member where the step's interpolant ``poly`` (5, M) reaches ``l0``."""
    length = poly[0]
    rise = np.where(l_new > length, l_new - length, 1.0)
    theta = np.clip((l0 - length) / rise, 0.0, 1.0)
    done = np.zeros(theta.shape, dtype=bool)
    for _ in range(12):
        value = length + theta * (poly[1] + theta * (poly[2] + theta * (poly[3] + theta * poly[4])))
        slope = poly[1] + theta * (2 * poly[2] + theta * (3 * poly[3] + theta * 4 * poly[4]))
        ok = slope > 0
        new = np.clip(theta - (value - l0) / np.where(ok, slope, 1.0), 0.0, 1.0)
        step_done = (np.abs(new - theta) < 1e-15) | ~ok
        theta = np.where(done | ~ok, theta, new)
        done |= step_done
        if done.all():
            break
    return np.asarray(theta, dtype=float)


def polynomial(h: FloatArray, length: FloatArray, ks: FloatArray) -> FloatArray:
    """(L, c1..c4) of each member's step interpolant: shape (5, M) from ks (7, M)."""
    return np.asarray(np.concatenate([length[None, :], h[None, :] * (_P.T @ ks)]), dtype=float)


class _Recorder:
    """Samples of every member row by row (one row per loop pass) with the accepted mask."""

    def __init__(self, first: _Stage, t: FloatArray, length: FloatArray) -> None:
        self.rows: list[FloatArray] = [self._row(first, t, length)]
        self.masks: list[BoolArray] = [np.ones(t.size, dtype=bool)]
        self.steps: list[FloatArray] = []

    @staticmethod
    def _row(s: _Stage, t: FloatArray, length: FloatArray) -> FloatArray:
        return np.stack([t, length, s.t_sub, s.t_bot, s.rate, s.t_shelf, s.p_chamber])

    def add(
        self, s: _Stage, t: FloatArray, length: FloatArray, mask: BoolArray, step: FloatArray
    ) -> None:
        """One row of samples; ``step`` is (t, h, L, c1..c4) of the step that led to it."""
        self.rows.append(self._row(s, t, length))
        self.masks.append(mask)
        self.steps.append(step)


def integrate_many(
    case: Case, shelves: Sequence[Profile], pressures: Sequence[Profile], max_h: float
) -> list[Raw]:
    """Integrate every member from L = 0 until L = L0 or ``max_h`` hours."""
    setup = _Setup(case, Packed.of(shelves), Packed.of(pressures))
    members = len(shelves)
    t, length = np.zeros(members), np.zeros(members)
    h = np.full(members, rk.FIRST_STEP_H)
    seg, _ = setup.segments(t)
    current = _stage(setup, seg, t, length, setup.shelf.v[:, 0])
    record = _Recorder(current, t, length)
    k1, guess = current.slope, current.t_sub
    drying = np.full(members, np.inf)
    active = np.ones(members, dtype=bool)
    while active.any():
        seg, next_knot = setup.segments(t)
        stop = np.minimum(next_knot, max_h)
        last = t + h >= stop - 1e-12 * np.maximum(1.0, stop)
        h = np.where(last, stop - t, h)
        hh = np.where(active, h, 0.0)
        t_new = np.where(last, stop, t + hh)
        ks = [k1]
        l_stage = length
        for i in range(1, 7):
            l_stage = length + hh * sum(a * k for a, k in zip(dopri5.A[i], ks, strict=False) if a)
            tau = t_new if dopri5.C[i] == 1.0 else t + dopri5.C[i] * hh
            current = _stage(setup, seg, tau, l_stage, guess)
            ks.append(current.slope)
            guess = current.t_sub
        error = np.abs(hh * sum(e * k for e, k in zip(dopri5.E, ks, strict=True) if e))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            norm = error / (rk.ATOL_CM + rk.RTOL * np.maximum(np.abs(length), np.abs(l_stage)))
            factor = rk.SAFETY * norm**-0.2
        ok = active & (norm <= 1.0)
        bad = active & ~(norm <= 1.0)
        if bad.any():
            shrink = np.where(np.isfinite(factor), np.maximum(rk.SHRINK, factor), rk.SHRINK)
            h = np.where(bad, h * shrink, h)
            collapsed = bad & ~(h > rk.MIN_STEP_H)
            if collapsed.any():
                at = float(t[collapsed][0])
                raise IntegrationError(f"primary drying: step size collapsed at t = {at:.6g} h")
        if not ok.any():
            continue
        poly = polynomial(hh, length, np.stack(ks))
        dried = ok & (l_stage >= case.l0)
        if dried.any():
            t_new = np.where(dried, t + _locate_end(poly, l_stage, case.l0) * hh, t_new)
            l_stage = np.where(dried, case.l0, l_stage)
            end = _stage(setup, seg, t_new, l_stage, guess)
            current = _merge(current, end, dried)
            drying = np.where(dried, t_new, drying)
        record.add(current, t_new, l_stage, ok, np.concatenate([t[None], hh[None], poly]))
        t = np.where(ok, t_new, t)
        length = np.where(ok, l_stage, length)
        k1 = np.where(ok, ks[6], k1)
        h = np.where(ok, h * np.where(norm == 0, rk.GROW, np.minimum(rk.GROW, factor)), h)
        active &= ~(dried | (ok & (t >= max_h)))
    return _finish(record, drying, setup)


def _compact(rows: list[FloatArray], masks: list[BoolArray]) -> tuple[FloatArray, IndexArray]:
    """Stack rows (n, q, M) keeping each member's accepted rows first, in order; and counts."""
    stacked = np.stack(rows)
    mask = np.stack(masks)
    order = np.argsort(~mask, axis=0, kind="stable")
    return np.take_along_axis(stacked, order[:, None, :], axis=0), mask.sum(axis=0)


def _finish(record: _Recorder, drying: FloatArray, setup: _Setup) -> list[Raw]:
    samples, counts = _compact(record.rows, record.masks)
    steps, _ = _compact(record.steps, record.masks[1:])
    maxima = _refine(samples, counts, steps, setup)
    members = counts.size
    out = []
    for m in range(members):
        n = int(counts[m])
        cols = samples[:n, :, m].T
        out.append(
            Raw(
                t_h=cols[0],
                length_cm=cols[1],
                t_sub=cols[2],
                t_bot=cols[3],
                rate_g_h=cols[4],
                t_shelf=cols[5],
                p_chamber=cols[6],
                drying_time_h=float(drying[m]),
                max_t_bot=float(maxima[m]),
                max_rate_g_h=float(maxima[members + m]),
                step_t=steps[: n - 1, 0, m],
                step_h=steps[: n - 1, 1, m],
                step_poly=steps[: n - 1, 2:, m],
            )
        )
    return out


def _refine(
    samples: FloatArray,
    counts: IndexArray,
    steps: FloatArray,
    setup: _Setup,
) -> FloatArray:
    """Golden-section maxima of Tbot (lanes 0..M-1) and of the rate (lanes M..2M-1) around
    each member's largest sample, on the step interpolants (as ``primary_one`` does)."""
    members = counts.size
    lanes = np.concatenate([np.arange(members), np.arange(members)])
    column = np.repeat([3, 4], members)
    n = counts[lanes]
    rows = np.arange(samples.shape[0])[:, None]
    values = np.where(rows < n, samples[:, column, lanes], -np.inf)
    best = np.argmax(values, axis=0)
    top = values[best, np.arange(lanes.size)]
    lo, hi = np.maximum(best - 1, 0), np.minimum(best + 1, n - 1)
    times = samples[:, 0, lanes]
    a, b = times[lo, np.arange(lanes.size)], times[hi, np.arange(lanes.size)]
    split = np.where(
        hi - lo == 2, times[np.minimum(lo + 1, times.shape[0] - 1), np.arange(lanes.size)], np.inf
    )
    if steps.shape[0] == 0:
        return np.asarray(top, dtype=float)
    first = steps[np.minimum(lo, steps.shape[0] - 1), :, lanes]
    second = steps[np.minimum(np.minimum(lo + 1, n - 2), steps.shape[0] - 1), :, lanes]
    guess = samples[best, 2, lanes]
    shelf, pressure, case = setup.shelf, setup.pressure, setup.case
    sh = Packed(shelf.t[lanes], shelf.v[lanes], shelf.s[lanes])
    pr = Packed(pressure.t[lanes], pressure.v[lanes], pressure.s[lanes])
    lane_setup = _Setup(case, sh, pr)
    is_tbot = column == 3

    def value(tau: FloatArray) -> FloatArray:
        use = np.where((tau > split)[:, None], second, first)
        theta = np.where(
            use[:, 1] > 0, (tau - use[:, 0]) / np.where(use[:, 1] > 0, use[:, 1], 1.0), 0.0
        )
        p = use[:, 2:]
        length = p[:, 0] + theta * (
            p[:, 1] + theta * (p[:, 2] + theta * (p[:, 3] + theta * p[:, 4]))
        )
        seg, _ = lane_setup.segments(tau)
        s = _stage(lane_setup, seg, tau, np.minimum(length, case.l0), guess)
        return np.where(is_tbot, s.t_bot, s.rate)

    c, d = b - rk.GOLDEN * (b - a), a + rk.GOLDEN * (b - a)
    fc, fd = value(c), value(d)
    for _ in range(rk.GOLDEN_STEPS):
        left = fc > fd
        a, b = np.where(left, a, c), np.where(left, d, b)
        c, d = (
            np.where(left, b - rk.GOLDEN * (b - a), d),
            np.where(left, c, a + rk.GOLDEN * (b - a)),
        )
        fx = value(np.where(left, c, d))
        fc, fd = np.where(left, fx, fd), np.where(left, fc, fx)
    return np.asarray(np.maximum(top, np.maximum(fc, fd)), dtype=float)
