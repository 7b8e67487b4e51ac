"""Canonical variate analysis (CVA) for monitoring continuous, autocorrelated processes.

Russell, Chiang & Braatz (2000, Chemom. Intell. Lab. Syst. 51:81); Chiang, Russell & Braatz
(2001, *Fault Detection and Diagnosis in Industrial Systems*, ch. 7). With the autoscaled series
``y``, the past ``p_t = [y_t, ..., y_(t-l+1)]`` (this convention includes the newest sample, so a
fault shows at once) and the future ``f_t = [y_(t+1), ..., y_(t+l)]``: the SVD of
``Sff^(-1/2) Sfp Spp^(-1/2) = U S V'`` gives the canonical directions ``V``; the first ``r``
canonical variates of the past are the states ``x_t = V_r' Spp^(-1/2) p_t`` (unit variance), the
rest the residual variates ``d_t``. Statistics per sample:

- ``T2`` = |x_t|² (states), ``Tr`` = |d_t|² (residual canonical variates),
- ``Q`` = |p_t - Spp^(1/2) V_r x_t|², the part of the scaled past the states do not reproduce.

Limits (``limit``): ``"kde"`` (default) — the ``alpha`` quantile of a kernel density estimate of
each statistic on normal operation *out of fold*: the training series is cut into ``folds``
contiguous blocks and each block is scored by a model fitted without it, so the limit reflects
new data rather than the fitted data (in-sample statistics are too small, Odiowei & Cao 2010,
IEEE Trans. Ind. Inf. 6:36, use in-sample KDE); ``"f"`` — the F-distribution limits of Russell
et al. (2000) for ``T2`` and ``Tr``, and a moment-matched chi² (Nomikos & MacGregor 1995) of the
in-sample training ``Q``. Lags default to the AIC order of a vector autoregression
(``dynamic.choose_lags``); states to the AIC of the one-step prediction ``y_(t+1) ~ x_t``
(``n ln det(Sigma_e) + 2 r m``, after Larimore 1990, Proc. 29th IEEE CDC, 596).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring import limits
from pharmatwin.monitoring.dynamic import choose_lags, lag_matrix
from pharmatwin.monitoring.scaling import MonitoringInputError, Scaler, as_matrix

Statistic = Literal["T2", "Tr", "Q"]
LimitMethod = Literal["kde", "f"]
STATISTICS: tuple[Statistic, ...] = ("T2", "Tr", "Q")


def _whitener(s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``W`` with ``W S W' = I`` on the numerically non-null eigenspace, and its inverse map."""
    lam, e = np.linalg.eigh(s)
    keep = lam > 1e-10 * max(float(lam.max()), 1e-300)
    lam, e = lam[keep], e[:, keep]
    return (e / np.sqrt(lam)).T, e * np.sqrt(lam)


def past_future(z: FloatArray, lags: int) -> tuple[FloatArray, FloatArray]:
    """Past (rows t = l-1 .. n-l-1) and future blocks of the scaled series ``z``."""
    m = z.shape[1]
    stacked = lag_matrix(z, 2 * lags - 1)  # row: y_(t+l), ..., y_(t-l+1)
    future = stacked[:, : lags * m]
    future = future.reshape(-1, lags, m)[:, ::-1].reshape(-1, lags * m)  # y_(t+1) .. y_(t+l)
    return stacked[:, lags * m :], future


@dataclass(frozen=True)
class CVAStatistics:
    """Per input row; NaN for the first ``lags - 1`` rows."""

    t2: FloatArray
    tr: FloatArray
    q: FloatArray

    def get(self, name: Statistic) -> FloatArray:
        return {"T2": self.t2, "Tr": self.tr, "Q": self.q}[name]


@dataclass(frozen=True)
class _Core:
    whiten: FloatArray
    unwhiten: FloatArray
    directions: FloatArray
    correlations: FloatArray
    n: int


def _fit_core(pieces: list[FloatArray], lags: int) -> _Core:
    blocks = [past_future(z, lags) for z in pieces if z.shape[0] >= 2 * lags + 1]
    if not blocks:
        raise MonitoringInputError(f"x: too few rows for {lags} lags")
    past = np.vstack([b[0] for b in blocks])
    future = np.vstack([b[1] for b in blocks])
    n = past.shape[0]
    spp, sff, sfp = past.T @ past / (n - 1), future.T @ future / (n - 1), future.T @ past / (n - 1)
    wp, wp_inv = _whitener(spp)
    wf, _ = _whitener(sff)
    _, s, vt = np.linalg.svd(wf @ sfp @ wp.T, full_matrices=True)
    corr = np.zeros(vt.shape[0])
    corr[: s.size] = s
    return _Core(wp, wp_inv, vt.T, corr, n)


def _statistics(core: _Core, z: FloatArray, lags: int, r: int) -> CVAStatistics:
    past = lag_matrix(z, lags - 1)
    v = core.directions
    variates = past @ core.whiten.T @ v
    states = variates[:, :r]
    rest = variates[:, r:]
    recon = states @ (core.unwhiten @ v[:, :r]).T
    pad = np.full(lags - 1, np.nan)
    return CVAStatistics(
        np.concatenate([pad, (states * states).sum(axis=1)]),
        np.concatenate([pad, (rest * rest).sum(axis=1)]),
        np.concatenate([pad, ((past - recon) ** 2).sum(axis=1)]),
    )


