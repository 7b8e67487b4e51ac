"""Run a model over a compiled recipe for a whole ensemble at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pharmatwin.core.clocks import simulate_clocks
from pharmatwin.core.integrate import Dense, Stats, Tolerances, integrate
from pharmatwin.core.model import Model
from pharmatwin.core.rosenbrock import finite_difference_jacobian, integrate_stiff
from pharmatwin.core.schedule import Event, Schedule, apply_event
from pharmatwin.core.types import FloatArray


@dataclass(frozen=True)
class Trajectory:
    """States and inputs of an ensemble at the output times.

    Attributes:
        t: output times, batch hours, ``(n_t,)``.
        x: states, ``(n_t, members, n_states)``; right-continuous at events.
        u: inputs, ``(n_t, n_inputs)``.
        stats: integrator work counters.
    """

    t: FloatArray
    x: FloatArray
    u: FloatArray
    stats: Stats

    def state(self, model: type[Model] | Model, name: str) -> FloatArray:
        """One state over time for every member: ``(n_t, members)``."""
        series: FloatArray = self.x[:, :, model.state_index(name)]
        return series

    @property
    def final(self) -> FloatArray:
        """States at the last output time, ``(members, n_states)``."""
        last: FloatArray = self.x[-1]
        return last


def simulate(
    model: Model,
    schedule: Schedule,
    x0: FloatArray,
    p: FloatArray,
    *,
    t_out: FloatArray | None = None,
    tol: Tolerances | None = None,
    method: Literal["clocks", "dopri5", "rodas4"] = "clocks",
    t_start: float = 0.0,
    t_end: float | None = None,
    start_events: bool = True,
) -> Trajectory:
    """Integrate ``model`` from ``t_start`` (default 0 h) to ``t_end`` (default: the end of
    ``schedule``) for every member.

    The integration stops at every knot of the schedule and at every event (bolus, sample), where
    the event is applied; it never steps over a discontinuity of the inputs.

    Args:
        x0: states at ``t_start``, ``(members, n_states)``; the schedule's events at
            ``t_start`` are applied to them only with ``start_events`` (a belief at ``t`` has
            them already).
        p: parameters ``(members, n_parameters)``.
        t_out: output times within ``[0, t_end]``, ascending; default: every hour and the end.
        tol: tolerances; default ``rtol=1e-6`` with the states' declared ``atol``.
        method: ``"clocks"`` (default: Dormand-Prince 5(4) with a clock and a step size per
            member, see ``core.clocks``), ``"dopri5"`` (one step size shared by all members) or
            ``"rodas4"`` (shared step, linearly implicit: for stiff models).
    """
    x0 = np.atleast_2d(np.asarray(x0, dtype=float))
    p = np.atleast_2d(np.asarray(p, dtype=float))
    _check_shapes(model, x0, p)
    if tol is None:
        tol = Tolerances(rtol=1e-6, atol=model.state_atol())
    end = schedule.t_end if t_end is None else float(t_end)
    if not 0.0 <= t_start < end <= schedule.t_end:
        raise ValueError(f"t_start, t_end: need 0 <= {t_start} < {end} <= {schedule.t_end}")
    if t_out is None:
        t_out = np.union1d(np.arange(t_start, end, 1.0), [end])
    t_out = np.asarray(t_out, dtype=float)
    if t_out[0] < t_start or t_out[-1] > end or np.any(np.diff(t_out) <= 0):
        raise ValueError("t_out: must be ascending and within [t_start, t_end]")
    stops = schedule.stops(t_start, end)
    lower, _ = model.state_bounds()
    members, n = x0.shape
    p = np.broadcast_to(p, (members, p.shape[1]))
    if method == "clocks":
        u_out = np.array([schedule.inputs_at(float(tt)) for tt in t_out])
        states, stats = simulate_clocks(
            model, schedule, x0, p, t_out=t_out, tol=tol, stops=stops, start_events=start_events
        )
        return Trajectory(t=t_out, x=np.maximum(states, lower), u=u_out, stats=stats)
    p_rows = np.tile(p, (n + 1, 1))  # parameters for the stacked Jacobian evaluation
    out = np.empty((len(t_out), *x0.shape))
    stats = Stats()
    first = t_start if start_events else np.nextafter(t_start, np.inf)
    events = [e for e in schedule.events if first <= e.time_h <= end]
    x = x0.copy()
    h: float | None = None
    t = t_start
    x = _apply_events_at(model, x, events, t)
    done = _record_at(t_out, out, 0, t, x)
    for t_next in stops[1:]:
        k = schedule.segment(t)

        def rhs(
            tt: float,
            xx: FloatArray,
            offset: FloatArray = schedule.offset[k],
            slope: FloatArray = schedule.slope[k],
            knot: float = float(schedule.knots[k]),
        ) -> FloatArray:
            u = offset + slope * (tt - knot)
            return model.rhs(tt, xx, np.broadcast_to(u, (xx.shape[0], u.shape[0])), p)

        window = t_out[done:][t_out[done:] <= t_next]
        dense = Dense(times=window, out=out[done : done + len(window)])
        if method == "dopri5":
            x, h, seg_stats = integrate(
                rhs, t, float(t_next), x, tol, lower=lower, h0=h, dense=dense
            )
        else:
            jac = _jacobian(model, schedule, k, p_rows, tol)
            autonomous = not np.any(schedule.slope[k])
            x, h, seg_stats = integrate_stiff(
                rhs,
                t,
                float(t_next),
                x,
                tol,
                jac=jac,
                lower=lower,
                h0=h,
                dense=dense,
                autonomous=autonomous,
            )
        stats.add(seg_stats)
        done += dense.filled
        t = float(t_next)
        x_after = _apply_events_at(model, x, events, t)
        if x_after is not x and done > 0 and t_out[done - 1] == t:
            out[done - 1] = x_after
        x = x_after
    u_out = np.array([schedule.inputs_at(float(tt)) for tt in t_out])
    # interpolation between steps can dip below a bound the steps themselves respect
    return Trajectory(t=t_out, x=np.maximum(out, lower), u=u_out, stats=stats)


def _jacobian(
    model: Model, schedule: Schedule, k: int, p_rows: FloatArray, tol: Tolerances
) -> Callable[[float, FloatArray], tuple[FloatArray, FloatArray]]:
    """Finite-difference Jacobian of the model on segment ``k``, one stacked ``rhs`` call."""
    offset, slope, knot = schedule.offset[k], schedule.slope[k], float(schedule.knots[k])
    atol = np.broadcast_to(tol.atol, (len(model.states),))

    def f_rows(t: float, rows: FloatArray) -> FloatArray:
        u = offset + slope * (t - knot)
        return model.rhs(t, rows, np.broadcast_to(u, (rows.shape[0], u.shape[0])), p_rows)

    def jac(t: float, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        return finite_difference_jacobian(f_rows, t, x, atol)

    return jac


def _check_shapes(model: Model, x0: FloatArray, p: FloatArray) -> None:
    if x0.shape[1] != len(model.states):
        raise ValueError(f"x0: expected {len(model.states)} states, got {x0.shape[1]}")
    if p.shape[1] != len(model.parameters):
        raise ValueError(f"p: expected {len(model.parameters)} parameters, got {p.shape[1]}")
    if p.shape[0] not in (1, x0.shape[0]):
        raise ValueError(f"p: {p.shape[0]} members do not match x0's {x0.shape[0]}")


def _apply_events_at(model: Model, x: FloatArray, events: list[Event], t: float) -> FloatArray:
    while events and events[0].time_h <= t + 1e-12:
        x = apply_event(model, x, events.pop(0))
    return x


def _record_at(t_out: FloatArray, out: FloatArray, start: int, t: float, x: FloatArray) -> int:
    i = start
    while i < len(t_out) and t_out[i] <= t:
        out[i] = x
        i += 1
    return i
