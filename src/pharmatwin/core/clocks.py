"""Ensemble integration with one clock per member: vectorized, but each member steps alone.

In an ensemble of cell cultures, some member is nearly always passing through a sharp event of
its own (a substrate running out under Monod kinetics), so a step size shared by all members is
almost always small. Here every member keeps its own time and step size; one iteration advances
every member that is still running by its own step (Dormand-Prince 5(4), as in ``integrate``),
and the arrays are compacted to the running members, so the work follows the sum of the
members' needs instead of the worst member at each moment. Members stop at every shared
breakpoint of the schedule, where the recipe's events are applied to them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pharmatwin.core.dopri5 import A as _A
from pharmatwin.core.dopri5 import C as _C
from pharmatwin.core.dopri5 import E as _E
from pharmatwin.core.dopri5 import P as _P
from pharmatwin.core.integrate import Stats, Tolerances, check_step
from pharmatwin.core.model import Model
from pharmatwin.core.schedule import Event, Schedule, apply_event
from pharmatwin.core.types import BoolArray, FloatArray, IndexArray

_SAFETY, _MIN_FACTOR, _MAX_FACTOR, _BETA = 0.9, 0.2, 5.0, 0.04
_P_MATRIX = np.array(_P)  # (7 stages, 4 powers of theta)
_A_ROWS = [np.array(row + (0.0,) * (7 - len(row))) for row in _A]  # padded rows of the tableau
_E_ROW = np.array(_E)


class _Clocks:
    """Per-member integration state; arrays are indexed by member."""

    def __init__(
        self,
        model: Model,
        schedule: Schedule,
        x0: FloatArray,
        p: FloatArray,
        *,
        tol: Tolerances,
        stops: FloatArray,
    ) -> None:
        self.model, self.schedule, self.tol = model, schedule, tol
        self.p_rows = np.ascontiguousarray(p.T)  # (n_parameters, members): gathers stay contiguous
        self.lower = model.state_bounds()[0]
        self.stops = stops
        members = x0.shape[0]
        self.segment_of = np.array([schedule.segment(float(s)) for s in self.stops[:-1]])
        self.events: dict[float, list[Event]] = {}
        for e in schedule.events:
            if stops[0] <= e.time_h <= stops[-1]:
                self.events.setdefault(float(e.time_h), []).append(e)
        self.x = x0.copy()
        self.t = np.full(members, stops[0])
        self.h = np.full(members, np.nan)
        self.next_stop = np.ones(members, dtype=int)
        self.last_norm = np.full(members, 1e-4)
        self.was_rejected = np.zeros(members, dtype=bool)
        self.k1 = np.empty_like(x0)
        self.stats = Stats()

    def derivative(self, idx: IndexArray) -> Callable[[FloatArray, FloatArray], FloatArray]:
        """``dx/dt`` of members ``idx`` at their own times, with their parameters and recipe
        segment gathered once (the members must not cross a stop while it is used)."""
        seg = self.segment_of[self.next_stop[idx] - 1]
        s = self.schedule
        offset, slope, knot = s.offset[seg], s.slope[seg], s.knots[seg]
        p = self.p_rows[:, idx].T  # column-contiguous: each parameter is one contiguous row

        def f(t: FloatArray, x: FloatArray) -> FloatArray:
            self.stats.rhs_calls += 1
            return self.model.rhs(t, x, offset + slope * (t - knot)[:, None], p)

        return f

    def apply_events(self, idx: IndexArray, time: float) -> None:
        for event in self.events.get(time, []):
            self.x[idx] = apply_event(self.model, self.x[idx], event)


class _Outputs:
    """The requested output times and, per member, the next one still to fill."""

    def __init__(self, t_out: FloatArray, x0: FloatArray) -> None:
        self.t = t_out
        self.values = np.empty((len(t_out), *x0.shape))  # every entry is written exactly once
        self.next = np.zeros(x0.shape[0], dtype=np.intp)

    def record_at_stop(self, idx: IndexArray, time: float | FloatArray, x: FloatArray) -> None:
        """Outputs at ``time`` (one per member, or shared; and any before it still open) take
        the values ``x``."""
        time = np.broadcast_to(time, idx.shape)
        while True:
            pending = self.next[idx] < len(self.t)
            due = np.zeros(idx.size, dtype=bool)
            due[pending] = self.t[self.next[idx][pending]] <= time[pending] + 1e-12
            if not due.any():
                return
            self.values[self.next[idx[due]], idx[due]] = x[due]
            self.next[idx[due]] += 1

    def fill_steps(
        self,
        idx: IndexArray,
        step: tuple[FloatArray, FloatArray, FloatArray],
        poly: FloatArray,
        t_new: FloatArray,
        at_stop: BoolArray,
    ) -> None:
        """Every output inside the accepted steps ``step = (t, h, x)``, at once, from the
        continuous extension's coefficients ``poly`` (``(members, 4, n)``). Outputs at a stop
        itself wait for its events (right-continuous)."""
        t, h, x = step
        first = self.next[idx]
        end = np.where(
            at_stop,
            np.searchsorted(self.t, t_new - 1e-12, side="left"),
            np.searchsorted(self.t, t_new, side="right"),
        )
        count = np.maximum(end - first, 0)
        if not count.any():
            return
        owner = np.repeat(np.arange(idx.size), count)
        which = first[owner] + np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        theta = (self.t[which] - t[owner]) / h[owner]
        powers = np.stack([theta, theta**2, theta**3, theta**4], axis=1)
        self.values[which, idx[owner]] = x[owner] + np.einsum("qj,qjn->qn", powers, poly[owner])
        self.next[idx] = first + count


def simulate_clocks(
    model: Model,
    schedule: Schedule,
    x0: FloatArray,
    p: FloatArray,
    *,
    t_out: FloatArray,
    tol: Tolerances,
    stops: FloatArray,
    start_events: bool = True,
) -> tuple[FloatArray, Stats]:
    """States at ``t_out`` (``(n_t, members, n_states)``) and work counters.

    The members run from ``stops[0]`` to ``stops[-1]``, landing on every stop; events at the
    first stop are applied only with ``start_events``. Values at an event time are taken after
    the event (right-continuous).
    """
    c = _Clocks(model, schedule, x0, p, tol=tol, stops=stops)
    outputs = _Outputs(t_out, x0)
    everyone = np.arange(x0.shape[0])
    if start_events:
        c.apply_events(everyone, float(stops[0]))
    outputs.record_at_stop(everyone, float(stops[0]), c.x)
    c.k1 = c.derivative(everyone)(c.t, c.x)
    c.h[:] = _initial_steps(c.x, c.k1, tol)
    active = everyone[c.next_stop < len(c.stops)]
    while active.size:
        active = _iterate(c, active, outputs)
    return outputs.values, c.stats


def _iterate(c: _Clocks, idx: IndexArray, outputs: _Outputs) -> IndexArray:
    """One step for every running member; returns the members still running."""
    tol = c.tol
    t, x, k1 = c.t[idx], c.x[idx], c.k1[idx]
    target = c.stops[c.next_stop[idx]]
    h = np.minimum(c.h[idx], tol.max_step)
    last = t + h >= target - 1e-12 * np.maximum(1.0, np.abs(target))
    h = np.where(last, target - t, h)
    f = c.derivative(idx)
    m, n = x.shape
    ks = np.empty((7, m, n))  # stage slopes; each combination of them is one matrix product
    flat = ks.reshape(7, m * n)
    ks[0] = k1
    hc = h[:, None]
    for i in range(1, 7):
        stage = x + hc * (_A_ROWS[i][:i] @ flat[:i]).reshape(m, n)
        ks[i] = f(t + _C[i] * h, stage)
    x_new = stage  # the last stage is the order-5 solution (first-same-as-last)
    err = hc * (_E_ROW @ flat).reshape(m, n)
    scale = tol.atol + tol.rtol * np.maximum(np.abs(x), np.abs(x_new))
    norm = np.sqrt(np.mean((err / scale) ** 2, axis=1))
    finite = np.isfinite(norm)
    norm = np.where(finite, norm, np.inf)
    ok = norm <= 1.0  # a non-finite error is a rejection
    # PI step-size control (Hairer, Norsett & Wanner I, Sec. II.4; beta = 0.04 as in DOPRI5):
    # the previous accepted error damps the oscillation between accepted and rejected steps.
    norm_safe = np.clip(norm, 1e-10, 1e300)
    factor = np.where(
        ok,
        _SAFETY * norm_safe ** -(0.2 - 0.75 * _BETA) * c.last_norm[idx] ** _BETA,
        np.where(finite, _SAFETY * norm_safe**-0.2, _MIN_FACTOR),
    )
    c.last_norm[idx] = np.where(ok, np.maximum(norm, 1e-4), c.last_norm[idx])
    # no growth right after a rejection (Hairer, Norsett & Wanner I, Sec. II.4)
    ceiling = np.where(ok & ~c.was_rejected[idx], _MAX_FACTOR, 1.0)
    proposed = h * np.clip(factor, _MIN_FACTOR, ceiling)
    c.was_rejected[idx] = ~ok
    # a step cut short by a stop says nothing about the step size the member can take
    c.h[idx] = np.where(last & ok, np.maximum(proposed, c.h[idx]), proposed)
    c.stats.rejected += int(np.sum(~ok))
    if not ok.all():
        worst = int(np.argmin(c.h[idx]))
        check_step(float(c.h[idx][worst]), float(t[worst]))
    c.stats.steps += int(np.sum(ok))
    acc = idx[ok]
    t_new = np.where(last, target, t + h)[ok]
    # continuous extension x(t + theta h) = x + sum_j theta^(j+1) B_j, B_j = h sum_i P_ij k_i
    poly = (_P_MATRIX.T @ flat).reshape(4, m, n)[:, ok].transpose(1, 0, 2) * h[ok][:, None, None]
    outputs.fill_steps(acc, (t[ok], h[ok], x[ok]), poly, t_new, last[ok])
    # Keep states at their lower bounds. The slope from the unclipped state is kept as the next
    # step's first stage: models evaluate their rates on non-negative concentrations anyway,
    # and the next step's error estimate sees any difference.
    c.x[acc] = np.maximum(x_new[ok], c.lower)
    c.t[acc], c.k1[acc] = t_new, ks[6][ok]
    arrived = acc[last[ok]]
    if arrived.size:
        _cross_stop(c, arrived, outputs)
    running: IndexArray = idx[c.next_stop[idx] < len(c.stops)]
    return running


def _cross_stop(c: _Clocks, arrived: IndexArray, outputs: _Outputs) -> None:
    """Members at a stop: apply its events, record outputs there, start the next segment."""
    reached = c.next_stop[arrived]
    for stop_index in np.unique(reached):
        time = float(c.stops[stop_index])
        if time in c.events:
            c.apply_events(arrived[reached == stop_index], time)
    outputs.record_at_stop(arrived, c.stops[reached], c.x[arrived])
    c.next_stop[arrived] += 1
    running = arrived[c.next_stop[arrived] < len(c.stops)]
    if running.size:
        c.k1[running] = c.derivative(running)(c.t[running], c.x[running])


def _initial_steps(x: FloatArray, k: FloatArray, tol: Tolerances) -> FloatArray:
    scale = tol.atol + tol.rtol * np.abs(x)
    d0 = np.sqrt(np.mean((x / scale) ** 2, axis=1))
    d1 = np.sqrt(np.mean((k / scale) ** 2, axis=1))
    h = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
    return np.asarray(np.minimum(h, tol.max_step), dtype=float)
