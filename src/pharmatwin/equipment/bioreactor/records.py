"""What a virtual-bioreactor run produced: truth, online sensor data and at-line results."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pharmatwin.core.model import Model
from pharmatwin.core.specs import Specification, SpecResult
from pharmatwin.core.types import FloatArray


@dataclass(frozen=True)
class AtLineResult:
    """One assay of one sample for every member.

    Attributes:
        tag, unit: historian tag and engineering unit.
        sample_h: batch time the sample was drawn, h.
        available_h: batch time the result became available, h.
        values: result of every member, ``(members,)``.
    """

    tag: str
    unit: str
    sample_h: float
    available_h: float
    values: FloatArray


@dataclass
class Totals:
    """Cumulative liquid movements of every member, L, each ``(members,)``."""

    feed: FloatArray
    base: FloatArray
    bolus: FloatArray
    samples: FloatArray


@dataclass
class PlantRun:
    """A virtual-bioreactor batch.

    Attributes:
        t: coupling times, batch hours, ``(n_t,)``.
        x: true states at ``t``, ``(n_t, members, n_states)``.
        y: true model outputs at ``t``, ``(n_t, members, n_outputs)``.
        broth: true fast states at ``t`` (``T``, ``pH``, ``DO``), each ``(n_t, members)``.
        p: true parameters, ``(members, n_parameters)``.
        online_t: online sample times, h, ``(n_s,)``.
        online: readings, ``(n_s, n_tags, members)``; tags and units in ``online_tags``.
        at_line: assay results in the order they were drawn.
    """

    model: Model
    t: FloatArray
    x: FloatArray
    y: FloatArray
    broth: dict[str, FloatArray]
    p: FloatArray
    online_t: FloatArray
    online: FloatArray
    online_tags: tuple[tuple[str, str], ...]
    at_line: list[AtLineResult] = field(default_factory=list)
    totals: Totals | None = None

    @property
    def members(self) -> int:
        return int(self.x.shape[1])

    def output(self, name: str) -> FloatArray:
        """A true output over time for every member: ``(n_t, members)``."""
        return self.y[:, :, self.model.output_index(name)]

    def state(self, name: str) -> FloatArray:
        return self.x[:, :, self.model.state_index(name)]

    def assess(self, specs: tuple[Specification, ...]) -> list[SpecResult]:
        """Each specification assessed on the true trajectory of every member."""
        return [s.evaluate(self.t, self.output(s.output)) for s in specs]

    def at_line_series(self, tag: str) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Sample times, availability times and values ``(n_samples, members)`` of one assay."""
        rows = [r for r in self.at_line if r.tag == tag]
        if not rows:
            raise KeyError(f"no at-line results for tag {tag!r}")
        return (
            np.array([r.sample_h for r in rows]),
            np.array([r.available_h for r in rows]),
            np.array([r.values for r in rows]),
        )
