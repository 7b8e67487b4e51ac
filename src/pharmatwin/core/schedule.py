"""A recipe compiled against a model: piecewise-linear inputs and timed discrete events.

Between two consecutive knots every input is linear in time, so the integrator can stop exactly at
every knot (phase start, ramp end, feed start or stop) and at every event (bolus, sample), and
never steps over a discontinuity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pharmatwin.core.model import Model
from pharmatwin.core.recipe import Recipe
from pharmatwin.core.types import FloatArray


def feed_input(component: str) -> str:
    """Name of the input carrying the concentration of ``component`` in the continuous feed."""
    return f"{component}_feed"


@dataclass(frozen=True)
class Event:
    """A discrete action at ``time_h``: a bolus (``volume_L`` > 0 of ``medium``) or a sample.

    ``medium`` holds, per state, the concentration of that state in the added liquid (zeros for a
    sample, which removes ``volume_L`` without changing concentrations).
    """

    time_h: float
    kind: Literal["bolus", "sample"]
    volume_L: float
    medium: FloatArray
    label: str = ""


@dataclass(frozen=True)
class Schedule:
    """Inputs ``u(t) = offset[k] + slope[k] * (t - knots[k])`` on ``[knots[k], knots[k+1])``."""

    knots: FloatArray
    offset: FloatArray
    slope: FloatArray
    events: tuple[Event, ...]

    @property
    def t_end(self) -> float:
        return float(self.knots[-1])

    def segment(self, t: float) -> int:
        """Index of the segment containing ``t`` (the last one at and after its end)."""
        k = int(np.searchsorted(self.knots, t, side="right")) - 1
        return min(max(k, 0), len(self.offset) - 1)

    def inputs_at(self, t: float) -> FloatArray:
        """Input vector ``(n_inputs,)`` at batch time ``t``."""
        k = self.segment(t)
        return np.asarray(self.offset[k] + self.slope[k] * (t - self.knots[k]), dtype=float)

    def stops(self, t_start: float = 0.0, t_end: float | None = None) -> FloatArray:
        """Every time the integrator must land on between ``t_start`` and ``t_end`` (both
        included): knots and event times, sorted, unique."""
        end = self.t_end if t_end is None else t_end
        times = np.concatenate([self.knots, [e.time_h for e in self.events], [t_start, end]])
        times = np.unique(times)
        return times[(times >= t_start) & (times <= end)]


def compile_recipe(model: type[Model] | Model, recipe: Recipe) -> Schedule:
    """Check ``recipe`` against ``model`` and compile it; ``ValueError`` names the bad field."""
    inputs = model.input_names()
    _check_setpoints(model, recipe)
    if recipe.feeds and model.feed_input is None:
        raise ValueError(f"feeds: {type(model).__name__} takes no continuous feed")
    continuous = {f.medium for f in recipe.feeds}
    media = _media_vectors(model, recipe.media, inputs, continuous)
    knots = _knots(recipe)
    mid = 0.5 * (knots[:-1] + knots[1:])
    start = np.array([_inputs_at(model, recipe, media, t) for t in knots[:-1]])
    middle = np.array([_inputs_at(model, recipe, media, t) for t in mid])
    slope = (middle - start) / (mid - knots[:-1])[:, None]
    events = _events(model, recipe, media)
    return Schedule(knots=knots, offset=start, slope=slope, events=events)


def _check_setpoints(model: type[Model] | Model, recipe: Recipe) -> None:
    inputs = model.input_names()
    fed = _feed_inputs(model)
    for i, phase in enumerate(recipe.phases):
        for name, value in phase.setpoints.items():
            where = f"phases.{i}.setpoints.{name}"
            if name not in inputs:
                raise ValueError(f"{where}: unknown input (known: {', '.join(inputs)})")
            if name in fed:
                raise ValueError(f"{where}: set by the recipe's feeds, not by a setpoint")
            declared = model.inputs[inputs.index(name)]
            if not declared.lower <= value <= declared.upper:
                raise ValueError(
                    f"{where}: {value:g} {declared.unit} is outside "
                    f"[{declared.lower:g}, {declared.upper:g}]"
                )


def _feed_inputs(model: type[Model] | Model) -> set[str]:
    """Inputs driven by the recipe's continuous feeds: the flow and feed compositions."""
    if model.feed_input is None:
        return set()
    names = set(model.input_names())
    return {model.feed_input} | {feed_input(s) for s in model.state_names()} & names


