"""Setpoint programmes of a cycle (shelf temperature, chamber pressure) as piecewise-linear data.

A :class:`Profile` is a list of knots (time in h from the start of primary drying, value in the
variable's unit, °C or Torr) joined by straight lines; the value is held after the last knot.
The knots are the integration breakpoints of the drying simulation: a step never crosses one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray

ArrayLike = float | FloatArray

MIN_PER_H = 60.0


@dataclass(frozen=True)
class Step:
    """One stage of a programme: ramp to ``setpoint`` at ``rate_per_min`` (unit/min, > 0), then
    hold for ``hold_h`` hours (≥ 0)."""

    setpoint: float
    rate_per_min: float
    hold_h: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.setpoint):
            raise ValueError(f"setpoint: must be a finite number, got {self.setpoint}")
        if not (math.isfinite(self.rate_per_min) and self.rate_per_min > 0):
            raise ValueError(f"rate_per_min: must be positive, got {self.rate_per_min}")
        if not (math.isfinite(self.hold_h) and self.hold_h >= 0):
            raise ValueError(f"hold_h: must be >= 0, got {self.hold_h}")


@dataclass(frozen=True, eq=False)
class Profile:
    """Piecewise-linear programme: knots ``t_h`` (h, strictly increasing, the first at 0) and
    their ``value``; held at the last value afterwards. Build with :meth:`constant`,
    :meth:`ramp` or :meth:`steps`, or directly from arrays."""

    t_h: FloatArray
    value: FloatArray

    def __post_init__(self) -> None:
        t = np.array(self.t_h, dtype=float).reshape(-1)
        v = np.array(self.value, dtype=float).reshape(-1)
        if t.size == 0 or t.size != v.size:
            raise ValueError(
                f"t_h: need one or more knots and as many values, got {t.size} and {v.size}"
            )
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(v))):
            raise ValueError("t_h: knots and values must be finite numbers")
        if t[0] != 0.0:
            raise ValueError(f"t_h: the first knot must be at 0 h, got {t[0]:g}")
        if np.any(np.diff(t) <= 0):
            raise ValueError("t_h: knots must be strictly increasing")
        t.flags.writeable = False
        v.flags.writeable = False
        object.__setattr__(self, "t_h", t)
        object.__setattr__(self, "value", v)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        return bool(np.array_equal(self.t_h, other.t_h) and np.array_equal(self.value, other.value))

    def __hash__(self) -> int:
        return hash((self.t_h.tobytes(), self.value.tobytes()))

    def at(self, t_h: ArrayLike) -> FloatArray:
        """The programme's value at ``t_h`` hours (any shape; held before 0 and after the end)."""
        return np.asarray(np.interp(t_h, self.t_h, self.value), dtype=float)

    @property
    def end_h(self) -> float:
        """Time of the last knot, h: the value is constant from here on."""
        return float(self.t_h[-1])

    @property
    def final(self) -> float:
        """The value held after the last knot."""
        return float(self.value[-1])

    def slopes_per_h(self) -> FloatArray:
        """Slope of each segment (one per knot; 0 after the last knot), unit/h."""
        slopes = np.zeros(self.t_h.size)
        slopes[:-1] = np.diff(self.value) / np.diff(self.t_h)
        return slopes

    @classmethod
    def constant(cls, value: float) -> Profile:
        """A value held from time 0."""
        return cls(np.array([0.0]), np.array([float(value)]))

    @classmethod
    def ramp(cls, initial: float, rate_per_min: float, setpoint: float) -> Profile:
        """From ``initial`` ramp at ``rate_per_min`` (unit/min, > 0) to ``setpoint`` and hold."""
        return cls.steps(initial, [Step(setpoint, rate_per_min)])

    @classmethod
    def steps(cls, initial: float, steps: Sequence[Step]) -> Profile:
        """From ``initial``, each step ramps to its setpoint and holds (ramps of zero length
        and holds of zero duration add no knot)."""
        if not math.isfinite(initial):
            raise ValueError(f"initial: must be a finite number, got {initial}")
        times, values = [0.0], [float(initial)]
        for i, step in enumerate(steps):
            if not isinstance(step, Step):
                raise ValueError(f"steps.{i}: expected a Step, got {type(step).__name__}")
            ramp_h = abs(step.setpoint - values[-1]) / (step.rate_per_min * MIN_PER_H)
            if ramp_h > 0:
                times.append(times[-1] + ramp_h)
                values.append(float(step.setpoint))
            if step.hold_h > 0:
                times.append(times[-1] + step.hold_h)
                values.append(float(step.setpoint))
        return cls(np.array(times), np.array(values))
