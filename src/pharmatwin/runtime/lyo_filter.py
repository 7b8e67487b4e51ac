"""Which parameters each kind of measurement may correct: two ensemble Kalman filters, chosen
by the measured output.

A thermocouple's temperature cannot tell the vial's Kv from its Rp — both warm the product
alike (about 7.5 °C per unit log, on the reference cycle) — so temperatures update the dried
cake, Rp (R0, A1 and each thermocouple vial's own factor) and the edge factor, and leave Kv at
what the twin knew before the cycle. A thermocouple vial's end of drying depends on Kv above all
(d log t / d log Kv ≈ −0.75) and corrects every uncertain parameter. Both are the estimation
layer's unchanged ``EnsembleKalmanFilter``; this class only routes measurements to them (a form
of localization: the filter does not let a value correct what it carries no information on,
which with a finite ensemble would otherwise drift by sampling noise; Houtekamer & Mitchell
1998, Mon. Weather Rev. 126:796).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pharmatwin.core.belief import Belief
from pharmatwin.core.model import Model
from pharmatwin.core.types import FloatArray
from pharmatwin.estimation.enkf import EnKFSettings, EnsembleKalmanFilter
from pharmatwin.estimation.measurements import Measurement, Verdict


class RoutedFilter:
    """Two filters over the same belief: ``temperature`` for outputs ``T_*``, ``dryness`` for
    the rest (dried fractions)."""

    def __init__(
        self,
        model: Model,
        temperature: Sequence[str],
        dryness: Sequence[str],
        settings: EnKFSettings,
    ) -> None:
        self.temperature = EnsembleKalmanFilter(model, temperature, settings)
        self.dryness = EnsembleKalmanFilter(model, dryness, settings)
        self.settings = settings

    def _for(self, m: Measurement) -> EnsembleKalmanFilter:
        return self.temperature if m.output.startswith("T_") else self.dryness

    def update(
        self,
        belief: Belief,
        u: FloatArray,
        measurements: Sequence[Measurement],
        rng: np.random.Generator,
    ) -> tuple[Belief, list[Verdict]]:
        verdicts: list[Verdict] = []
        for m in measurements:
            belief, v = self._for(m).update(belief, u, [m], rng)
            verdicts += v
        return belief, verdicts

    def innovations(
        self, belief: Belief, u: FloatArray, measurements: Sequence[Measurement]
    ) -> FloatArray:
        return self.temperature.innovations(belief, u, measurements)

    def widen(self, belief: Belief, factor: float) -> Belief:
        return self.temperature.widen(belief, factor)

    def inflate(self, belief: Belief) -> Belief:
        return self.dryness.inflate(belief)
