"""Dynamic PCA: PCA of the data augmented with its own past (Ku, Storer & Georgakis 1995,
Chemom. Intell. Lab. Syst. 30:179), and the lag order of a time series by AIC.

Row ``t`` of the lagged matrix is ``[y_t, y_(t-1), ..., y_(t-l)]``; statistics are reported per
row of the input, NaN for the first ``l`` rows (no full past yet). The number of lags defaults to
the order of a vector autoregression of the scaled training data chosen by Akaike's information
criterion (Akaike 1974, IEEE Trans. Autom. Control 19:716), as Russell, Chiang & Braatz (2000)
did for DPCA and CVA on the Tennessee Eastman process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring.pca import PCAModel, SpeMethod, fit_pca
from pharmatwin.monitoring.scaling import (
    MonitoringInputError,
    Scaler,
    Scaling,
    as_matrix,
    require,
)


def lag_matrix(x: FloatArray, lags: int) -> FloatArray:
    """``(n - lags, m (lags + 1))``: row ``t`` holds ``y_(t+lags), y_(t+lags-1), ..., y_t``."""
    a = as_matrix(x)
    _check_lags(lags, a.shape[0])
    n = a.shape[0]
    return np.hstack([a[lags - i : n - i] for i in range(lags + 1)])


def _check_lags(lags: int, n: int) -> None:
    if isinstance(lags, bool) or not isinstance(lags, int | np.integer) or lags < 0:
        raise MonitoringInputError(f"lags: {lags!r} is not a non-negative integer")
    if lags >= n:
        raise MonitoringInputError(f"lags: {lags} needs more than {n} rows")


def var_aic(x: FloatArray, max_lags: int = 6) -> FloatArray:
    """AIC of vector autoregressions of order 1..``max_lags`` of autoscaled ``x`` (complete),
    all fitted on the same rows: ``n ln det(Sigma_e) + 2 p m²``."""
    a = as_matrix(x, allow_nan=False)
    z = Scaler.fit(a).transform(a)
    n, m = z.shape
    if n - max_lags <= max_lags * m:
        raise MonitoringInputError(
            f"max_lags: {max_lags} lags of {m} variables need more than {max_lags * m} rows"
        )
    lagged = lag_matrix(z, max_lags)
    target = lagged[:, :m]
    out = np.empty(max_lags)
    rows = target.shape[0]
    for p in range(1, max_lags + 1):
        past = lagged[:, m : m * (p + 1)]
        coef = np.linalg.solve(past.T @ past, past.T @ target)
        e = target - past @ coef
        sign, logdet = np.linalg.slogdet(e.T @ e / rows)
        out[p - 1] = rows * logdet + 2 * p * m * m if sign > 0 else np.inf
    return out


def choose_lags(x: FloatArray, max_lags: int = 6) -> int:
    """The autoregressive order (>= 1) with the smallest AIC, ``max_lags`` capped by the data."""
    a = as_matrix(x, allow_nan=False)
    n, m = a.shape
    top = max(1, min(max_lags, (n - 1) // (m + 1)))
    return int(np.argmin(var_aic(a, top))) + 1


@dataclass(frozen=True)
class DPCAModel:
    """PCA of lagged data; methods take the raw series (rows = consecutive times)."""

    pca: PCAModel
    lags: int
    n_vars: int
    """Variables of the raw series (the model has ``n_vars (lags + 1)``)."""

    def _aligned(self, values: FloatArray) -> FloatArray:
        pad = np.full((self.lags, *values.shape[1:]), np.nan)
        return np.concatenate([pad, values])

    def lagged(self, x: FloatArray) -> FloatArray:
        a = as_matrix(x)
        if a.shape[1] != self.n_vars:
            raise MonitoringInputError(f"x: {a.shape[1]} columns, the model has {self.n_vars}")
        return lag_matrix(a, self.lags)

    def t2(self, x: FloatArray) -> FloatArray:
        return self._aligned(self.pca.t2(self.lagged(x)))

    def spe(self, x: FloatArray) -> FloatArray:
        return self._aligned(self.pca.spe(self.lagged(x)))

    def t2_limit(self, alpha: float = 0.99) -> float:
        return self.pca.t2_limit(alpha)

    def spe_limit(self, alpha: float = 0.99, method: SpeMethod = "box") -> float:
        return self.pca.spe_limit(alpha, method)

    def t2_contributions(self, x: FloatArray) -> FloatArray:
        """(n, n_vars): each variable's contributions summed over its lags."""
        return self._fold(self.pca.t2_contributions(self.lagged(x)))

    def spe_contributions(self, x: FloatArray) -> FloatArray:
        return self._fold(self.pca.spe_contributions(self.lagged(x)))

    def _fold(self, c: FloatArray) -> FloatArray:
        per_lag = c.reshape(c.shape[0], self.lags + 1, self.n_vars)
        return self._aligned(per_lag.sum(axis=1))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "dpca", "lags": self.lags, "n_vars": self.n_vars, **self.pca.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DPCAModel:
        return cls(
            PCAModel.from_dict(data), require(data, "lags", int), require(data, "n_vars", int)
        )


def fit_dpca(
    x: FloatArray,
    lags: int | None = None,
    n_components: int | None = None,
    *,
    scaling: Scaling = "autoscale",
) -> DPCAModel:
    """Dynamic PCA of the series ``x``; ``None`` lags -> ``choose_lags``, ``None`` components ->
    cross-validated (``crossval.choose_components`` on the lagged matrix)."""
    a = as_matrix(x)
    if lags is None:
        lags = choose_lags(a)
    lagged = lag_matrix(a, lags)
    if n_components is None:
        from pharmatwin.monitoring.crossval import choose_components

        n_components = choose_components(lagged, max_components=lagged.shape[1] - 1)
    return DPCAModel(fit_pca(lagged, n_components, scaling=scaling), int(lags), a.shape[1])
