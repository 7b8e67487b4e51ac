"""Batch evolution and batch level models (multivariate batch monitoring).

Batch evolution model (BEM; Wold, Kettaneh, Fridén & Holmberg 1998, Chemom. Intell. Lab. Syst.
44:331): the batches are unfolded observation-wise (one row per batch and maturity bin, one
column per variable, autoscaled) and a PLS model of the variables against maturity is fitted on
good batches. Its scores trace, bin by bin, the normal trajectory; the control limits are per
bin. Each new observation is compared with the good batches' mean at its bin (``dz``, scaled):

* scores: the mean score trajectory +/- a number of standard deviations (``score_sd``);
* T²: Hotelling's statistic of the score deviation ``d = W*' dz`` with the score covariance of
  that bin, F limit for a new observation (Tracy, Young & Mason 1992, J. Qual. Technol. 24:88);
* the residual statistic (``residuals``), on ``r = (I - P W*') dz``, the residual of the
  deviation (centring the residuals per bin, as the scores are, keeps a fault that moves a
  residual towards zero from hiding in the model's lack of fit):
  ``hawkins`` (default): Hawkins' T²_H, the Mahalanobis distance of r with the residual
  covariance of that bin (Hawkins 1974, Technometrics 16:109), F limit with ``n_vars - a``
  degrees of freedom; ``spe``: the squared prediction error ``r'r`` with a ``g chi2(h)`` limit
  fitted to the moments of the good batches' SPE at the bin (Nomikos & MacGregor 1995,
  Technometrics 37:41; Box 1954). T²_H weighs each residual direction by its normal spread, so
  a few variables that vary a lot between good batches do not drown a shift in a quiet one.

Covariances and SPE moments are pooled over a window of neighbouring bins (``window``); the
training SPE is inflated by ``(n / (n - 1))²`` (the deviation of a batch from the mean of the
*other* batches) so that its limit holds for new batches. ``precision`` adds each variable's
smallest meaningful deviation as independent noise to both covariances: a variable held by a
tight control loop varies far less between good batches than its probe can vouch for.

Contributions at one bin: the complete decomposition ``c_j = dz_j (M dz)_j`` of the statistic
``dz' M dz`` (sums to the statistic; for T² the contribution of Westerhuis, Gurden & Smilde
2000, Chemom. Intell. Lab. Syst. 51:95, summed over components; Alcala & Qin 2009, Automatica
45:1593); ``BatchStatistics.relative`` divides each by the good batches' mean absolute
contribution at that bin, so that a variable that always scatters is not blamed for every alarm.

Batch level model (BLM; Nomikos & MacGregor 1995, Technometrics 37:41, multiway PLS): each
batch is one row of the batch-wise unfolded data (bin x variable columns, each autoscaled,
which centres every variable on its mean trajectory) and PLS predicts the end-of-batch quality.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from pharmatwin.core.types import BoolArray, FloatArray, IndexArray
from pharmatwin.monitoring.limits import check_alpha
from pharmatwin.monitoring.pls import PLSModel, fit_pls
from pharmatwin.monitoring.scaling import MonitoringInputError, Scaler

Residuals = Literal["hawkins", "spe"]
Statistic = Literal["t2", "spe"]


def _check_batches(batches: FloatArray, name: str = "batches") -> FloatArray:
    x = np.asarray(batches, dtype=float)
    if x.ndim != 3:
        raise MonitoringInputError(f"{name}: expected (batches, bins, variables), got {x.shape}")
    if np.isinf(x).any():
        raise MonitoringInputError(f"{name}: infinite values")
    return x


def window_sum(values: FloatArray, half: int) -> FloatArray:
    """Sum over bins ``k - half .. k + half`` (clipped at the ends) along axis 0."""
    c = np.cumsum(np.concatenate([np.zeros((1, *values.shape[1:])), values]), axis=0)
    g = values.shape[0]
    k = np.arange(g)
    return np.asarray(c[np.minimum(k + half + 1, g)] - c[np.maximum(k - half, 0)], dtype=float)


def chi2_limit(mean: FloatArray, var: FloatArray, alpha: float) -> FloatArray:
    """``g chi2_alpha(h)`` with ``g = v / 2m`` and ``h = 2m² / v`` per element (Box 1954;
    Nomikos & MacGregor 1995); the mean itself where there is no spread."""
    m = np.asarray(mean, dtype=float)
    v = np.asarray(var, dtype=float)
    ok = (m > 0) & (v > 0)
    g = np.where(ok, v / np.where(ok, 2 * m, 1.0), 1.0)
    h = np.where(ok, 2 * m * m / np.where(ok, v, 1.0), 1.0)
    return np.asarray(np.where(ok, g * stats.chi2.ppf(alpha, h), m), dtype=float)


CONTRIBUTION_WINDOW = 3
"""Half-width (bins) over which the good batches' mean contributions are pooled: shorter than
the limits' window, since a contribution's normal level changes with each new laboratory
result."""


def hotelling_limit(a: int, n: int, alpha: float) -> float:
    """T² limit of a new observation, ``a`` dimensions, ``n`` reference batches (Tracy, Young
    & Mason 1992)."""
    if not 0 < a < n:
        raise MonitoringInputError(f"components: {a} must be between 1 and {n - 1}")
    return a * (n * n - 1) / (n * (n - a)) * float(stats.f.ppf(alpha, a, n - a))


def _pinv(c: FloatArray, rank: int) -> FloatArray:
    """Pseudo-inverses of symmetric matrices ``(g, v, v)`` keeping the ``rank`` largest
    eigenvalues of each."""
    values, vectors = np.linalg.eigh(c)
    keep = vectors[..., -rank:] if rank > 0 else vectors[..., :0]
    inv = 1.0 / np.maximum(values[..., -rank:] if rank > 0 else values[..., :0], 1e-12)
    return np.asarray(np.einsum("kia,ka,kja->kij", keep, inv, keep), dtype=float)


@dataclass(frozen=True)
class BatchStatistics:
    """Statistics of observations at given bins (leading axes as the input's).

    Attributes:
        bins: the bin of each observation.
        scores, score_mean, score_sd: scores, and the good batches' mean and standard
            deviation at the bin, ``(..., a)``.
        t2, t2_limit, spe, spe_limit: ``(...)``.
        t2_contributions, spe_contributions: ``(..., n_vars)``; each sums to its statistic.
        t2_reference, spe_reference: the good batches' mean absolute contributions at the bin.
    """

    bins: IndexArray
    scores: FloatArray
    score_mean: FloatArray
    score_sd: FloatArray
    t2: FloatArray
    t2_limit: FloatArray
    spe: FloatArray
    spe_limit: FloatArray
    t2_contributions: FloatArray
    spe_contributions: FloatArray
    t2_reference: FloatArray
    spe_reference: FloatArray

    def exceeded(self, score_sd: float | None = None) -> dict[str, BoolArray]:
        """Boolean arrays: each statistic above its limit (``scores``: any score outside the
        mean +/- ``score_sd`` sd, only when ``score_sd`` is given)."""
        out = {"t2": self.t2 > self.t2_limit, "spe": self.spe > self.spe_limit}
        if score_sd is not None:
            dev = np.abs(self.scores - self.score_mean) > score_sd * self.score_sd
            out["scores"] = np.asarray(dev.any(axis=-1), dtype=bool)
        return out

    def contributions(self, statistic: Statistic) -> FloatArray:
        return self.t2_contributions if statistic == "t2" else self.spe_contributions

    def relative(self, statistic: Statistic) -> FloatArray:
        """Absolute contributions over the good batches' mean at the same bin."""
        ref = self.t2_reference if statistic == "t2" else self.spe_reference
        return np.asarray(np.abs(self.contributions(statistic)) / np.maximum(ref, 1e-12))


@dataclass(frozen=True)
class BatchEvolutionModel:
    """A fitted BEM with per-bin limits; see the module docstring.

    Attributes:
        pls: the PLS model of scaled variables against centred maturity (its own scaling is
            ``none``: ``scaler`` does it).
        scaler: the variables' centre and scale.
        variables: variable names.
        maturity: maturity of each bin ``(g,)``.
        z_mean: the good batches' mean scaled values per bin ``(g, n_vars)``.
        score_mean, score_sd: ``(g, a)``.
        t2_metric, spe_metric: ``(g, n_vars, n_vars)``: T² and SPE are ``dz' M dz`` of the
            scaled deviation ``dz`` from the bin's mean (``W* S⁻¹ W*'`` with the bin's score
            covariance S; ``B' B`` with ``B = D⁻¹ (I - P W*')``, D the residual scale).
        t2_limit, spe_limit: per bin ``(g,)``; alpha: their confidence.
        residuals: which residual statistic ``spe`` holds (``hawkins``: T²_H, or ``spe``).
        t2_reference, spe_reference: ``(g, n_vars)`` mean absolute contribution of a good
            batch at each bin.
        n_batches: good batches it was fitted on.
    """

    pls: PLSModel
    scaler: Scaler
    variables: tuple[str, ...]
    maturity: FloatArray
    z_mean: FloatArray
    score_mean: FloatArray
    score_sd: FloatArray
    t2_metric: FloatArray
    spe_metric: FloatArray
    t2_limit: FloatArray
    spe_limit: FloatArray
    t2_reference: FloatArray
    spe_reference: FloatArray
    alpha: float
    n_batches: int
    residuals: Residuals = "hawkins"

    def statistic_name(self, statistic: Statistic) -> str:
        """How people call a statistic of this model (``T²``, ``SPE`` or ``T²_H``)."""
        if statistic == "t2":
            return "T²"
        return "T²_H" if self.residuals == "hawkins" else "SPE"

    @property
    def n_bins(self) -> int:
        return int(self.maturity.size)

    @property
    def n_vars(self) -> int:
        return len(self.variables)

    @property
    def n_components(self) -> int:
        return self.pls.n_components

    def evaluate(self, x: FloatArray, bins: IndexArray | None = None) -> BatchStatistics:
        """Statistics of observations ``x`` ``(..., k, n_vars)`` at ``bins`` ``(k,)`` (default:
        every bin, ``k = n_bins``). A missing value is taken at the good batches' mean for its
        bin; a row with no value at all gives NaN statistics."""
        a = np.asarray(x, dtype=float)
        if a.ndim < 2 or a.shape[-1] != self.n_vars:
            raise MonitoringInputError(f"x: last axis must hold the {self.n_vars} variables")
        k = np.arange(a.shape[-2]) if bins is None else np.asarray(bins, dtype=np.intp)
        if k.shape != (a.shape[-2],):
            raise MonitoringInputError(f"bins: need {a.shape[-2]} bins, got {k.shape}")
        if k.size and (k.min() < 0 or k.max() >= self.n_bins):
            raise MonitoringInputError(f"bins: outside 0..{self.n_bins - 1}")
        z = self.scaler.transform(a.reshape(-1, self.n_vars)).reshape(a.shape)
        empty = np.isnan(z).all(axis=-1)
        dz = np.nan_to_num(z - self.z_mean[k])
        d = dz @ self.pls.w_star
        out = {}
        for name, metric in (("t2", self.t2_metric[k]), ("spe", self.spe_metric[k])):
            c = dz * np.einsum("...ij,...j->...i", metric, dz)
            out[name] = np.where(empty, np.nan, c.sum(axis=-1))
            out[name + "_c"] = c
        shape = out["t2"].shape
        return BatchStatistics(
            bins=k,
            scores=self.score_mean[k] + d,
            score_mean=np.broadcast_to(self.score_mean[k], d.shape).copy(),
            score_sd=np.broadcast_to(self.score_sd[k], d.shape).copy(),
            t2=out["t2"],
            t2_limit=np.broadcast_to(self.t2_limit[k], shape).copy(),
            spe=out["spe"],
            spe_limit=np.broadcast_to(self.spe_limit[k], shape).copy(),
            t2_contributions=out["t2_c"],
            spe_contributions=out["spe_c"],
            t2_reference=np.broadcast_to(self.t2_reference[k], dz.shape).copy(),
            spe_reference=np.broadcast_to(self.spe_reference[k], dz.shape).copy(),
        )


def fit_bem(
    batches: FloatArray,
    n_components: int = 2,
    *,
    maturity: FloatArray | None = None,
    variables: tuple[str, ...] | None = None,
    alpha: float = 0.99,
    window: int = 24,
    residuals: Residuals = "hawkins",
    precision: FloatArray | None = None,
) -> BatchEvolutionModel:
    """Fit a BEM on good, aligned batches ``(n_batches, n_bins, n_vars)`` (NaN = missing).

    ``maturity`` of each bin defaults to the bin index; ``window`` is the half-width (bins)
    over which covariances and SPE moments are pooled; ``alpha`` the confidence of the limits;
    ``residuals`` the residual statistic (module docstring); ``precision`` ``(n_vars,)`` each
    variable's smallest meaningful deviation, in its units.
    """
    x = _check_batches(batches)
    n, g, v = x.shape
    check_alpha(alpha)
    if not 1 <= n_components <= v:
        raise MonitoringInputError(f"n_components: {n_components} not in 1..{v}")
    if n < n_components + 3:
        raise MonitoringInputError(f"batches: {n} batches for {n_components} components")
    if window < 0:
        raise MonitoringInputError(f"window: must be >= 0, got {window}")
    if residuals not in ("hawkins", "spe"):
        raise MonitoringInputError(f"residuals: {residuals!r} is not 'hawkins' or 'spe'")
    mat = np.arange(g, dtype=float) if maturity is None else np.asarray(maturity, dtype=float)
    if mat.shape != (g,) or not np.all(np.diff(mat) > 0):
        raise MonitoringInputError(f"maturity: need {g} increasing values, one per bin")
    names = tuple(f"x{j}" for j in range(v)) if variables is None else tuple(variables)
    if len(names) != v:
        raise MonitoringInputError(f"variables: {len(names)} names for {v} variables")
    rows = x.reshape(-1, v)
    scaler = Scaler.fit(rows, "autoscale")
    z = scaler.transform(rows).reshape(x.shape)
    keep = ~np.isnan(z).all(axis=-1)
    y = np.broadcast_to(mat - mat.mean(), (n, g))
    pls = fit_pls(z[keep], y[keep][:, None], n_components, scaling="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bin no batch observed: mean 0
        z_mean = np.nan_to_num(np.nanmean(z, axis=0))
    if precision is None:
        delta2 = np.zeros(v)
    else:
        prec = np.asarray(precision, dtype=float)
        if prec.shape != (v,) or np.any(prec < 0):
            raise MonitoringInputError(f"precision: need {v} non-negative values")
        delta2 = (prec / scaler.scale) ** 2
    fit = _Limits(np.nan_to_num(z - z_mean), pls, int(window), delta2, residuals)
    a = pls.n_components
    t2_lim = hotelling_limit(a, n, alpha)
    if residuals == "hawkins":
        spe_lim = np.full(g, hotelling_limit(v - a, n, alpha) if v > a else 0.0)
    else:
        spe_lim = chi2_limit(fit.spe_mean, fit.spe_var, alpha)
    return BatchEvolutionModel(
        pls=pls,
        scaler=scaler,
        variables=names,
        maturity=mat,
        z_mean=z_mean,
        score_mean=np.asarray(z_mean @ pls.w_star, dtype=float),
        score_sd=fit.score_sd,
        t2_metric=fit.t2_metric,
        spe_metric=fit.spe_metric,
        t2_limit=np.full(g, t2_lim),
        spe_limit=spe_lim,
        t2_reference=fit.t2_reference,
        spe_reference=fit.spe_reference,
        alpha=alpha,
        n_batches=n,
        residuals=residuals,
    )


class _Limits:
    """Per-bin covariances, metrics and reference values from the good batches' deviations
    ``dz`` ``(n, g, v)`` from their bin means (window-pooled)."""

    def __init__(
        self, dz: FloatArray, pls: PLSModel, half: int, delta2: FloatArray, residuals: Residuals
    ) -> None:
        n, g, v = dz.shape
        w, p = pls.w_star, pls.loadings
        d = dz @ w
        counts = window_sum(np.ones(g), half)
        dof = counts * (n - 1)
        cov = window_sum(np.einsum("bka,bkc->kac", d, d), half) / dof[:, None, None]
        cov = cov + (w.T * delta2) @ w
        a = w.shape[1]
        self.score_sd = np.sqrt(np.einsum("kaa->ka", cov))
        self.t2_metric = np.einsum("ia,kab,jb->kij", w, np.linalg.pinv(cov + 1e-12 * np.eye(a)), w)
        residual = np.eye(v) - p @ w.T  # r = residual @ dz
        r = dz @ residual.T
        if residuals == "hawkins":
            c = window_sum(np.einsum("bki,bkj->kij", r, r), half) / dof[:, None, None]
            c = c + (residual * delta2) @ residual.T
            self.spe_metric = np.einsum("ji,kjl,lm->kim", residual, _pinv(c, v - a), residual)
        else:
            self.spe_metric = np.broadcast_to(residual.T @ residual, (g, v, v)).copy()
        inflate = (n / (n - 1)) ** 2  # deviation from the mean of the *other* batches
        spe = np.einsum("bki,kij,bkj->bk", dz, self.spe_metric, dz) * inflate
        pooled = counts * n
        self.spe_mean = window_sum(spe.sum(axis=0), half) / pooled
        spe_sq = window_sum((spe * spe).sum(axis=0), half) / pooled
        self.spe_var = np.maximum(spe_sq - self.spe_mean**2, 0.0) * pooled / (pooled - 1)
        ref_half = min(half, CONTRIBUTION_WINDOW)
        pooled_r = window_sum(np.ones(g), ref_half) * n
        self.t2_reference = self._mean_contribution(dz, self.t2_metric, ref_half, pooled_r, 1.0)
        self.spe_reference = self._mean_contribution(
            dz, self.spe_metric, ref_half, pooled_r, inflate
        )

    @staticmethod
    def _mean_contribution(
        dz: FloatArray, metric: FloatArray, half: int, pooled: FloatArray, inflate: float
    ) -> FloatArray:
        c = np.abs(dz * np.einsum("kij,bkj->bki", metric, dz)) * inflate
        return np.asarray(window_sum(c.sum(axis=0), half) / pooled[:, None], dtype=float)


@dataclass(frozen=True)
class BatchLevelModel:
    """Multiway PLS of end-of-batch quality on batch-wise unfolded data.

    Attributes:
        pls: PLS on the ``n_bins * n_vars`` columns (bin-major) that the training batches
            observed (``columns``), autoscaled.
        n_bins, variables: shape of a batch; quality: names of the predicted attributes.
        columns: mask of the unfolded columns used (a column no training batch observed,
            such as a laboratory result not yet available, is left out).
    """

    pls: PLSModel
    n_bins: int
    variables: tuple[str, ...]
    quality: tuple[str, ...]
    columns: BoolArray

    def unfold(self, batches: FloatArray) -> FloatArray:
        """Batches ``(n, n_bins, n_vars)`` as the model's rows ``(n, n_columns)``."""
        x = _check_batches(batches)
        if x.shape[1:] != (self.n_bins, len(self.variables)):
            raise MonitoringInputError(
                f"batches: shape {x.shape[1:]} per batch, the model needs "
                f"({self.n_bins}, {len(self.variables)})"
            )
        return x.reshape(x.shape[0], -1)[:, self.columns]

    def predict(self, batches: FloatArray) -> FloatArray:
        """Predicted quality ``(n_batches, n_quality)`` in its units (NaN-tolerant)."""
        return self.pls.predict(self.unfold(batches))

    def t2(self, batches: FloatArray) -> FloatArray:
        return self.pls.t2(self.unfold(batches))

    def spe(self, batches: FloatArray) -> FloatArray:
        return self.pls.spe(self.unfold(batches))


def fit_blm(
    batches: FloatArray,
    quality: FloatArray,
    n_components: int | None = None,
    *,
    variables: tuple[str, ...] | None = None,
    quality_names: tuple[str, ...] | None = None,
) -> BatchLevelModel:
    """Fit a BLM on complete batches ``(n, n_bins, n_vars)`` and their quality ``(n, q)``;
    ``None`` components: chosen by cross-validation (``crossval.choose_components``)."""
    x = _check_batches(batches)
    y = np.asarray(quality, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != x.shape[0]:
        raise MonitoringInputError(f"quality: {y.shape[0]} rows for {x.shape[0]} batches")
    names = tuple(f"x{j}" for j in range(x.shape[2])) if variables is None else variables
    qnames = tuple(f"y{j}" for j in range(y.shape[1])) if quality_names is None else quality_names
    if len(names) != x.shape[2] or len(qnames) != y.shape[1]:
        raise MonitoringInputError("variables/quality_names: lengths do not match the data")
    rows = x.reshape(x.shape[0], -1)
    columns = (~np.isnan(rows)).sum(axis=0) >= 2
    pls = fit_pls(rows[:, columns], y, n_components, scaling="autoscale")
    return BatchLevelModel(pls, int(x.shape[1]), tuple(names), tuple(qnames), columns)
