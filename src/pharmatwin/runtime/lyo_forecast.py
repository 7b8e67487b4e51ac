"""Forecasts of the freeze-drying twin: when primary drying ends, for whom, and how hot it gets.

From a belief, every member runs the rest of the cycle (``core.simulate``); the time each
followed vial's ice runs out is read off the dried-cake trajectories (linear interpolation
between output times). The end for a group is its slow tail vial (the last of its N vials), the
end of the batch the later of the two groups. The probability of collapse and of finishing late
come from ``forecasting.forecast`` with the specifications of :func:`lyo_specifications`, so the
alarm policy of ``forecasting.alarms`` serves this twin as it serves the bioreactor's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.belief import Belief, weighted_quantiles
from pharmatwin.core.integrate import Tolerances
from pharmatwin.core.schedule import Schedule
from pharmatwin.core.simulate import simulate
from pharmatwin.core.specs import Specification
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer.model_slots import VialSlots
from pharmatwin.forecasting.forecast import Forecast
from pharmatwin.runtime.lyo_slots import crossing_times

LEVELS = (0.05, 0.5, 0.95)
END_STEP_H = 0.05
"""Output spacing of the end-of-drying forecast, h (the crossing is interpolated within)."""
RTOL = 1e-4

ENDS = {
    "batch": ("centre_slow", "edge_slow"),
    "centre": ("centre_slow",),
    "edge": ("edge_slow",),
    "centre_typical": ("centre",),
    "edge_typical": ("edge",),
}
"""Forecast ends and the slots whose last one defines each."""


def lyo_specifications(collapse_c: float, margin_c: float = 0.0) -> tuple[Specification, ...]:
    """Collapse (no vial holding ice above the collapse temperature less the margin, at any
    time) and the planned end (every vial dry when the programme moves on)."""
    return (
        Specification(
            name="collapse",
            output="T_max",
            unit="degC",
            upper=collapse_c - margin_c,
            when="always",
            description="product temperature of every vial with ice",
            source="collapse temperature of the formulation",
        ),
        Specification(
            name="late_end",
            output="f_last",
            unit="-",
            lower=1.0 - 1e-6,
            when="harvest",
            description="every vial dry at the planned end of primary drying",
            source="the cycle's programme",
        ),
    )


@dataclass(frozen=True)
class EndForecast:
    """One forecast of the twin.

    Attributes:
        t: when it was made, h.
        ends: 5/50/95 % of the end of ice sublimation, h, for ``batch``, ``centre`` and ``edge``
            (their last vials) and the typical (median) vial of each group.
        p_dry: share of members whose batch is dry within the horizon.
        forecast: the generic forecast to the planned end (collapse, late end, output bands).
        parameters: 5/50/95 % of each estimated parameter.
    """

    t: float
    ends: dict[str, FloatArray]
    p_dry: float
    forecast: Forecast
    parameters: dict[str, FloatArray]

    @property
    def batch_end_h(self) -> float:
        """Median forecast end of primary drying of the batch, h."""
        return float(self.ends["batch"][1])

    @property
    def p_collapse(self) -> float:
        return self.forecast.spec("collapse").p_fail

    @property
    def p_late(self) -> float:
        return self.forecast.spec("late_end").p_fail


def end_times(
    model: VialSlots, schedule: Schedule, belief: Belief, horizon_h: float
) -> dict[str, FloatArray]:
    """Per member, the end of each forecast end (see ``ENDS``), h; the horizon where a member
    is not dry by then."""
    names = [s.name for s in model.slots]
    if belief.t >= horizon_h:
        times = np.array([belief.t])
        x = belief.x[None]
    else:
        times = np.union1d(np.arange(belief.t, horizon_h, END_STEP_H), [horizon_h])
        x = simulate(
            model,
            schedule,
            belief.x,
            belief.p,
            t_out=times,
            t_start=belief.t,
            t_end=horizon_h,
            start_events=False,
            tol=Tolerances(rtol=RTOL, atol=model.state_atol()),
        ).x
    l0 = _fill_height(model, belief.p)
    out = {}
    for key, slots in ENDS.items():
        cols = [names.index(s) for s in slots]
        per_slot = [crossing_times(times, x[:, :, c] / l0[None, :]) for c in cols]
        out[key] = np.minimum(np.max(per_slot, axis=0), horizon_h)
    return out


def _fill_height(model: VialSlots, p: FloatArray) -> FloatArray:
    from pharmatwin.equipment.lyophilizer.physics import fill_height

    fill, area, solids = (
        p[:, model.parameter_index(n)] for n in ("fill", "product_area", "solids")
    )
    return np.asarray(fill_height(fill, area, solids), dtype=float)


def parameter_quantiles(
    model: VialSlots, belief: Belief, names: Sequence[str]
) -> dict[str, FloatArray]:
    """5/50/95 % of the named parameters over the belief."""
    cols = [model.parameter_index(n) for n in names]
    q = weighted_quantiles(belief.p[:, cols], belief.weights, LEVELS)
    return {n: q[:, i] for i, n in enumerate(names)}


def summarize_ends(ends: dict[str, FloatArray], weights: FloatArray) -> dict[str, FloatArray]:
    """5/50/95 % of each end."""
    return {k: weighted_quantiles(v, weights, LEVELS) for k, v in ends.items()}