def choose_states(z: FloatArray, lags: int, core: _Core | None = None) -> int:
    """State order with the smallest AIC of the one-step prediction ``y_(t+1)`` from ``x_t``."""
    core = core or _fit_core([z], lags)
    past, future = past_future(z, lags)
    m = z.shape[1]
    target = future[:, :m]
    variates = past @ core.whiten.T @ core.directions
    n = past.shape[0]
    # the variates are orthonormal on these rows (covariance I), so the regression on the first
    # r of them removes one rank-one term per state from the residual covariance
    cross = variates.T @ target / (n - 1)
    residual = target.T @ target / (n - 1)
    best, best_aic = 1, np.inf
    for r in range(1, min(variates.shape[1], n // 2) + 1):
        residual = residual - np.outer(cross[r - 1], cross[r - 1])
        sign, logdet = np.linalg.slogdet(residual)
        aic = n * logdet + 2 * r * m if sign > 0 else np.inf
        if aic < best_aic:
            best, best_aic = r, aic
    return best


@dataclass(frozen=True)
class CVAModel:
    """A fitted CVA monitor; methods take the raw series (rows = consecutive samples)."""

    scaler: Scaler
    lags: int
    n_states: int
    whiten: FloatArray
    """``Spp^(-1/2)`` restricted to the non-null eigenspace (q x m l)."""
    unwhiten: FloatArray
    """Its inverse map, ``Spp^(1/2)`` (m l x q)."""
    directions: FloatArray
    """Canonical directions ``V`` (q x q)."""
    correlations: FloatArray
    """Canonical correlations between past and future, descending."""
    n_train: int
    """Number of past/future pairs in the training data."""
    normal: dict[str, FloatArray]
    """Out-of-fold statistics of the normal training data, by statistic name."""
    training_q: FloatArray
    """In-sample Q of the training data (for the parametric Q limit)."""

    def statistics(self, x: FloatArray) -> CVAStatistics:
        a = as_matrix(x, allow_nan=False)
        core = _Core(self.whiten, self.unwhiten, self.directions, self.correlations, self.n_train)
        return _statistics(core, self.scaler.transform(a), self.lags, self.n_states)

    def t2(self, x: FloatArray) -> FloatArray:
        return self.statistics(x).t2

    def tr(self, x: FloatArray) -> FloatArray:
        return self.statistics(x).tr

    def q(self, x: FloatArray) -> FloatArray:
        return self.statistics(x).q

    def limit(
        self, statistic: Statistic, alpha: float = 0.99, method: LimitMethod = "kde"
    ) -> float:
        """Control limit of ``statistic`` (``T2``, ``Tr`` or ``Q``) at confidence ``alpha``."""
        if statistic not in STATISTICS:
            raise MonitoringInputError(f"statistic: {statistic!r} is not one of T2, Tr, Q")
        if method == "kde":
            return limits.kde_limit(self.normal[statistic], alpha)
        if method != "f":
            raise MonitoringInputError(f"method: {method!r} is not 'kde' or 'f'")
        limits.check_alpha(alpha)
        n, r, q = self.n_train, self.n_states, int(self.directions.shape[0])
        if statistic == "T2":
            return r * (n * n - 1) / (n * (n - r)) * float(stats.f.ppf(alpha, r, n - r))
        if statistic == "Tr":
            k = q - r
            return k * (n * n - 1) / (n * (n - k)) * float(stats.f.ppf(alpha, k, n - k))
        return limits.spe_limit_moments(self.training_q, alpha)


def fit_cva(
    x: FloatArray,
    lags: int | None = None,
    n_states: int | None = None,
    *,
    folds: int = 10,
) -> CVAModel:
    """Fit CVA to the complete, autoscaled series ``x`` (rows = consecutive samples)."""
    a = as_matrix(x, allow_nan=False)
    n = a.shape[0]
    if lags is None:
        lags = choose_lags(a)
    if isinstance(lags, bool) or not isinstance(lags, int | np.integer) or lags < 1:
        raise MonitoringInputError(f"lags: {lags!r} is not a positive integer")
    if not 2 <= folds <= n // (2 * lags + 1):
        raise MonitoringInputError(f"folds: {folds} blocks of {n} rows cannot hold {lags} lags")
    scaler = Scaler.fit(a)
    z = scaler.transform(a)
    core = _fit_core([z], lags)
    if n_states is None:
        n_states = choose_states(z, lags, core)
    q = core.directions.shape[0]
    if not 1 <= n_states < q:
        raise MonitoringInputError(f"n_states: {n_states} is not between 1 and {q - 1}")
    normal = _out_of_fold(a, lags, int(n_states), folds)
    in_sample = _statistics(core, z, lags, int(n_states)).q
    return CVAModel(
        scaler,
        int(lags),
        int(n_states),
        core.whiten,
        core.unwhiten,
        core.directions,
        core.correlations,
        core.n,
        normal,
        in_sample[np.isfinite(in_sample)],
    )


def _out_of_fold(a: FloatArray, lags: int, r: int, folds: int) -> dict[str, FloatArray]:
    """Each statistic on every block of ``a`` from a model fitted on the other blocks."""
    n = a.shape[0]
    edges = np.linspace(0, n, folds + 1).round().astype(int)
    found: dict[str, list[FloatArray]] = {name: [] for name in STATISTICS}
    for lo, hi in itertools.pairwise(edges):
        rest = np.concatenate([a[:lo], a[hi:]])
        scaler = Scaler.fit(rest)
        pieces = [scaler.transform(a[:lo]), scaler.transform(a[hi:])]
        core = _fit_core([p for p in pieces if p.shape[0]], lags)
        r_fold = min(r, core.directions.shape[0] - 1)
        held = _statistics(core, scaler.transform(a[lo:hi]), lags, r_fold)
        for name in STATISTICS:
            values = held.get(name)
            found[name].append(values[np.isfinite(values)])
    return {name: np.concatenate(parts) for name, parts in found.items()}
