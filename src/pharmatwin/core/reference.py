"""Reference integration with scipy's ``solve_ivp``, one member at a time.

Slow by design: it is the yardstick the ensemble integrator is validated and benchmarked against.
It follows the same schedule (stops at every knot and event) and applies the same events.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from scipy.integrate import solve_ivp

from pharmatwin.core.model import Model
from pharmatwin.core.schedule import Schedule, apply_event
from pharmatwin.core.types import FloatArray


def solve_members(
    model: Model,
    schedule: Schedule,
    x0: FloatArray,
    p: FloatArray,
    *,
    method: str = "Radau",
    rtol: float = 1e-9,
    atol: float | FloatArray = 1e-12,
) -> FloatArray:
    """States at the end of ``schedule`` for every member, ``(members, n_states)``."""
    stops = schedule.stops()
    final = np.empty_like(x0)
    for m in range(x0.shape[0]):
        x = x0[m : m + 1].copy()
        pm = p[m : m + 1] if p.shape[0] > 1 else p
        events = list(schedule.events)
        while events and events[0].time_h <= 0.0:
            x = apply_event(model, x, events.pop(0))
        for t0, t1 in pairwise(stops):
            k = schedule.segment(float(t0))

            def f(t: float, y: FloatArray, k: int = k, pm: FloatArray = pm) -> FloatArray:
                u = schedule.offset[k] + schedule.slope[k] * (t - schedule.knots[k])
                dx: FloatArray = model.rhs(t, y[None, :], u[None, :], pm)[0]
                return dx

            sol = solve_ivp(f, (float(t0), float(t1)), x[0], method=method, rtol=rtol, atol=atol)
            if not sol.success:
                raise RuntimeError(f"solve_ivp failed on member {m} at {t0} h: {sol.message}")
            x = sol.y[:, -1][None, :]
            while events and events[0].time_h <= t1 + 1e-12:
                x = apply_event(model, x, events.pop(0))
        final[m] = x[0]
    return final
