"""Belief: what a twin thinks the process is, as a weighted ensemble at one time.

The estimator's output type is the forecaster's input type. Members carry states and their own
parameter vectors (the uncertain ones vary across members, the others are copies), and weights
that sum to one (equal for an ensemble Kalman filter, unequal for a particle filter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from pharmatwin.core.model import Model
from pharmatwin.core.types import FloatArray


@dataclass(frozen=True)
class Belief:
    """An ensemble at batch time ``t`` (h).

    Attributes:
        t: batch time, h.
        x: states, ``(members, n_states)``.
        p: parameters, ``(members, n_parameters)``.
        weights: ``(members,)``, non-negative, summing to one.
    """

    t: float
    x: FloatArray
    p: FloatArray
    weights: FloatArray = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        members = self.x.shape[0]
        if self.p.shape[0] != members:
            raise ValueError(f"p: {self.p.shape[0]} members do not match x's {members}")
        if self.weights.size == 0:
            object.__setattr__(self, "weights", np.full(members, 1.0 / members))
        elif self.weights.shape != (members,) or not np.isclose(self.weights.sum(), 1.0):
            raise ValueError("weights: one non-negative weight per member, summing to one")

    @property
    def members(self) -> int:
        return int(self.x.shape[0])

    def with_(self, **changes: object) -> Belief:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def mean_state(self) -> FloatArray:
        return np.asarray(self.weights @ self.x, dtype=float)

    def quantiles(self, values: FloatArray, q: Sequence[float]) -> FloatArray:
        """Weighted quantiles of ``values`` (``(members,)`` or ``(members, k)``) at ``q``."""
        return weighted_quantiles(values, self.weights, q)


def weighted_quantiles(values: FloatArray, weights: FloatArray, q: Sequence[float]) -> FloatArray:
    """Quantiles ``q`` of weighted samples along the first axis: ``(len(q), *values.shape[1:])``.

    Each sample stands at the middle of its cumulative weight (the Hazen definition, so that
    equal weights give the usual sample quantiles).
    """
    v = np.asarray(values, dtype=float)
    flat = v.reshape(v.shape[0], -1)
    order = np.argsort(flat, axis=0)
    ordered = np.take_along_axis(flat, order, axis=0)
    w = np.asarray(weights, dtype=float)[order]
    position = (np.cumsum(w, axis=0) - 0.5 * w) / w.sum(axis=0)
    levels = np.asarray(q, dtype=float)
    out = np.empty((len(levels), flat.shape[1]))
    n = flat.shape[0]
    if n == 1:
        return np.repeat(flat, len(levels), axis=0).reshape(len(levels), *v.shape[1:])
    columns = np.arange(flat.shape[1])
    for i, level in enumerate(levels):
        above = np.clip(np.sum(position < level, axis=0), 1, n - 1)
        below = above - 1
        left, right = position[below, columns], position[above, columns]
        span = right - left
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(span > 0, (level - left) / span, 1.0)
        frac = np.clip(frac, 0.0, 1.0)
        out[i] = ordered[below, columns] + frac * (
            ordered[above, columns] - ordered[below, columns]
        )
    return out.reshape(len(q), *v.shape[1:])


def prior(
    model: Model,
    initial_state: Mapping[str, float],
    members: int,
    rng: np.random.Generator,
    *,
    state_cv: float = 0.05,
    parameter_spread: float = 1.0,
    nominal: FloatArray | None = None,
) -> Belief:
    """An initial belief: states around ``initial_state`` (lognormal, ``state_cv``) and
    parameters around ``nominal`` (default: the literature values), each spread by its declared
    prior CV times ``parameter_spread``, clipped to the declared bounds."""
    x = model.state_vector(initial_state, members)
    x = x * np.exp(state_cv * rng.standard_normal(x.shape))
    base = model.default_parameters(members) if nominal is None else np.tile(nominal, (members, 1))
    cv = np.array([q.cv for q in model.parameters])
    p = base * np.exp(parameter_spread * cv * rng.standard_normal(base.shape))
    lower, upper = model.parameter_bounds()
    return Belief(t=0.0, x=x, p=np.clip(p, lower, upper))
