"""Particle filter behind the same interface as the ensemble Kalman filter.

Each measurement reweights the members by its Gaussian likelihood (Gordon, Salmond & Smith 1993,
IEE Proc. F 140:107); when the effective sample size falls below ``resample_below`` of the
members, they are resampled systematically (Kitagawa 1996) and the uncertain parameters are
moved by the kernel shrinkage of Liu & West (2001, in Sequential Monte Carlo Methods in Practice,
ch. 10), which keeps their spread from collapsing onto a few values. Gating, missing values and
bounds are handled as in the EnKF, so both filters can be compared on the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.belief import Belief
from pharmatwin.core.model import Model
from pharmatwin.core.types import FloatArray
from pharmatwin.estimation.measurements import Measurement, Verdict
from pharmatwin.estimation.widen import widen_states


@dataclass(frozen=True)
class ParticleSettings:
    """Tuning of the particle filter.

    Attributes:
        gate: innovation gate in standard deviations (as for the EnKF).
        resample_below: resample when the effective sample size falls below this share.
        discount: Liu-West discount factor delta (0.95-0.99);
            shrinkage a = (3 delta - 1) / (2 delta).
        state_jitter: relative noise added to the states of resampled members.
        model_error_cv: relative error of the model itself, added in quadrature to each
            measurement's error in the likelihood. The twin's model is not the plant (parameters
            it does not estimate differ too); without this allowance the weights collapse onto
            a few members and the forecasts are overconfident. On 12 nominal batches of the
            validation study 0.05 raised the coverage of the 90 % titre interval from 31 % to
            58 % and cut the day-7 error from 7.7 % to 6.3 %; 0.10 widened no further (61 %)
            and doubled the late-batch error.
    """

    gate: float = 4.0
    resample_below: float = 0.5
    discount: float = 0.98
    state_jitter: float = 0.01
    model_error_cv: float = 0.05


class ParticleFilter:
    """Sequential importance resampling over states and the named parameters of ``model``."""

    def __init__(
        self, model: Model, estimated: Sequence[str], settings: ParticleSettings | None = None
    ) -> None:
        self.model = model
        self.estimated = np.array([model.parameter_index(n) for n in estimated], dtype=np.intp)
        self.settings = settings or ParticleSettings()
        self.x_lower, self.x_upper = model.state_bounds()
        self.p_lower, self.p_upper = model.parameter_bounds()

    def update(
        self,
        belief: Belief,
        u: FloatArray,
        measurements: Sequence[Measurement],
        rng: np.random.Generator,
    ) -> tuple[Belief, list[Verdict]]:
        """Reweight by ``measurements`` (all at ``belief.t``); resample when degenerate."""
        y = self.model.measure(belief.x, u, belief.p)
        log_w = np.log(np.maximum(belief.weights, 1e-300))
        verdicts: list[Verdict] = []
        for m in measurements:
            if m.is_missing:
                verdicts.append(Verdict(m, False, "missing value"))
                continue
            predicted = y[:, self.model.output_index(m.output)]
            sd = self._sd(m)
            z = _innovation(m.value, sd, predicted, belief.weights)
            if abs(z) > self.settings.gate:
                verdicts.append(
                    Verdict(m, False, f"outlier: {z:+.1f} sd from the twin's prediction", z)
                )
                continue
            log_w = log_w - 0.5 * ((m.value - predicted) / sd) ** 2
            verdicts.append(Verdict(m, True, "", z))
        weights = np.exp(log_w - log_w.max())
        weights /= weights.sum()
        belief = belief.with_(weights=weights)
        if 1.0 / float(np.sum(weights**2)) < self.settings.resample_below * belief.members:
            belief = self._resample(belief, rng)
        return belief, verdicts

    def innovations(
        self, belief: Belief, u: FloatArray, measurements: Sequence[Measurement]
    ) -> FloatArray:
        """Standardized innovation of each measurement against ``belief`` (NaN if missing)."""
        y = self.model.measure(belief.x, u, belief.p)
        return np.array(
            [
                np.nan
                if m.is_missing
                else _innovation(
                    m.value, self._sd(m), y[:, self.model.output_index(m.output)], belief.weights
                )
                for m in measurements
            ]
        )

    def _sd(self, m: Measurement) -> float:
        """Error of a measurement against the model: its own and the model's."""
        return float(np.hypot(m.sd, self.settings.model_error_cv * abs(m.value)))

    def widen(self, belief: Belief, factor: float) -> Belief:
        """Spread the states ``factor`` times wider around their weighted mean."""
        return belief.with_(x=widen_states(self.model, belief.x, belief.weights, factor))

    def _resample(self, belief: Belief, rng: np.random.Generator) -> Belief:
        n = belief.members
        positions = (rng.random() + np.arange(n)) / n
        index = np.minimum(np.searchsorted(np.cumsum(belief.weights), positions), n - 1)
        x = belief.x[index] * np.exp(
            self.settings.state_jitter * rng.standard_normal(belief.x.shape)
        )
        p = belief.p[index].copy()
        # kernel moments from the resampled, equally weighted particles: with one dominant
        # weight the weighted covariance would divide by zero
        logp = np.log(np.maximum(belief.p[index][:, self.estimated], 1e-300))
        mean = logp.mean(axis=0)
        cov = np.atleast_2d(np.cov(logp.T)) if n > 1 else np.zeros((len(mean), len(mean)))
        delta = self.settings.discount
        a = (3 * delta - 1) / (2 * delta)
        h2 = 1 - a**2
        values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        noise = rng.standard_normal((n, len(mean))) @ root.T * np.sqrt(h2)
        p[:, self.estimated] = np.exp(a * logp + (1 - a) * mean + noise)
        p = np.clip(p, self.p_lower, self.p_upper)
        x = np.clip(x, self.x_lower, self.x_upper)
        return belief.with_(x=x, p=p, weights=np.full(n, 1.0 / n))


def _innovation(value: float, sd: float, predicted: FloatArray, weights: FloatArray) -> float:
    mean = float(weights @ predicted)
    variance = float(weights @ (predicted - mean) ** 2)
    return (value - mean) / float(np.sqrt(variance + sd**2))
