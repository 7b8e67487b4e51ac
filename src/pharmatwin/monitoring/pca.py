"""Principal component analysis by NIPALS with missing values, and its monitoring statistics.

NIPALS (Wold, Esbensen & Geladi 1987, Chemom. Intell. Lab. Syst. 2:37): each component by
alternating regressions ``p = X't / t't`` and ``t = Xp / p'p``, then deflation. Missing values
(NaN) are skipped in both regressions and in the deflation (Nelson, Taylor & MacGregor 1996,
Chemom. Intell. Lab. Syst. 35:45). With complete data ``method="auto"`` takes the singular value
decomposition instead, which is the fixed point NIPALS converges to (exactly, and without its
slow convergence when eigenvalues are close); ``method="nipals"`` forces the iteration.
New rows with missing values are scored by projection to the model plane (same paper).

Statistics, in the scaled space: T² = sum t_a² / s_a² (s_a² the training score variance,
ddof 1), SPE = sum of squared residuals over the observed variables, DModX the normalized residual
standard deviation (Eriksson et al. 2006). Limits: see ``pharmatwin.monitoring.limits``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring import limits
from pharmatwin.monitoring.contributions import Projection, chunk_rows
from pharmatwin.monitoring.scaling import (
    MonitoringInputError,
    Scaler,
    Scaling,
    as_matrix,
    check_scaling,
    require,
    require_array,
)

Method = Literal["auto", "nipals", "svd"]
SpeMethod = Literal["box", "jackson"]
_TINY = 1e-300


def nipals_pca(
    z: FloatArray, a: int, *, max_iter: int = 500, tol: float = 1e-10
) -> tuple[FloatArray, FloatArray]:
    """Scores (n, a) and unit loadings (k, a) of scaled ``z`` (NaN skipped) by NIPALS.

    Converged when ``|t_new - t| <= tol |t_new|``; a component that has not converged after
    ``max_iter`` iterations is kept as it is, with a ``RuntimeWarning``.
    """
    observed = ~np.isnan(z)
    weight = observed.astype(np.float64)
    e = np.where(observed, z, 0.0)
    n, k = z.shape
    scores, loadings = np.zeros((n, a)), np.zeros((k, a))
    for c in range(a):
        t = e[:, int(np.argmax((e * e).sum(axis=0)))].copy()
        p = np.zeros(k)
        for _ in range(max_iter):
            p = (e.T @ t) / np.maximum(weight.T @ (t * t), _TINY)
            p /= max(float(np.linalg.norm(p)), _TINY)
            t_new = (e @ p) / np.maximum(weight @ (p * p), _TINY)
            step = float(np.linalg.norm(t_new - t))
            t = t_new
            if step <= tol * float(np.linalg.norm(t)):
                break
        else:
            warnings.warn(
                f"NIPALS component {c + 1} did not converge in {max_iter} iterations",
                RuntimeWarning,
                stacklevel=2,
            )
        sign = 1.0 if p[int(np.argmax(np.abs(p)))] >= 0 else -1.0
        t, p = t * sign, p * sign
        scores[:, c], loadings[:, c] = t, p
        e -= np.outer(t, p) * weight
    return scores, loadings


def svd_pca(z: FloatArray, a: int) -> tuple[FloatArray, FloatArray]:
    """Scores and loadings of complete ``z`` from the SVD (same sign rule as ``nipals_pca``)."""
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    p = vt[:a].T.copy()
    signs = np.where(p[np.argmax(np.abs(p), axis=0), np.arange(a)] >= 0, 1.0, -1.0)
    p *= signs
    return (u[:, :a] * s[:a]) * signs, p


def residual_eigenvalues(residuals: FloatArray) -> FloatArray:
    """Eigenvalues (descending) of the covariance ``E'E / (n-1)`` of training residuals.

    Missing entries count as zero residual.
    """
    e = np.nan_to_num(residuals)
    s = np.linalg.svd(e, compute_uv=False)
    return np.asarray(s * s / max(e.shape[0] - 1, 1), dtype=np.float64)


def pmp_projection(z: FloatArray, loadings: FloatArray, variances: FloatArray) -> Projection:
    """Scores by projection to the model plane over each row's observed variables,
    ``t = (P_o'P_o)⁻¹ P_o' z_o`` (rows with too few observed values get NaN scores)."""
    n, k = z.shape
    p = loadings
    a = p.shape[1]
    observed = ~np.isnan(z)
    filled = np.where(observed, z, 0.0)
    orthonormal = bool(np.allclose(p.T @ p, np.eye(a), rtol=0.0, atol=1e-12))
    if orthonormal and observed.all():
        t = filled @ p
        return Projection(t, z - t @ p.T, (t / variances) @ p.T, z)
    t = np.full((n, a), np.nan)
    grad = np.zeros((n, k))
    step = chunk_rows(a, k)
    for lo in range(0, n, step):
        rows = slice(lo, min(n, lo + step))
        obs = observed[rows].astype(np.float64)
        gram = np.swapaxes(obs[:, :, None] * p, 1, 2) @ p  # P_o'P_o for each row
        eig = np.linalg.eigvalsh(gram)
        ok = (eig[:, 0] > 1e-10 * eig[:, -1]) & (obs.sum(axis=1) >= a)
        block = t[rows]
        block[ok] = np.linalg.solve(gram[ok], (filled[rows][ok] @ p)[..., None])[..., 0]
        t[rows] = block
        u = np.linalg.solve(gram[ok], (block[ok] / variances)[..., None])[..., 0]
        g = grad[rows]
        g[ok] = (u @ p.T) * obs[ok]
        grad[rows] = g
    return Projection(t, z - t @ p.T, grad, z)


@dataclass(frozen=True)
class PCAModel:
    """A fitted PCA model; every method takes rows in original units (NaN = missing)."""

    scaler: Scaler
    loadings: FloatArray
    """(n_vars, a), orthonormal columns."""
    variances: FloatArray
    """(a,) score variances on the training data (ddof 1)."""
    n_train: int
    residual_eigenvalues: FloatArray
    """Eigenvalues of the training residual covariance (for the SPE limits)."""
    explained: FloatArray = field(default_factory=lambda: np.zeros(0))
    """(a,) fraction of the scaled training sum of squares each component explains (R²X)."""

    @property
    def n_components(self) -> int:
        return int(self.loadings.shape[1])

    @property
    def n_vars(self) -> int:
        return int(self.loadings.shape[0])

    def project(self, x: FloatArray) -> Projection:
        """Scores, residuals and T² gradients of ``x`` in one pass."""
        z = self.scaler.transform(x)
        return pmp_projection(z, self.loadings, self.variances)

    def scores(self, x: FloatArray) -> FloatArray:
        return self.project(x).scores

    def t2(self, x: FloatArray) -> FloatArray:
        return self.project(x).t2()

    def spe(self, x: FloatArray) -> FloatArray:
        return self.project(x).spe()

    def dmodx(self, x: FloatArray) -> FloatArray:
        """Normalized distance to the model, ``sqrt(SPE / (k_obs - a)) / s0``."""
        proj = self.project(x)
        k_obs = (~np.isnan(proj.z)).sum(axis=1) - self.n_components
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.sqrt(proj.spe() / np.where(k_obs > 0, k_obs, np.nan))
        return np.asarray(s / self._s0(), dtype=np.float64)

    def _s0(self) -> float:
        n, k, a = self.n_train, self.n_vars, self.n_components
        total = (n - 1) * float(self.residual_eigenvalues.sum())
        return float(np.sqrt(total / max((n - a - 1) * (k - a), 1)))

    def t2_limit(self, alpha: float = 0.99) -> float:
        return limits.t2_limit(self.n_components, self.n_train, alpha)

    def spe_limit(self, alpha: float = 0.99, method: SpeMethod = "box") -> float:
        return limits.spe_limit(self.residual_eigenvalues, alpha, method)

    def dmodx_limit(self, alpha: float = 0.99) -> float:
        return limits.dmodx_limit(self.n_vars, self.n_components, self.n_train, alpha)

    def t2_contributions(self, x: FloatArray) -> FloatArray:
        return self.project(x).t2_contributions()

    def spe_contributions(self, x: FloatArray) -> FloatArray:
        return self.project(x).spe_contributions()

    def reconstruct(self, x: FloatArray) -> FloatArray:
        """``x`` projected on the model plane, back in original units (fills missing values)."""
        return self.scaler.inverse(self.scores(x) @ self.loadings.T)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "pca",
            "scaler": self.scaler.to_dict(),
            "loadings": self.loadings.tolist(),
            "variances": self.variances.tolist(),
            "n_train": self.n_train,
            "residual_eigenvalues": self.residual_eigenvalues.tolist(),
            "explained": self.explained.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PCAModel:
        """Inverse of ``to_dict``; a bad field raises ``MonitoringInputError`` naming it."""
        scaler = Scaler.from_dict(require(data, "scaler", dict))
        loadings = require_array(data, "loadings", 2)
        variances = require_array(data, "variances", 1)
        if loadings.shape != (scaler.n_vars, variances.size):
            raise MonitoringInputError("loadings: shape does not match scaler and variances")
        return cls(
            scaler,
            loadings,
            variances,
            int(require(data, "n_train", int)),
            require_array(data, "residual_eigenvalues", 1),
            require_array(data, "explained", 1) if "explained" in data else np.zeros(0),
        )


def fit_pca(
    x: FloatArray,
    n_components: int | None = None,
    *,
    scaling: Scaling = "autoscale",
    max_iter: int = 500,
    tol: float = 1e-10,
    method: Method = "auto",
) -> PCAModel:
    """Fit PCA to ``x`` (rows = observations, NaN = missing); ``None`` components ->
    ``crossval.choose_components``."""
    check_scaling(scaling)
    a_in = as_matrix(x)
    n, k = a_in.shape
    if n < 3:
        raise MonitoringInputError(f"x: {n} rows; need at least 3")
    if n_components is None:
        from pharmatwin.monitoring.crossval import choose_components

        n_components = choose_components(a_in, scaling=scaling)
    a = check_components(n_components, n, k)
    scaler = Scaler.fit(a_in, scaling)
    z = scaler.transform(a_in)
    missing = bool(np.isnan(z).any())
    if method == "svd" and missing:
        raise MonitoringInputError("method: 'svd' needs complete data; use 'nipals' or 'auto'")
    if method not in ("auto", "nipals", "svd"):
        raise MonitoringInputError(f"method: {method!r} is not 'auto', 'nipals' or 'svd'")
    if method == "nipals" or missing:
        t, p = nipals_pca(z, a, max_iter=max_iter, tol=tol)
    else:
        t, p = svd_pca(z, a)
    residuals = z - t @ p.T
    total = float(np.nansum(z * z))
    explained = (t * t).sum(axis=0) * (p * p).sum(axis=0) / total if total > 0 else np.zeros(a)
    return PCAModel(
        scaler=scaler,
        loadings=p,
        variances=t.var(axis=0, ddof=1),
        n_train=n,
        residual_eigenvalues=residual_eigenvalues(residuals),
        explained=np.asarray(explained, dtype=np.float64),
    )


def check_components(a: int, n: int, k: int) -> int:
    """``a`` validated against the data's shape (1 <= a <= min(n - 1, k))."""
    if isinstance(a, bool) or not isinstance(a, int | np.integer):
        raise MonitoringInputError(f"n_components: {a!r} is not an integer")
    top = min(n - 1, k)
    if not 1 <= a <= top:
        raise MonitoringInputError(f"n_components: {a} is not between 1 and {top}")
    return int(a)
