"""Cross-validated choice of the number of components of a PCA or PLS model.

Rows are split into ``folds`` contiguous blocks (contiguous rather than interleaved so that
autocorrelated process data do not leak between the fitting and the held-out rows); scaling and
model are fitted without the block.

- PCA: plain row-wise PRESS always falls as components are added (a held-out row is projected on
  a model that already uses its values), so each held-out value is instead predicted from the
  row's *other* variables (element-wise k-fold, "ekf"; Bro, Kjeldahl, Smilde & Kiers 2008, Anal.
  Bioanal. Chem. 390:1241; in the spirit of Eastment & Krzanowski 1982, Technometrics 24:73).
  With orthonormal loadings this has a closed form: the residual of variable j divided by
  ``1 - sum_a p_ja²``. Missing values of a held-out row are first filled by projection to the
  model plane, and only observed values count.
- PLS: row-wise PRESS of the predicted Y, in units of the standard deviation of each y column.

Components are added while ``PRESS(a+1) / PRESS(a) < ratio`` (Wold's R criterion, Wold 1978,
Technometrics 20:397). Defaults: 1 for PCA (stop at the first minimum of the ekf PRESS, which
rises once components fit noise) and 0.95 for PLS (a component must cut the PRESS of Y by 5 %:
row-wise PRESS of a regression keeps creeping down as components approach least squares).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring.scaling import MonitoringInputError, Scaling, as_matrix

PCA_RATIO = 1.0
PLS_RATIO = 0.95
"""A component is kept when it lowers PRESS to below this fraction of the previous PRESS."""


def fold_slices(n: int, folds: int) -> list[slice]:
    """``folds`` contiguous blocks covering ``range(n)``."""
    if not 2 <= folds <= n:
        raise MonitoringInputError(f"folds: {folds} is not between 2 and the {n} rows")
    edges = np.linspace(0, n, folds + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def press_pca(
    x: FloatArray, *, max_components: int = 10, folds: int = 7, scaling: Scaling = "autoscale"
) -> FloatArray:
    """ekf PRESS for 0..``max_components`` components (scaled units; index = components)."""
    from pharmatwin.monitoring.pca import fit_pca

    a_in = as_matrix(x)
    n, k = a_in.shape
    top = _top(max_components, n, folds, k - 1)
    out = np.zeros(top + 1)
    for block in fold_slices(n, folds):
        keep = np.ones(n, dtype=bool)
        keep[block] = False
        with warnings.catch_warnings():  # slow NIPALS convergence of noise components
            warnings.simplefilter("ignore", RuntimeWarning)
            model = fit_pca(a_in[keep], top, scaling=scaling)
        z = model.scaler.transform(a_in[block])
        observed = ~np.isnan(z)
        out[0] += float(np.sum(np.where(observed, z, 0.0) ** 2))
        for a in range(1, top + 1):
            p = model.loadings[:, :a]
            filled = _fill(z, p)
            fitted = filled @ p @ p.T
            leverage = (p * p).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = (filled - fitted) / np.where(leverage < 1 - 1e-12, 1 - leverage, np.nan)
            r = np.where(observed, r, 0.0)
            out[a] += float(np.sum(np.where(np.isnan(r), np.inf, r * r)))
    return out


def _fill(z: FloatArray, p: FloatArray) -> FloatArray:
    """Missing values of ``z`` replaced by their projection-to-the-model-plane estimate."""
    if not np.isnan(z).any():
        return z
    from pharmatwin.monitoring.pca import pmp_projection

    proj = pmp_projection(z, p, np.ones(p.shape[1]))
    recon = np.nan_to_num(proj.scores) @ p.T
    return np.where(np.isnan(z), recon, z)


def press_pls(
    x: FloatArray,
    y: FloatArray,
    *,
    max_components: int = 10,
    folds: int = 7,
    scaling: Scaling = "autoscale",
) -> FloatArray:
    """Row-wise PRESS of Y for 0..``max_components`` components (Y in units of its std)."""
    from pharmatwin.monitoring.pls import fit_pls

    xa, ya = as_matrix(x), as_matrix(y, "y")
    if ya.shape[0] == 1 and xa.shape[0] > 1:
        ya = ya.T
    n, k = xa.shape
    top = _top(max_components, n, folds, k)
    unit = np.nanstd(ya, axis=0, ddof=1)
    unit = np.where(unit > 0, unit, 1.0)
    out = np.zeros(top + 1)
    for block in fold_slices(n, folds):
        keep = np.ones(n, dtype=bool)
        keep[block] = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = fit_pls(xa[keep], ya[keep], top, scaling=scaling)
        t = model.scores(xa[block])
        for a in range(top + 1):
            z_hat = t[:, :a] @ model.y_loadings[:, :a].T
            y_hat = model.y_scaler.inverse(z_hat)
            r = (ya[block] - y_hat) / unit
            out[a] += float(np.nansum(r * r))
    return out


def _top(max_components: int, n: int, folds: int, k: int) -> int:
    if max_components < 1:
        raise MonitoringInputError(f"max_components: {max_components} must be at least 1")
    n_fit = n - int(np.ceil(n / folds))
    return int(min(max_components, k, n_fit - 1))


def choose_by_ratio(press: FloatArray, ratio: float = PCA_RATIO) -> int:
    """The number of components where PRESS(a+1) / PRESS(a) first reaches ``ratio`` (>= 1)."""
    a = 0
    while a + 1 < press.size and press[a + 1] < ratio * press[a]:
        a += 1
    return max(a, 1)


def choose_components(
    x: FloatArray,
    y: FloatArray | None = None,
    *,
    max_components: int = 10,
    folds: int = 7,
    scaling: Scaling = "autoscale",
    ratio: float | None = None,
) -> int:
    """Cross-validated number of components: PCA of ``x``, or PLS of ``y`` on ``x``."""
    if ratio is None:
        ratio = PCA_RATIO if y is None else PLS_RATIO
    if not 0 < ratio <= 1:
        raise MonitoringInputError(f"ratio: {ratio} is not in (0, 1]")
    if y is None:
        press = press_pca(x, max_components=max_components, folds=folds, scaling=scaling)
    else:
        press = press_pls(x, y, max_components=max_components, folds=folds, scaling=scaling)
    return choose_by_ratio(press, ratio)
