"""What the freeze-drying twin takes from the plant data: inputs as run, thermocouple values,
and the moment each thermocouple stops telling about ice.

* Inputs: the shelf temperature (RTD) and chamber pressure (manometer) as measured, smoothed
  over ``SMOOTH_MIN`` around each assimilation time and joined linearly, up to now; from now on
  the programme, shifted by the deviation of the last ``RECENT_MIN`` minutes when it exceeds
  what control normally leaves (a shelf that stopped following, a pressure off its setpoint):
  "conditions as they are now" persist — and a shelf that keeps drifting away is taken to go
  on drifting for ``DRIFT_HORIZON_H``.
* A thermocouple reads the bottom of its vial only while the vial holds ice; when the ice is
  gone the reading climbs to the shelf temperature. A reading that rises by more than
  ``RISE_C`` more than the shelf within ``RISE_WINDOW_MIN`` and stands ``AWAY_C`` above the
  twin's prediction means
  the vial is dry: the thermocouple is retired (with its reason) and the onset of the rise (the
  first jump of the reading), the
  end of that vial's ice, becomes a measurement of its dried fraction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pharmatwin.core.schedule import Schedule
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer.dryer import LyoData
from pharmatwin.equipment.lyophilizer.profiles import Profile

SMOOTH_MIN = 5.0
RECENT_MIN = 15.0
SHELF_TOLERANCE_C = 1.5
"""A shelf further than this from its setpoint (on average over ``RECENT_MIN``) is off plan..."""
LAG_MIN = 5.0
"""...plus the lag of a shelf following a ramp: this many minutes of the ramp rate."""
PRESSURE_TOLERANCE = 0.05
"""Relative deviation of the chamber pressure from its setpoint that counts as off plan."""
DRIFT_WINDOW_MIN = 30.0
DRIFT_MIN_C_H = 2.0
"""A shelf offset growing faster than this (°C/h) is taken to go on growing..."""
DRIFT_HORIZON_H = 2.0
"""...for at most this long (h), then to stay."""
RISE_C = 1.5
RISE_WINDOW_MIN = 10.0
AWAY_C = 1.5
JUMP_C = 0.5
"""The rise starts with the first one-step increase larger than this (the wet reading moves by
hundredths of a degree per minute, the dry one by degrees)."""


def _as_run(
    t: FloatArray, v: FloatArray, setpoint: FloatArray, at: FloatArray, programme: FloatArray
) -> FloatArray:
    """The measured input at the times ``at``: the programme there plus the deviation of the
    measured values from their setpoints, averaged over ``SMOOTH_MIN`` around each time;
    across missing values (NaN) the deviation is interpolated, and held after the last one —
    the equipment is taken to have gone on following its programme."""
    gap = v - setpoint
    ok = np.isfinite(gap)
    if not ok.any():
        return np.array(programme, dtype=float)
    half = SMOOTH_MIN / 120.0
    out = np.empty(len(at))
    for i, a in enumerate(at):
        near = ok & (np.abs(t - a) <= half)
        out[i] = float(np.mean(gap[near])) if near.any() else float(np.interp(a, t[ok], gap[ok]))
    return np.asarray(programme + out, dtype=float)


@dataclass(frozen=True)
class Deviation:
    """How far the measured inputs are from the programme now, persisted into the future: the
    shelf offset (°C) and, while it keeps growing, its drift (°C/h, carried on for
    ``DRIFT_HORIZON_H``), and the pressure as a ratio to its setpoint."""

    shelf_c: float = 0.0
    shelf_drift_c_h: float = 0.0
    pressure_ratio: float = 1.0


def deviation(data: LyoData) -> Deviation:
    """The persisted deviation: zero unless the recent inputs are clearly off the programme."""
    now = data.t_h[-1]
    recent = data.t_h >= now - RECENT_MIN / 60.0
    gap = data.shelf_c - data.shelf_setpoint_c
    ratios = data.manometer_torr[recent] / data.pressure_setpoint_torr[recent]
    shelf = _finite_mean(gap[recent], 0.0)
    ratio = _finite_mean(ratios, 1.0)
    ramp = np.diff(data.shelf_setpoint_c[recent]) / np.diff(data.t_h[recent]) / 60.0
    lag = LAG_MIN * float(np.max(np.abs(ramp))) if ramp.size else 0.0
    if abs(shelf) <= SHELF_TOLERANCE_C + lag:
        return Deviation(0.0, 0.0, ratio if abs(ratio - 1.0) > PRESSURE_TOLERANCE else 1.0)
    trend = (data.t_h >= now - DRIFT_WINDOW_MIN / 60.0) & np.isfinite(gap)
    drift = float(np.polyfit(data.t_h[trend] - now, gap[trend], 1)[0]) if trend.sum() > 2 else 0.0
    growing = abs(drift) > DRIFT_MIN_C_H and np.sign(drift) == np.sign(shelf)
    return Deviation(
        shelf,
        drift if growing else 0.0,
        ratio if abs(ratio - 1.0) > PRESSURE_TOLERANCE else 1.0,
    )


def _finite_mean(values: FloatArray, empty: float) -> float:
    finite = values[np.isfinite(values)]
    return float(np.mean(finite)) if finite.size else empty


def as_run_schedule(
    data: LyoData,
    now: float,
    *,
    shelf: Profile,
    pressure: Profile,
    end_h: float,
    every_h: float,
    dev: Deviation,
) -> Schedule:
    """Inputs (``T_shelf``, ``P_chamber``) as run up to ``now`` (knots every ``every_h``) and
    as planned, with the persisted deviation, from ``now`` to ``end_h``."""
    past = np.union1d(np.arange(0.0, now, every_h), [now]) if now > 0 else np.array([0.0])
    t = data.t_h
    measured = np.stack(
        [
            _as_run(t, data.shelf_c, data.shelf_setpoint_c, past, shelf.at(past)),
            _as_run(t, data.manometer_torr, data.pressure_setpoint_torr, past, pressure.at(past)),
        ],
        axis=1,
    )
    future = np.union1d(np.union1d(shelf.t_h, pressure.t_h), [end_h])
    if dev.shelf_drift_c_h:
        future = np.union1d(future, now + np.linspace(0.0, DRIFT_HORIZON_H, 9)[1:])
    future = future[(future > now + 1e-9) & (future <= end_h)]
    drift = dev.shelf_drift_c_h * np.minimum(future - now, DRIFT_HORIZON_H)
    planned = np.stack(
        [shelf.at(future) + dev.shelf_c + drift, pressure.at(future) * dev.pressure_ratio],
        axis=1,
    )
    knots = np.concatenate([past, future])
    values = np.concatenate([measured, planned])
    if len(knots) == 1:
        knots, values = np.array([0.0, end_h]), np.repeat(values, 2, axis=0)
    slope = np.zeros_like(values)
    slope[:-1] = np.diff(values, axis=0) / np.diff(knots)[:, None]
    return Schedule(knots=knots, offset=values[:-1], slope=slope[:-1], events=())


@dataclass
class ThermocoupleWatch:
    """Which thermocouples still read ice, and when the others' vials ran dry."""

    count: int
    retired_at: dict[int, float] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    last_wet_h: dict[int, float] = field(default_factory=dict)

    def check(self, data: LyoData, k: int, predicted: float) -> float | None:
        """The onset time (h) if thermocouple ``k`` has just left the ice, else None."""
        if k in self.retired_at or not np.isfinite(data.thermocouples[k, -1]):
            return None  # a missing value tells nothing (the filter records it as missing)
        ok = np.isfinite(data.thermocouples[k]) & np.isfinite(data.shelf_c)
        t, v, shelf = data.t_h[ok], data.thermocouples[k, ok], data.shelf_c[ok]
        window = t >= t[-1] - RISE_WINDOW_MIN / 60.0
        start = int(np.argmin(v[window]))
        rise = float(v[-1] - v[window][start])
        shelf_rise = float(shelf[-1] - shelf[window][start]) if shelf.size else 0.0
        if rise <= RISE_C + max(shelf_rise, 0.0) or v[-1] - predicted <= AWAY_C:
            self.last_wet_h[k] = float(t[-1])
            return None
        since = t >= self.last_wet_h.get(k, float(t[0]))
        ts, jump = t[since], np.flatnonzero(np.diff(v[since]) > JUMP_C)
        half_step = 0.5 * float(np.median(np.diff(data.t_h))) if len(data.t_h) > 1 else 0.0
        onset = float(ts[jump[0]]) + half_step if jump.size else float(ts[0])
        self.retired_at[k] = onset
        self.reasons[k] = (
            f"thermocouple {k + 1}: vial dry from {onset:.2f} h (reading rose {rise:.1f} °C "
            f"towards the shelf); no longer assimilated"
        )
        return onset


def thermocouple_value(data: LyoData, k: int) -> tuple[float, float]:
    """Time (h) and value of the latest reading of thermocouple ``k``."""
    return float(data.t_h[-1]), float(data.thermocouples[k, -1])
