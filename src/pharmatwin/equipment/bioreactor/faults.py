"""The fault library of the virtual bioreactor: what can go wrong, from when, and how badly.

A fault is data (kind, onset, magnitude, optional duration); the plant reads it each step.
Magnitudes per kind (and the unit of ``magnitude``):

* ``ph_probe_drift``: the online pH probe drifts by ``magnitude`` pH units per day.
* ``temperature_control_failure``: the jacket valve sticks so the jacket goes to ``magnitude``
  degC whatever the controller asks.
* ``feed_pump_failure``: the continuous-feed pump loses the fraction ``magnitude`` of its flow
  (1 = stops).
* ``wrong_feed_concentration``: the continuous feed carries ``magnitude`` times the recipe's
  concentrations (a mis-made feed bag; 0.5 = half strength).
* ``aeration_failure``: the oxygen sparge loses the fraction ``magnitude`` of its capacity.
* ``viability_loss``: an extra cell death rate of ``magnitude`` 1/h (shear, contamination).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pharmatwin.core.recipe import StrictData

FaultKind = Literal[
    "ph_probe_drift",
    "temperature_control_failure",
    "feed_pump_failure",
    "wrong_feed_concentration",
    "aeration_failure",
    "viability_loss",
]

FRACTION_KINDS = ("feed_pump_failure", "aeration_failure")


class Fault(StrictData):
    """One fault: ``kind`` acting from ``onset_h`` for ``duration_h`` (None: to the end)."""

    kind: FaultKind
    onset_h: float = Field(ge=0)
    magnitude: float
    duration_h: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _magnitude(self) -> Fault:
        if self.kind in FRACTION_KINDS and not 0 <= self.magnitude <= 1:
            raise ValueError(
                f"magnitude: {self.kind} takes a fraction in [0, 1], not {self.magnitude}"
            )
        if self.kind == "wrong_feed_concentration" and not 0 <= self.magnitude <= 10:
            raise ValueError(f"magnitude: a feed strength factor in [0, 10], not {self.magnitude}")
        if self.kind == "viability_loss" and not 0 <= self.magnitude <= 1:
            raise ValueError(f"magnitude: an extra death rate in [0, 1] 1/h, not {self.magnitude}")
        if self.kind == "ph_probe_drift" and not abs(self.magnitude) <= 2:
            raise ValueError(f"magnitude: a drift of at most 2 pH per day, not {self.magnitude}")
        if self.kind == "temperature_control_failure" and not 0 <= self.magnitude <= 80:
            raise ValueError(
                f"magnitude: jacket temperature {self.magnitude} degC is not plausible"
            )
        return self

    def active(self, t: float) -> bool:
        """True while the fault acts at batch time ``t`` (h)."""
        end = float("inf") if self.duration_h is None else self.onset_h + self.duration_h
        return self.onset_h <= t < end

    def boundaries(self) -> list[float]:
        """Times at which the fault starts and stops acting."""
        times = [self.onset_h]
        if self.duration_h is not None:
            times.append(self.onset_h + self.duration_h)
        return times


def magnitude_of(faults: list[Fault], kind: str, t: float) -> float | None:
    """Magnitude of the active fault of ``kind`` at ``t``, or None if none acts."""
    for fault in faults:
        if fault.kind == kind and fault.active(t):
            return fault.magnitude
    return None
