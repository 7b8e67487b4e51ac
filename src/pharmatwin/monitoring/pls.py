"""Partial least squares (PLS1 / PLS2) by NIPALS with missing values, and its statistics.

NIPALS PLS (Wold, Sjöström & Eriksson 2001, Chemom. Intell. Lab. Syst. 58:109): per component
``w = X'u / u'u`` (normalized), ``t = Xw``, ``c = Y't / t't``, ``u = Yc / c'c`` until ``t``
converges, then ``p = X't / t't`` and deflation of X and Y. Missing values (NaN, in X or Y) are
skipped in every regression and in the deflation; scores of new rows with missing values use the
same sequential, single-component projection (Nelson, Taylor & MacGregor 1996, Chemom. Intell.
Lab. Syst. 35:45), which for complete rows equals ``t = W*' x`` with ``W* = W (P'W)⁻¹``.
VIP as in Wold, Sjöström & Eriksson (2001). T², SPE (of X) and their limits as for PCA.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from pharmatwin.core.types import BoolArray, FloatArray
from pharmatwin.monitoring import limits
from pharmatwin.monitoring.contributions import Projection, chunk_rows
from pharmatwin.monitoring.pca import SpeMethod, check_components, residual_eigenvalues
from pharmatwin.monitoring.scaling import (
    MonitoringInputError,
    Scaler,
    Scaling,
    as_matrix,
    check_scaling,
    require,
    require_array,
)

_TINY = 1e-300


def _wsum(values: FloatArray, weight: FloatArray, vector: FloatArray) -> FloatArray:
    """Regression coefficient of each column of ``values`` on ``vector`` over observed rows."""
    return (values.T @ vector) / np.maximum(weight.T @ (vector * vector), _TINY)


def nipals_pls(
    x: FloatArray, y: FloatArray, a: int, *, max_iter: int = 500, tol: float = 1e-10
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Scores T (n, a), weights W (k, a), X loadings P (k, a), Y loadings C (m, a)."""
    ox, oy = ~np.isnan(x), ~np.isnan(y)
    wx, wy = ox.astype(np.float64), oy.astype(np.float64)
    ex, ey = np.where(ox, x, 0.0), np.where(oy, y, 0.0)
    n, k = x.shape
    m = y.shape[1]
    T, W, P, C = np.zeros((n, a)), np.zeros((k, a)), np.zeros((k, a)), np.zeros((m, a))
    for comp in range(a):
        u = ey[:, int(np.argmax((ey * ey).sum(axis=0)))].copy()
        t = np.zeros(n)
        w, c = np.zeros(k), np.zeros(m)
        for _ in range(max_iter):
            w = _wsum(ex, wx, u)
            w /= max(float(np.linalg.norm(w)), _TINY)
            t_new = _wsum(ex.T, wx.T, w)
            c = _wsum(ey, wy, t_new)
            u = _wsum(ey.T, wy.T, c)
            step = float(np.linalg.norm(t_new - t))
            t = t_new
            if step <= tol * float(np.linalg.norm(t)) or m == 1:
                break
        else:
            warnings.warn(
                f"NIPALS PLS component {comp + 1} did not converge in {max_iter} iterations",
                RuntimeWarning,
                stacklevel=2,
            )
        p = _wsum(ex, wx, t)
        T[:, comp], W[:, comp], P[:, comp], C[:, comp] = t, w, p, c
        ex -= np.outer(t, p) * wx
        ey -= np.outer(t, c) * wy
    return T, W, P, C


