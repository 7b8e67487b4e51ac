"""Ensemble Kalman filter with joint state and parameter estimation.

The uncertain parameters ride in the ensemble (in logarithms, so they stay positive) next to the
states, and are corrected by the same update (state augmentation; Evensen 2009, Data
Assimilation, ch. 7). Observations are assimilated one at a time with perturbed observations
(Burgers, van Leeuwen & Evensen 1998, Mon. Weather Rev. 126:1719), which makes innovation gating
per value straightforward: a value further than ``gate`` standard deviations from the ensemble's
prediction is rejected and recorded with the reason. Missing values are skipped with a reason.
States and parameters are kept within their declared bounds.
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
class EnKFSettings:
    """Tuning of the filter.

    Attributes:
        gate: innovation gate, in standard deviations of the predicted innovation.
        parameter_inflation: multiplicative inflation of the parameter spread at each update
            (keeps the parameters learnable; 1 = none).
        min_parameter_cv: floor of each estimated parameter's ensemble spread (log sd).
    """

    gate: float = 4.0
    parameter_inflation: float = 1.02
    min_parameter_cv: float = 0.01


class EnsembleKalmanFilter:
    """Stochastic EnKF over states and the named parameters of ``model``."""

    def __init__(
        self,
        model: Model,
        estimated: Sequence[str],
        settings: EnKFSettings | None = None,
    ) -> None:
        self.model = model
        self.estimated = np.array([model.parameter_index(n) for n in estimated], dtype=np.intp)
        self.settings = settings or EnKFSettings()
        self.x_lower, self.x_upper = model.state_bounds()
        p_lower, p_upper = model.parameter_bounds()
        with np.errstate(divide="ignore"):
            self.logp_lower = np.log(np.maximum(p_lower[self.estimated], 1e-300))
            self.logp_upper = np.log(p_upper[self.estimated])

    def update(
        self,
        belief: Belief,
        u: FloatArray,
        measurements: Sequence[Measurement],
        rng: np.random.Generator,
    ) -> tuple[Belief, list[Verdict]]:
        """Assimilate ``measurements`` (all at ``belief.t``) with inputs ``u``.

        Returns the corrected belief and one verdict per measurement.
        """
        n = len(self.model.states)
        z = np.concatenate([belief.x, np.log(belief.p[:, self.estimated])], axis=1)
        p = belief.p.copy()
        verdicts: list[Verdict] = []
        for m in measurements:
            if m.is_missing:
                verdicts.append(Verdict(m, False, "missing value"))
                continue
            j = self.model.output_index(m.output)
            p[:, self.estimated] = np.exp(z[:, n:])
            predicted = self.model.measure(z[:, :n], u, p)[:, j]
            spread = float(np.var(predicted, ddof=1))
            innovation = (m.value - float(predicted.mean())) / np.sqrt(spread + m.sd**2)
            if abs(innovation) > self.settings.gate:
                reason = f"outlier: {innovation:+.1f} sd from the twin's prediction"
                verdicts.append(Verdict(m, False, reason, float(innovation)))
                continue
            z = self._assimilate(z, predicted, m, rng)
            verdicts.append(Verdict(m, True, "", float(innovation)))
        x = np.clip(z[:, :n], self.x_lower, self.x_upper)
        p[:, self.estimated] = np.exp(np.clip(z[:, n:], self.logp_lower, self.logp_upper))
        return belief.with_(x=x, p=p), verdicts

    def innovations(
        self, belief: Belief, u: FloatArray, measurements: Sequence[Measurement]
    ) -> FloatArray:
        """Standardized innovation of each measurement against ``belief`` (NaN if missing)."""
        y = self.model.measure(belief.x, u, belief.p)
        out = np.full(len(measurements), np.nan)
        for k, m in enumerate(measurements):
            if m.is_missing:
                continue
            predicted = y[:, self.model.output_index(m.output)]
            spread = float(np.var(predicted, ddof=1))
            out[k] = (m.value - float(predicted.mean())) / np.sqrt(spread + m.sd**2)
        return out

    def widen(self, belief: Belief, factor: float) -> Belief:
        """Spread the concentrations wider (see :func:`widen_states`)."""
        return belief.with_(x=widen_states(self.model, belief.x, belief.weights, factor))

    def inflate(self, belief: Belief) -> Belief:
        """Widen the estimated parameters' spread by ``parameter_inflation`` (once per
        assimilation time, not per measurement), keeping it above ``min_parameter_cv``."""
        n = len(self.model.states)
        z = np.concatenate([belief.x, np.log(belief.p[:, self.estimated])], axis=1)
        p = belief.p.copy()
        p[:, self.estimated] = np.exp(
            np.clip(self._inflate(z, n)[:, n:], self.logp_lower, self.logp_upper)
        )
        return belief.with_(p=p)

    def _inflate(self, z: FloatArray, n: int) -> FloatArray:
        logp = z[:, n:]
        mean = logp.mean(axis=0)
        spread = logp - mean
        sd = spread.std(axis=0, ddof=1)
        floor = np.where(
            sd > 0, np.maximum(1.0, self.settings.min_parameter_cv / np.maximum(sd, 1e-300)), 1.0
        )
        z = z.copy()
        z[:, n:] = mean + spread * self.settings.parameter_inflation * floor
        return z

    @staticmethod
    def _assimilate(
        z: FloatArray, predicted: FloatArray, m: Measurement, rng: np.random.Generator
    ) -> FloatArray:
        """One scalar observation: z_i += K (y + e_i - h_i), K = cov(z, h) / (var h + R)."""
        h_dev = predicted - predicted.mean()
        z_dev = z - z.mean(axis=0)
        members = z.shape[0]
        cov_zh = z_dev.T @ h_dev / (members - 1)
        var_h = float(h_dev @ h_dev) / (members - 1)
        gain = cov_zh / (var_h + m.sd**2)
        perturbed = m.value + m.sd * rng.standard_normal(members)
        return np.asarray(z + np.outer(perturbed - predicted, gain), dtype=float)
