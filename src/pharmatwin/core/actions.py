"""Operator actions as data: what could be done to a running batch.

The same action is understood by a twin (which forecasts its effect on the current belief) and
by the virtual plant (which carries it out), so a recommendation can be checked.

Kinds:
* ``bolus``: add ``volume_L`` of the recipe medium ``medium`` now;
* ``setpoint``: hold ``input`` at ``value`` from now on;
* ``restore``: repair what makes ``input`` deviate from its plan (recalibrate a probe, fix a
  pump, clear a sparger, repair a jacket valve): from now on it follows the plan again;
* ``harvest_shift``: harvest ``value`` hours later (negative: earlier).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pharmatwin.core.recipe import StrictData

ActionKind = Literal["bolus", "setpoint", "restore", "harvest_shift"]


class Action(StrictData):
    """One candidate corrective action."""

    name: str
    kind: ActionKind
    description: str = ""
    medium: str | None = None
    volume_L: float | None = Field(default=None, gt=0)
    input: str | None = None
    value: float | None = None

    @model_validator(mode="after")
    def _complete(self) -> Action:
        needs = {
            "bolus": ("medium", "volume_L"),
            "setpoint": ("input", "value"),
            "restore": ("input",),
            "harvest_shift": ("value",),
        }[self.kind]
        missing = [f for f in needs if getattr(self, f) is None]
        if missing:
            raise ValueError(f"action {self.name!r}: a {self.kind} needs {', '.join(missing)}")
        return self
