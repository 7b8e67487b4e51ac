"""Faults of the virtual freeze dryer as data: what goes wrong, from when, and how badly.

Magnitude per kind (and its unit):

* ``vacuum_leak``: air leaking into the chamber, sccm. The pressure controller closes its
  nitrogen bleed to compensate; a leak larger than the bleed it was giving saturates it and the
  chamber pressure rises. The Pirani reads lower (air dilutes the water vapour).
* ``shelf_control_failure``: the shelf temperature no longer follows its setpoint but drifts
  from its value at onset at ``magnitude`` °C/h (0: it sticks), within the heater's limits.
* ``condenser_overload``: the condenser condenses at most ``magnitude`` g/h; above it its surface
  warms, the water vapour pressure over it rises and, once the bleed is closed, the chamber
  pressure rises.
* ``stuck_pressure_controller``: the bleed valve sticks at ``magnitude`` sccm, or where it was at
  onset when no magnitude is given; the pressure then follows the sublimation rate.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pharmatwin.core.recipe import StrictData

LyoFaultKind = Literal[
    "vacuum_leak", "shelf_control_failure", "condenser_overload", "stuck_pressure_controller"
]


class LyoFault(StrictData):
    """One fault: ``kind`` acting from ``onset_h`` for ``duration_h`` (None: to the end)."""

    kind: LyoFaultKind
    onset_h: float = Field(ge=0)
    magnitude: float | None = None
    duration_h: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _magnitude(self) -> LyoFault:
        m = self.magnitude
        if m is None:
            if self.kind != "stuck_pressure_controller":
                raise ValueError(f"magnitude: required for {self.kind}")
            return self
        if self.kind == "vacuum_leak" and not 0 < m <= 10_000:
            raise ValueError(f"magnitude: a leak of (0, 10000] sccm, not {m}")
        if self.kind == "shelf_control_failure" and not abs(m) <= 120:
            raise ValueError(f"magnitude: a shelf drift of at most 120 °C/h, not {m}")
        if self.kind == "condenser_overload" and not 0 < m <= 1e6:
            raise ValueError(f"magnitude: a condenser capacity in (0, 1e6] g/h, not {m}")
        if self.kind == "stuck_pressure_controller" and not 0 <= m <= 10_000:
            raise ValueError(f"magnitude: a stuck bleed flow in [0, 10000] sccm, not {m}")
        return self

    def active(self, t: float) -> bool:
        """True while the fault acts at time ``t`` (h)."""
        end = float("inf") if self.duration_h is None else self.onset_h + self.duration_h
        return self.onset_h <= t < end


def active_fault(faults: list[LyoFault], kind: str, t: float) -> LyoFault | None:
    """The first fault of ``kind`` acting at ``t``, or None."""
    return next((f for f in faults if f.kind == kind and f.active(t)), None)
