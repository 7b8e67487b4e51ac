"""The virtual bioreactor's operator: carry out an action on a scenario from a given time.

A repair (``restore``) ends the faults that act on that input: recalibrating the pH probe ends
its drift, fixing the feed ends a pump failure and a mis-made feed bag, clearing the sparger
ends an aeration failure, repairing the jacket valve ends a temperature control failure.
"""

from __future__ import annotations

from pharmatwin.core.actions import Action
from pharmatwin.core.recipe import Bolus, Phase
from pharmatwin.equipment.bioreactor.faults import Fault
from pharmatwin.equipment.bioreactor.scenario import Scenario

REPAIRS: dict[str, tuple[str, ...]] = {
    "pH": ("ph_probe_drift",),
    "F_feed": ("feed_pump_failure", "wrong_feed_concentration"),
    "DO": ("aeration_failure",),
    "T": ("temperature_control_failure",),
}
"""Input restored -> faults that end."""


def apply_action(scenario: Scenario, action: Action, at_h: float) -> Scenario:
    """The scenario with ``action`` carried out at batch time ``at_h``."""
    recipe = scenario.recipe
    if action.kind == "bolus":
        assert action.medium is not None and action.volume_L is not None  # validated by Action
        bolus = Bolus(at_h=at_h, medium=action.medium, volume_L=action.volume_L)
        recipe = recipe.model_copy(update={"boluses": [*recipe.boluses, bolus]})
    elif action.kind == "setpoint":
        assert action.input is not None and action.value is not None
        recipe = recipe.model_copy(
            update={"phases": _with_setpoint(recipe.phases, action.input, action.value, at_h)}
        )
    elif action.kind == "harvest_shift":
        assert action.value is not None
        recipe = recipe.harvested_at(max(recipe.harvest_h + action.value, at_h + 1.0))
    elif action.kind == "restore":
        assert action.input is not None
        ended = REPAIRS.get(action.input, ())
        faults = [_end(f, at_h) if f.kind in ended else f for f in scenario.faults]
        return scenario.model_copy(update={"faults": [f for f in faults if f is not None]})
    return Scenario.model_validate({**scenario.model_dump(), "recipe": recipe.model_dump()})


def _with_setpoint(phases: list[Phase], name: str, value: float, at_h: float) -> list[Phase]:
    """The phases with ``name`` held at ``value`` from ``at_h``: a phase of its own, or, when
    a phase starts at that very time, that phase with the setpoint overridden."""
    override = {name: value}
    if any(p.start_h == at_h for p in phases):
        return [
            p.model_copy(update={"setpoints": {**p.setpoints, **override}})
            if p.start_h == at_h
            else p
            for p in phases
        ]
    phase = Phase(name=f"{name} held at {value:g}", start_h=at_h, setpoints=override)
    return sorted([*phases, phase], key=lambda p: p.start_h)


def _end(fault: Fault, at_h: float) -> Fault | None:
    """The fault cut off at ``at_h`` (None if it had not started)."""
    if fault.onset_h >= at_h:
        return None
    end = at_h if fault.duration_h is None else min(at_h, fault.onset_h + fault.duration_h)
    return fault.model_copy(update={"duration_h": end - fault.onset_h})
