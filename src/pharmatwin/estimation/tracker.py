"""Keeping a belief in step with data that arrives at several rates, some of it late.

The tracker advances the belief with a propagator, and assimilates measurements at the time they
describe (the sample's time), not the time they arrive. It keeps a snapshot of the belief after
every assimilation over a window of ``history_h`` hours; a laboratory result that arrives after
later data has been used rolls the belief back to the last snapshot before its sample time and
re-assimilates everything known since, in time order. Each measurement's random perturbation is
drawn from a generator seeded by the measurement itself (its time, tag and output), so replaying
the same data always gives the same belief, and a late result gives the belief it would have
given on time.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from pharmatwin.core.belief import Belief
from pharmatwin.core.types import FloatArray
from pharmatwin.estimation.measurements import Measurement, Verdict

Propagator = Callable[[Belief, float], Belief]
"""``(belief, t1) -> belief at t1``: runs the model with the inputs the plant actually had."""

InputsAt = Callable[[float], FloatArray]
"""Inputs ``(n_inputs,)`` at a batch time, for the measurement function."""


class Estimator(Protocol):
    """What the tracker needs from an estimator (EnKF or particle filter)."""

    def update(
        self,
        belief: Belief,
        u: FloatArray,
        measurements: Sequence[Measurement],
        rng: np.random.Generator,
    ) -> tuple[Belief, list[Verdict]]: ...


class _Gated(Protocol):
    gate: float


@runtime_checkable
class Accommodating(Protocol):
    """An estimator that can tell a process change from outliers and widen its ensemble."""

    settings: _Gated

    def innovations(
        self, belief: Belief, u: FloatArray, measurements: Sequence[Measurement]
    ) -> FloatArray: ...

    def widen(self, belief: Belief, factor: float) -> Belief: ...


@dataclass
class Tracker:
    """A belief kept in step with arriving measurements.

    Attributes:
        estimator: the update rule.
        propagate: advances a belief in time.
        inputs_at: inputs at a time (for the measurement function).
        belief: the current belief.
        seed: base of the per-measurement random streams.
        history_h: how far back a late result may reach, h.
    """

    estimator: Estimator
    propagate: Propagator
    inputs_at: InputsAt
    belief: Belief
    seed: int = 0
    history_h: float = 48.0
    snapshots: list[Belief] = field(default_factory=list)
    _last_outlier: dict[str, float] = field(default_factory=dict)
    used: list[Measurement] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.snapshots = [self.belief]

    def assimilate(self, now: float, arrived: Sequence[Measurement]) -> Belief:
        """Use the measurements that became known by ``now``, then advance to ``now``."""
        fresh = [m for m in arrived if m.known_at <= now + 1e-9]
        earliest = min((m.time_h for m in fresh), default=now)
        oldest = self.snapshots[0].t
        late = [m for m in fresh if m.time_h < oldest - 1e-9]
        for m in late:
            self.verdicts.append(
                Verdict(m, False, f"arrived too late ({m.known_at - m.time_h:.1f} h)")
            )
        fresh = [m for m in fresh if m.time_h >= oldest - 1e-9]
        start = self._rollback(earliest) if earliest < self.belief.t else self.belief
        redo = [m for m in self.used if m.time_h > start.t]  # the snapshot holds the rest
        pending = sorted(redo + fresh, key=_order)
        self.used = [m for m in self.used if m.time_h <= start.t] + pending
        belief = start
        for t in sorted({m.time_h for m in pending}):
            group = [m for m in pending if m.time_h == t]
            if t > belief.t:
                belief = self.propagate(belief, t)
            belief, verdicts = self._update(belief, group)
            self.verdicts = [v for v in self.verdicts if v.measurement not in group] + verdicts
            self.snapshots.append(belief)
        if now > belief.t:
            belief = self.propagate(belief, now)
        self.belief = belief
        self._forget(now)
        return belief

    def _rollback(self, t: float) -> Belief:
        """The last snapshot strictly before ``t`` (later ones are dropped)."""
        keep = [s for s in self.snapshots if s.t < t - 1e-9]
        if not keep:
            keep = self.snapshots[:1]
        self.snapshots = keep
        return keep[-1]

    def _update(self, belief: Belief, group: list[Measurement]) -> tuple[Belief, list[Verdict]]:
        u = np.tile(self.inputs_at(belief.t), (belief.members, 1))
        inflate = getattr(self.estimator, "inflate", None)
        if inflate is not None:
            belief = inflate(belief)  # once per assimilation time
        belief, note = self._accommodate(belief, u, group)
        verdicts: list[Verdict] = []
        for m in group:
            belief, result = self.estimator.update(belief, u, [m], self._rng(m))
            verdicts += [
                Verdict(x.measurement, x.used, note if x.used else x.reason, x.innovation_sd)
                for x in result
            ]
        for verdict in verdicts:
            output = verdict.measurement.output
            if not verdict.used and verdict.reason.startswith("outlier"):
                self._last_outlier[output] = float(np.sign(verdict.innovation_sd))
            elif verdict.used:
                self._last_outlier.pop(output, None)
        return belief, verdicts

    def _accommodate(
        self, belief: Belief, u: FloatArray, group: list[Measurement]
    ) -> tuple[Belief, str]:
        """Several values far off together, or one far off again in the same direction, are a
        process change rather than outliers: widen the ensemble so the update can follow."""
        if not isinstance(self.estimator, Accommodating):
            return belief, ""
        z = self.estimator.innovations(belief, u, group)
        gate = self.estimator.settings.gate
        far = np.abs(np.nan_to_num(z)) > gate
        repeated = [
            far[k] and self._last_outlier.get(m.output) == np.sign(z[k])
            for k, m in enumerate(group)
        ]
        if far.sum() < 2 and not any(repeated):
            return belief, ""
        factor = float(np.nanmax(np.abs(z[far])) / (0.5 * gate))
        names = ", ".join(m.output for m, f in zip(group, far, strict=True) if f)
        note = f"process change accepted ({names} corroborated); ensemble widened"
        return self.estimator.widen(belief, factor), note

    def _rng(self, m: Measurement) -> np.random.Generator:
        key = zlib.crc32(f"{m.tag}|{m.output}".encode())
        return np.random.default_rng([self.seed, round(m.time_h * 3600), key])

    def _forget(self, now: float) -> None:
        horizon = now - self.history_h
        while len(self.snapshots) > 1 and self.snapshots[1].t <= horizon:
            self.snapshots.pop(0)


def _order(m: Measurement) -> tuple[float, str, str]:
    return (m.time_h, m.tag, m.output)