def _media_vectors(
    model: type[Model] | Model,
    media: Mapping[str, Mapping[str, float]],
    inputs: tuple[str, ...],
    continuous: set[str],
) -> dict[str, FloatArray]:
    states = model.state_names()
    out: dict[str, FloatArray] = {}
    for medium, composition in media.items():
        vec = np.zeros(len(states))
        for comp, conc in composition.items():
            if comp not in states or model.states[states.index(comp)].intensive is False:
                raise ValueError(f"media.{medium}.{comp}: not a concentration state of the model")
            if medium in continuous and feed_input(comp) not in inputs:
                raise ValueError(f"media.{medium}.{comp}: the model takes no {comp} in its feed")
            vec[states.index(comp)] = conc
        out[medium] = vec
    return out


def _knots(recipe: Recipe) -> FloatArray:
    times = {0.0, recipe.harvest_h}
    for p in recipe.phases:
        times.update({p.start_h, p.start_h + p.ramp_h})
    for f in recipe.feeds:
        times.update({f.start_h, f.end_h})
    return np.array(sorted(t for t in times if t <= recipe.harvest_h))


def _inputs_at(
    model: type[Model] | Model, recipe: Recipe, media: Mapping[str, FloatArray], t: float
) -> FloatArray:
    """Inputs at ``t`` evaluated from the recipe directly (used to build the pieces)."""
    names = model.input_names()
    u = model.default_inputs()
    previous: dict[str, float] = {}
    for phase in recipe.phases:
        if phase.start_h > t:
            break
        for name, target in phase.setpoints.items():
            j = names.index(name)
            before = previous.get(name, float(u[j]))
            if phase.ramp_h > 0 and t < phase.start_h + phase.ramp_h:
                frac = (t - phase.start_h) / phase.ramp_h
                u[j] = before + frac * (target - before)
            else:
                u[j] = target
            previous[name] = target
    _apply_feeds(model, recipe, media, t, u)
    return u


def _apply_feeds(
    model: type[Model] | Model,
    recipe: Recipe,
    media: Mapping[str, FloatArray],
    t: float,
    u: FloatArray,
) -> None:
    if not recipe.feeds:
        return
    names = model.input_names()
    states = model.state_names()
    rate = 0.0
    load = np.zeros(len(states))
    for f in recipe.feeds:
        if f.start_h <= t < f.end_h:
            rate += f.rate_L_per_h
            load += f.rate_L_per_h * media[f.medium]
    u[names.index(str(model.feed_input))] = rate
    for j, state in enumerate(states):
        name = feed_input(state)
        if name in names:
            u[names.index(name)] = load[j] / rate if rate > 0 else 0.0


def _events(
    model: type[Model] | Model, recipe: Recipe, media: Mapping[str, FloatArray]
) -> tuple[Event, ...]:
    n = len(model.states)
    events = [
        Event(b.at_h, "bolus", b.volume_L, media[b.medium], label=b.medium) for b in recipe.boluses
    ]
    volume = recipe.sampling.volume_L if recipe.sampling else 0.0
    events += [
        Event(t, "sample", volume, np.zeros(n), label="sample") for t in recipe.sample_times()
    ]
    return tuple(sorted(events, key=lambda e: e.time_h))


def apply_event(model: type[Model] | Model, x: FloatArray, event: Event) -> FloatArray:
    """State after ``event``: perfect mixing of a bolus, or withdrawal of a sample.

    ``x`` is ``(members, n_states)``; a new array is returned.
    """
    if model.volume_state is None:
        raise ValueError(f"{event.kind} at {event.time_h} h: the model has no volume state")
    iv = model.state_index(model.volume_state)
    volume = x[:, iv]
    out = x.copy()
    if event.kind == "sample":
        if np.any(event.volume_L >= volume):
            raise ValueError(f"sample at {event.time_h} h: volume {event.volume_L} L >= the liquid")
        out[:, iv] = volume - event.volume_L
        return out
    new_volume = volume + event.volume_L
    intensive = np.array([s.intensive for s in model.states])
    mixed = (x * volume[:, None] + event.medium[None, :] * event.volume_L) / new_volume[:, None]
    out[:, intensive] = mixed[:, intensive]
    out[:, iv] = new_volume
    return out


