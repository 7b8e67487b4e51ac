"""Control loops of the virtual bioreactor: a bank of PI controllers with output limits.

Positional PI with conditional integration (anti-windup: the integral stops growing while the
output is saturated in the direction of the error). One bank steps every loop of every ensemble
member with a few array operations; arrays are ``(n_loops, members)``, parameters ``(n_loops,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray, column


@dataclass(frozen=True)
class PILoop:
    """One loop: ``out = bias + gain * (e + integral / ti_h)`` clipped to ``[low, high]``.

    Attributes:
        name: loop name (e.g. ``"TIC101"``).
        gain: proportional gain, output units per unit of error.
        ti_h: integral time, h.
        low, high: actuator limits, output units.
    """

    name: str
    gain: float
    ti_h: float
    low: float
    high: float


class PIBank:
    """Several PI loops stepped together."""

    def __init__(self, loops: tuple[PILoop, ...]) -> None:
        self.loops = loops
        self.gain, self.ti = column(loops, "gain"), column(loops, "ti_h")
        self.low, self.high = column(loops, "low"), column(loops, "high")

    def step(
        self, error: FloatArray, integral: FloatArray, bias: FloatArray, dt_h: float
    ) -> tuple[FloatArray, FloatArray]:
        """Outputs for ``error`` and the integrals (error-hours) after ``dt_h``."""
        raw = bias + self.gain * (error + integral / self.ti)
        out = np.clip(raw, self.low, self.high)
        wound = ((raw >= self.high) & (error > 0)) | ((raw <= self.low) & (error < 0))
        return out, integral + np.where(wound, 0.0, error * dt_h)
