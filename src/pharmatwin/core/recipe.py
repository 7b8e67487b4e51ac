"""Recipes as data: ISA-88-style phases with setpoints and ramps, feeds, sampling and harvest.

A recipe is a validated, frozen pydantic document (usually read from YAML). It says nothing about
a particular model until it is compiled against one (``pharmatwin.core.schedule.compile_recipe``),
which checks every name against the model's declarations.

Times are batch hours since the start of the batch.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class StrictData(BaseModel):
    """Base of every data document: frozen, and an unknown field is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Phase(StrictData):
    """One recipe phase: from ``start_h`` the inputs move to ``setpoints`` over ``ramp_h``."""

    name: str
    start_h: NonNegative
    setpoints: dict[str, float] = Field(default_factory=dict)
    ramp_h: NonNegative = 0.0


class Bolus(StrictData):
    """A shot addition of ``volume_L`` of a named medium at ``at_h``."""

    at_h: NonNegative
    medium: str
    volume_L: Positive


class ContinuousFeed(StrictData):
    """A pumped feed of a named medium at ``rate_L_per_h`` between ``start_h`` and ``end_h``."""

    medium: str
    start_h: NonNegative
    end_h: Positive
    rate_L_per_h: NonNegative

    @model_validator(mode="after")
    def _window(self) -> ContinuousFeed:
        if self.end_h <= self.start_h:
            raise ValueError(f"end_h {self.end_h} must be after start_h {self.start_h}")
        return self


class Sampling(StrictData):
    """At-line samples of ``volume_L`` every ``every_h`` from ``first_h`` until harvest."""

    first_h: NonNegative = 0.0
    every_h: float = Field(default=24.0, ge=0.25)
    volume_L: NonNegative = 0.0


class Recipe(StrictData):
    """A batch recipe: initial charge, phases, media and feeds, sampling, harvest time."""

    name: str
    description: str = ""
    initial_state: dict[str, float]
    media: dict[str, dict[str, NonNegative]] = Field(default_factory=dict)
    phases: list[Phase] = Field(min_length=1)
    boluses: list[Bolus] = Field(default_factory=list)
    feeds: list[ContinuousFeed] = Field(default_factory=list)
    sampling: Sampling | None = None
    harvest_h: float = Field(gt=0, le=24 * 365)

    @model_validator(mode="after")
    def _consistent(self) -> Recipe:
        _check_phase_order(self.phases)
        _check_harvest(self)
        known = set(self.media)
        for i, b in enumerate(self.boluses):
            _check_medium(b.medium, known, f"boluses.{i}.medium")
        for i, f in enumerate(self.feeds):
            _check_medium(f.medium, known, f"feeds.{i}.medium")
        return self

    def harvested_at(self, harvest_h: float) -> Recipe:
        """The same recipe harvested at ``harvest_h``: what would run after it is dropped
        (feeds end there at the latest, later boluses and phases go); when later, nothing is
        added (feeds still end when they were planned to)."""
        feeds = [
            f.model_copy(update={"end_h": min(f.end_h, harvest_h)})
            for f in self.feeds
            if f.start_h < harvest_h
        ]
        changes = {
            "harvest_h": harvest_h,
            "feeds": feeds,
            "boluses": [b for b in self.boluses if b.at_h < harvest_h],
            "phases": [p for p in self.phases if p.start_h == 0 or p.start_h < harvest_h],
        }
        return Recipe.model_validate({**self.model_dump(), **changes})

    def sample_times(self) -> list[float]:
        """Times of the at-line samples, before harvest."""
        if self.sampling is None:
            return []
        s = self.sampling
        count = int(np.floor((self.harvest_h - 1e-9 - s.first_h) / s.every_h)) + 1
        return [s.first_h + k * s.every_h for k in range(max(count, 0))]


def _check_phase_order(phases: list[Phase]) -> None:
    if phases[0].start_h != 0:
        raise ValueError(
            f"phases.0.start_h: the first phase must start at 0 h, not {phases[0].start_h}"
        )
    for i in range(1, len(phases)):
        prev, cur = phases[i - 1], phases[i]
        if cur.start_h <= prev.start_h:
            raise ValueError(
                f"phases.{i}.start_h: phases out of order: {cur.name!r} starts at {cur.start_h} h, "
                f"not after {prev.name!r} at {prev.start_h} h"
            )
        if prev.start_h + prev.ramp_h > cur.start_h:
            raise ValueError(
                f"phases.{i - 1}.ramp_h: the ramp of {prev.name!r} ends after the next phase starts"
            )


def _check_harvest(recipe: Recipe) -> None:
    last = recipe.phases[-1]
    if recipe.harvest_h <= last.start_h + last.ramp_h:
        raise ValueError(
            f"harvest_h: {recipe.harvest_h} h must come after the last phase's start and ramp "
            f"({last.start_h + last.ramp_h} h)"
        )
    for i, b in enumerate(recipe.boluses):
        if b.at_h >= recipe.harvest_h:
            raise ValueError(f"boluses.{i}.at_h: {b.at_h} h is not before harvest")
    for i, f in enumerate(recipe.feeds):
        if f.end_h > recipe.harvest_h:
            raise ValueError(
                f"feeds.{i}.end_h: {f.end_h} h is after harvest ({recipe.harvest_h} h)"
            )


def _check_medium(name: str, known: set[str], where: str) -> None:
    if name not in known:
        choices = ", ".join(sorted(known)) or "none declared"
        raise ValueError(f"{where}: unknown medium {name!r} (media: {choices})")