def with_measured(schedule: Schedule, edges: FloatArray, values: FloatArray) -> Schedule:
    """The schedule with inputs replaced by measured ones where given.

    ``edges`` are ``K + 1`` ascending times; ``values`` is ``(K, n_inputs)`` with the inputs held
    on each interval ``[edges[k], edges[k+1])``; NaN keeps the recipe's input. After
    ``edges[-1]`` the recipe applies unchanged (the future is the plan).
    """
    edges = np.asarray(edges, dtype=float)
    if len(edges) != len(values) + 1:
        raise ValueError("edges: need one more edge than rows of values")
    inside = edges[(edges >= 0.0) & (edges <= schedule.t_end)]
    knots = np.union1d(schedule.knots, inside)
    seg = np.clip(np.searchsorted(schedule.knots, knots[:-1], side="right") - 1, 0, None)
    offset = (
        schedule.offset[seg] + schedule.slope[seg] * (knots[:-1] - schedule.knots[seg])[:, None]
    )
    slope = schedule.slope[seg].copy()
    row = np.searchsorted(edges, knots[:-1], side="right") - 1
    measured = (row >= 0) & (row < len(values))
    replaced = values[row[measured]]
    given = np.isfinite(replaced)
    block_offset = offset[measured]
    block_slope = slope[measured]
    block_offset[given] = replaced[given]
    block_slope[given] = 0.0
    offset[measured] = block_offset
    slope[measured] = block_slope
    return Schedule(knots=knots, offset=offset, slope=slope, events=schedule.events)


def with_persisted(
    schedule: Schedule, from_h: float, offset: FloatArray, factor: FloatArray
) -> Schedule:
    """From ``from_h`` on, inputs become ``factor * plan + offset`` (per input).

    A forecast that assumes "conditions as they are now": the deviation of each measured input
    from the plan, seen lately, persists to the end of the batch. ``offset`` and ``factor`` are
    ``(n_inputs,)``; 0 and 1 leave an input on its plan.
    """
    if from_h >= schedule.t_end:
        return schedule
    knots = np.union1d(schedule.knots, [from_h])
    seg = np.clip(np.searchsorted(schedule.knots, knots[:-1], side="right") - 1, 0, None)
    start = schedule.offset[seg] + schedule.slope[seg] * (knots[:-1] - schedule.knots[seg])[:, None]
    slope = schedule.slope[seg].copy()
    future = knots[:-1] >= from_h
    start[future] = start[future] * factor + offset
    slope[future] = slope[future] * factor
    return Schedule(knots=knots, offset=start, slope=slope, events=schedule.events)


def with_bolus(schedule: Schedule, at_h: float, volume_L: float, medium: FloatArray) -> Schedule:
    """The schedule with one more bolus event."""
    event = Event(at_h, "bolus", volume_L, medium, label="action")
    events = tuple(sorted((*schedule.events, event), key=lambda e: e.time_h))
    return Schedule(schedule.knots, schedule.offset, schedule.slope, events)


def with_harvest(schedule: Schedule, harvest_h: float) -> Schedule:
    """The schedule ending at ``harvest_h`` instead (inputs held after the old end)."""
    if harvest_h <= schedule.knots[0]:
        raise ValueError(f"harvest: {harvest_h} h is not after the start")
    if harvest_h <= schedule.t_end:
        knots = np.append(schedule.knots[schedule.knots < harvest_h], harvest_h)
        n = len(knots) - 1
        offset, slope = schedule.offset[:n], schedule.slope[:n]
    else:  # extend: the inputs stay as they end
        end = schedule.offset[-1] + schedule.slope[-1] * (schedule.t_end - schedule.knots[-2])
        knots = np.append(schedule.knots, harvest_h)
        offset = np.vstack([schedule.offset, end])
        slope = np.vstack([schedule.slope, np.zeros_like(end)])
    events = tuple(e for e in schedule.events if e.time_h < harvest_h)
    return Schedule(knots, offset.copy(), slope.copy(), events)


def medium_vector(model: type[Model] | Model, recipe: Recipe, medium: str) -> FloatArray:
    """Concentration of every state in one of the recipe's media (zeros elsewhere)."""
    if medium not in recipe.media:
        raise ValueError(f"medium {medium!r}: not in the recipe (media: {', '.join(recipe.media)})")
    states = model.state_names()
    vec = np.zeros(len(states))
    for component, concentration in recipe.media[medium].items():
        vec[states.index(component)] = concentration
    return vec
