"""Control loops of the virtual bioreactor: a vectorized PI controller with output limits.

Velocity-free positional PI with conditional integration (anti-windup: the integral stops
growing while the output is saturated in the direction of the error). One instance controls
every ensemble member at once; its state is a plain array owned by the plant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray


@dataclass(frozen=True)
class PIController:
    """``out = bias + gain * (e + integral / ti_h)`` clipped to ``[low, high]``.

    Attributes:
        gain: proportional gain, output units per unit of error.
        ti_h: integral time, h.
        low, high: actuator limits, output units.
        bias: output at zero error and zero integral.
    """

    gain: float
    ti_h: float
    low: float
    high: float
    bias: float = 0.0

    def step(
        self, error: FloatArray, integral: FloatArray, dt_h: float, bias: float | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Output for ``error`` and the updated integral (error-hours) after ``dt_h``.

        ``bias`` overrides the fixed bias (e.g. feed-forward of the setpoint).
        """
        base = self.bias if bias is None else bias
        raw = base + self.gain * (error + integral / self.ti_h)
        out = np.clip(raw, self.low, self.high)
        saturated_high = (raw >= self.high) & (error > 0)
        saturated_low = (raw <= self.low) & (error < 0)
        grow = ~(saturated_high | saturated_low)
        return out, integral + np.where(grow, error * dt_h, 0.0)