def scp_projection(
    z: FloatArray, weights: FloatArray, loadings: FloatArray, variances: FloatArray
) -> Projection:
    """Sequential single-component projection over each row's observed variables:
    ``t_a = w_a,o' e_o / w_a,o'w_a,o``, then ``e_o -= t_a p_a,o`` (as in the NIPALS fit)."""
    n, k = z.shape
    a = weights.shape[1]
    observed = ~np.isnan(z)
    if observed.all():  # the sequence collapses to t = W*' z
        w_star = weights @ np.linalg.inv(loadings.T @ weights)
        t = z @ w_star
        return Projection(t, z - t @ loadings.T, (t / variances) @ w_star.T, z)
    t = np.full((n, a), np.nan)
    grad = np.zeros((n, k))
    step = chunk_rows(a, k)
    for lo in range(0, n, step):
        rows = slice(lo, min(n, lo + step))
        obs = observed[rows].astype(np.float64)
        e = np.where(observed[rows], z[rows], 0.0)
        m = np.zeros((obs.shape[0], a, k))  # t = m z_o, row by row
        block = np.zeros((obs.shape[0], a))
        for c in range(a):
            ww = obs @ (weights[:, c] ** 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                wt = obs * weights[:, c] / ww[:, None]
            block[:, c] = (e * wt).sum(axis=1)
            e -= block[:, c, None] * loadings[:, c] * obs
            m[:, c] = wt - np.einsum("nb,nbk->nk", wt @ loadings[:, :c], m[:, :c])
        ok: BoolArray = np.asarray(np.isfinite(block).all(axis=1))
        block[~ok] = np.nan
        t[rows] = block
        g = np.einsum("na,nak->nk", np.nan_to_num(block / variances), m)
        grad[rows] = np.where(ok[:, None], np.nan_to_num(g), 0.0)
    return Projection(t, z - t @ loadings.T, grad, z)


@dataclass(frozen=True)
class PLSModel:
    """A fitted PLS model; methods take rows in original units (NaN = missing)."""

    x_scaler: Scaler
    y_scaler: Scaler
    weights: FloatArray
    """W (n_x, a), unit columns."""
    loadings: FloatArray
    """P (n_x, a)."""
    y_loadings: FloatArray
    """C (n_y, a) (often written Q)."""
    variances: FloatArray
    """(a,) training score variances (ddof 1)."""
    n_train: int
    residual_eigenvalues: FloatArray
    """Eigenvalues of the training X-residual covariance (for the SPE limits)."""

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_vars(self) -> int:
        return int(self.weights.shape[0])

    @property
    def w_star(self) -> FloatArray:
        """``W* = W (P'W)⁻¹``: scores of complete rows are ``t = W*' x``."""
        return np.asarray(
            self.weights @ np.linalg.inv(self.loadings.T @ self.weights), dtype=np.float64
        )

    @property
    def coefficients(self) -> FloatArray:
        """Regression coefficients in the scaled space, ``B = W* C'`` (n_x, n_y)."""
        return np.asarray(self.w_star @ self.y_loadings.T, dtype=np.float64)

    def project(self, x: FloatArray) -> Projection:
        z = self.x_scaler.transform(x)
        return scp_projection(z, self.weights, self.loadings, self.variances)

    def predict(self, x: FloatArray) -> FloatArray:
        """Predicted Y (n, n_y) in original units."""
        return self.y_scaler.inverse(self.project(x).scores @ self.y_loadings.T)

    def scores(self, x: FloatArray) -> FloatArray:
        return self.project(x).scores

    def t2(self, x: FloatArray) -> FloatArray:
        return self.project(x).t2()

    def spe(self, x: FloatArray) -> FloatArray:
        return self.project(x).spe()

    def t2_contributions(self, x: FloatArray) -> FloatArray:
        return self.project(x).t2_contributions()

    def spe_contributions(self, x: FloatArray) -> FloatArray:
        return self.project(x).spe_contributions()

    def t2_limit(self, alpha: float = 0.99) -> float:
        return limits.t2_limit(self.n_components, self.n_train, alpha)

    def spe_limit(self, alpha: float = 0.99, method: SpeMethod = "box") -> float:
        return limits.spe_limit(self.residual_eigenvalues, alpha, method)

    def vip(self) -> FloatArray:
        """Variable importance in projection, ``sqrt(k sum_a SSY_a w_ja² / sum_a SSY_a)``."""
        ssy = (self.n_train - 1) * self.variances * (self.y_loadings**2).sum(axis=0)
        w2 = (self.weights / np.linalg.norm(self.weights, axis=0)) ** 2
        return np.asarray(np.sqrt(self.n_vars * (w2 @ ssy) / ssy.sum()), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "pls",
            "x_scaler": self.x_scaler.to_dict(),
            "y_scaler": self.y_scaler.to_dict(),
            "weights": self.weights.tolist(),
            "loadings": self.loadings.tolist(),
            "y_loadings": self.y_loadings.tolist(),
            "variances": self.variances.tolist(),
            "n_train": self.n_train,
            "residual_eigenvalues": self.residual_eigenvalues.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PLSModel:
        """Inverse of ``to_dict``; a bad field raises ``MonitoringInputError`` naming it."""
        xs = Scaler.from_dict(require(data, "x_scaler", dict))
        ys = Scaler.from_dict(require(data, "y_scaler", dict))
        w, p = require_array(data, "weights", 2), require_array(data, "loadings", 2)
        c, s = require_array(data, "y_loadings", 2), require_array(data, "variances", 1)
        if w.shape != p.shape or w.shape != (xs.n_vars, s.size):
            raise MonitoringInputError("weights: shape does not match loadings/x_scaler")
        if c.shape != (ys.n_vars, s.size):
            raise MonitoringInputError("y_loadings: shape does not match y_scaler/variances")
        n = int(require(data, "n_train", int))
        return cls(xs, ys, w, p, c, s, n, require_array(data, "residual_eigenvalues", 1))


def fit_pls(
    x: FloatArray,
    y: FloatArray,
    n_components: int | None = None,
    *,
    scaling: Scaling = "autoscale",
    max_iter: int = 500,
    tol: float = 1e-10,
) -> PLSModel:
    """Fit PLS of ``y`` (a column or a matrix) on ``x``; ``None`` components ->
    ``crossval.choose_components``. ``scaling`` applies to X and Y."""
    check_scaling(scaling)
    xa = as_matrix(x)
    ya = as_matrix(y, "y")
    if ya.shape[0] == 1 and xa.shape[0] > 1:
        ya = ya.T
    n, k = xa.shape
    if ya.shape[0] != n:
        raise MonitoringInputError(f"y: {ya.shape[0]} rows, x has {n}")
    if n < 3:
        raise MonitoringInputError(f"x: {n} rows; need at least 3")
    if np.isnan(ya).all(axis=1).any():
        raise MonitoringInputError(f"y: row {int(np.isnan(ya).all(axis=1).argmax())} is empty")
    if n_components is None:
        from pharmatwin.monitoring.crossval import choose_components

        n_components = choose_components(xa, ya, scaling=scaling)
    a = check_components(n_components, n, k)
    xs, ys = Scaler.fit(xa, scaling), Scaler.fit(ya, scaling)
    zx, zy = xs.transform(xa), ys.transform(ya)
    T, W, P, C = nipals_pls(zx, zy, a, max_iter=max_iter, tol=tol)
    residuals = zx - T @ P.T
    return PLSModel(
        x_scaler=xs,
        y_scaler=ys,
        weights=W,
        loadings=P,
        y_loadings=C,
        variances=T.var(axis=0, ddof=1),
        n_train=n,
        residual_eigenvalues=residual_eigenvalues(residuals),
    )
