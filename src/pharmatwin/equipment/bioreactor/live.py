"""The virtual bioreactor as a live plant: readings come due as batch time passes.

The batch (realization 0) is run once up front; ``readings_between`` hands out what came due in a
window of batch time: online readings at their reading time, laboratory results when they become
available (an assay result carries its sample time and its availability time). An operator
action re-runs the batch from the scenario with the action carried out (``operator.py``); the
same scenario and seed give identical data, so nothing already handed out changes.

Times are batch hours since the start of the batch. Nothing here knows about a network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.actions import Action
from pharmatwin.core.schedule import Schedule, compile_recipe
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.operator import apply_action
from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.scenario import Scenario

HARVESTED = "harvested"
"""``phase_at`` after harvest."""


@dataclass(frozen=True)
class SetpointLimit:
    """A setpoint an operator may change, and the range accepted for it."""

    name: str
    unit: str
    low: float
    high: float
    description: str


SETPOINTS: dict[str, SetpointLimit] = {
    "T": SetpointLimit("T", "degC", 28.0, 39.0, "culture temperature"),
    "pH": SetpointLimit("pH", "pH", 6.6, 7.6, "culture pH"),
    "DO": SetpointLimit("DO", "%", 10.0, 100.0, "dissolved oxygen, % air saturation"),
}
"""Operator setpoints and their accepted ranges: the usual envelope of a CHO culture
(temperature shifts down to about 30 degC, pH 6.8-7.2 with margin, DO 20-60 % with margin)."""


class SetpointError(ValueError):
    """A setpoint change that cannot be carried out (name, value or time)."""


class SetpointRangeError(SetpointError):
    """A setpoint value outside the range accepted for it."""


@dataclass(frozen=True)
class Reading:
    """One value that came due.

    Attributes:
        tag, unit: historian tag and engineering unit.
        time_h: batch time the value is true at (a laboratory result: its sample time), h.
        available_h: batch time the value became known (online readings: ``time_h``), h.
        value: value in ``unit``.
    """

    tag: str
    unit: str
    time_h: float
    available_h: float
    value: float


@dataclass(frozen=True)
class _Batch:
    """Everything derived from one run of the current scenario (swapped in one assignment)."""

    scenario: Scenario
    schedule: Schedule
    grid: FloatArray
    online_t: FloatArray
    online: FloatArray  # (n, tags) of member 0
    online_tags: tuple[tuple[str, str], ...]
    lab: tuple[Reading, ...]  # sorted by availability
    lab_available: FloatArray
    actions: tuple[tuple[float, Action], ...]

    @property
    def end_h(self) -> float:
        last_online = float(self.online_t[-1]) if len(self.online_t) else 0.0
        last_lab = float(self.lab_available[-1]) if len(self.lab_available) else 0.0
        return max(last_online, last_lab, self.scenario.recipe.harvest_h)


class LivePlant:
    """One virtual-bioreactor batch handed out as it comes due (realization 0)."""

    def __init__(self, scenario: Scenario) -> None:
        self._model = ChoFedBatch()
        self._phases = tuple((p.start_h, p.name) for p in scenario.recipe.phases)
        self._batch = _run(scenario, ())

    @property
    def scenario(self) -> Scenario:
        """The scenario with every applied action carried out."""
        return self._batch.scenario

    @property
    def actions(self) -> list[tuple[float, Action]]:
        """Applied actions with the batch time each took effect, in the order applied."""
        return list(self._batch.actions)

    @property
    def harvest_h(self) -> float:
        """Harvest time of the batch, h."""
        return float(self._batch.scenario.recipe.harvest_h)

    @property
    def end_h(self) -> float:
        """When the last reading comes due (the harvest sample's slowest assay), h."""
        return self._batch.end_h

    @property
    def tags(self) -> list[tuple[str, str]]:
        """(tag, unit) of the online readings, then of the laboratory results."""
        lab: dict[str, str] = {}
        for r in self._batch.lab:
            lab.setdefault(r.tag, r.unit)
        return [*self._batch.online_tags, *lab.items()]

    def readings_between(self, t0_h: float, t1_h: float) -> list[Reading]:
        """Readings that came due in ``(t0_h, t1_h]``, in the order they came due.

        Online readings with ``t0 < time_h <= t1``; laboratory results with
        ``t0 < available_h <= t1``. The first reading is at 0 h: start with a negative ``t0_h``.
        """
        if math.isnan(t0_h) or math.isnan(t1_h) or t1_h < t0_h:
            raise ValueError(f"t1_h: must not be before t0_h, got ({t0_h}, {t1_h}]")
        b = self._batch
        i0, i1 = np.searchsorted(b.online_t, [t0_h, t1_h], side="right")
        out = [
            Reading(tag, unit, float(b.online_t[i]), float(b.online_t[i]), float(b.online[i, q]))
            for i in range(int(i0), int(i1))
            for q, (tag, unit) in enumerate(b.online_tags)
        ]
        j0, j1 = np.searchsorted(b.lab_available, [t0_h, t1_h], side="right")
        out.extend(b.lab[int(j0) : int(j1)])
        out.sort(key=lambda r: r.available_h)  # stable: ties keep the order above
        return out

    def setpoint(self, name: str, t_h: float) -> float:
        """The setpoint ``name`` (``T``, ``pH``, ``DO``) at batch time ``t_h``, as changed."""
        _limit(name)
        u = self._batch.schedule.inputs_at(t_h)
        return float(u[self._model.input_index(name)])

    def phase_at(self, t_h: float) -> str:
        """Name of the recipe phase running at ``t_h`` (``harvested`` from harvest on)."""
        if t_h >= self.harvest_h:
            return HARVESTED
        current = self._phases[0][1]
        for start, name in self._phases:
            if start <= t_h:
                current = name
        return current

    def effective_h(self, at_h: float) -> float:
        """When an action asked for at ``at_h`` takes effect: the first model coupling step at
        or after ``at_h`` (within ``coupling_h``), so that every reading up to ``at_h`` stays
        exactly as it was."""
        grid = self._batch.grid
        k = int(np.searchsorted(grid, at_h - 1e-9, side="left"))
        return float(grid[min(k, len(grid) - 1)])

    def check_setpoint(self, name: str, value: float, at_h: float) -> Action:
        """The setpoint change as an action, checked without running it.

        Raises ``SetpointRangeError`` for a value outside ``SETPOINTS``, ``SetpointError`` for
        an unknown name or a time the recipe cannot take a change at.
        """
        limit = _limit(name)
        if not (math.isfinite(value) and limit.low <= value <= limit.high):
            raise SetpointRangeError(
                f"{name}: {value:g} {limit.unit} is outside [{limit.low:g}, {limit.high:g}]"
            )
        action = Action(
            name=f"{name} setpoint {value:g}",
            kind="setpoint",
            description=f"hold the {limit.description} at {value:g} {limit.unit}",
            input=name,
            value=float(value),
        )
        self._planned(action, at_h)
        return action

    def set_setpoint(self, name: str, value: float, at_h: float) -> float:
        """Hold setpoint ``name`` at ``value`` from ``at_h``; returns when it took effect."""
        return self.apply(self.check_setpoint(name, value, at_h), at_h)

    def apply(self, action: Action, at_h: float) -> float:
        """Carry out ``action`` from ``at_h`` and re-run the batch (a few seconds); readings up
        to ``at_h`` are unchanged. Returns the batch time it took effect (``effective_h``)."""
        scenario, effective = self._planned(action, at_h)
        self._batch = _run(scenario, (*self._batch.actions, (effective, action)))
        return effective

    def _planned(self, action: Action, at_h: float) -> tuple[Scenario, float]:
        if not math.isfinite(at_h) or at_h < 0:
            raise SetpointError(f"at_h: must be a batch time >= 0 h, got {at_h}")
        if at_h >= self.harvest_h:
            raise SetpointError(
                f"at_h: {at_h:g} h is not before harvest ({self.harvest_h:g} h); the batch is over"
            )
        effective = self.effective_h(at_h)
        try:
            return apply_action(self._batch.scenario, action, effective), effective
        except ValueError as exc:  # e.g. a change inside a recipe ramp
            raise SetpointError(f"{action.name} at {effective:g} h: {_first_line(exc)}") from None


def _limit(name: str) -> SetpointLimit:
    if name not in SETPOINTS:
        raise SetpointError(f"setpoint {name!r}: unknown (known: {', '.join(SETPOINTS)})")
    return SETPOINTS[name]


def _first_line(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):  # a pydantic ValidationError
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc).splitlines()[0]


def _run(scenario: Scenario, actions: tuple[tuple[float, Action], ...]) -> _Batch:
    run = run_plant(scenario, members=1)
    lab = sorted(
        (
            Reading(r.tag, r.unit, r.sample_h, r.available_h, float(r.values[0]))
            for r in run.at_line
        ),
        key=lambda r: r.available_h,
    )
    return _Batch(
        scenario=scenario,
        schedule=compile_recipe(ChoFedBatch, scenario.recipe),
        grid=np.asarray(run.t, dtype=float),
        online_t=np.asarray(run.online_t, dtype=float),
        online=np.asarray(run.online[:, :, 0], dtype=float),
        online_tags=run.online_tags,
        lab=tuple(lab),
        lab_available=np.array([r.available_h for r in lab], dtype=float),
        actions=actions,
    )
