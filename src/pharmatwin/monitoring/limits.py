"""Control limits of the monitoring statistics (confidence ``alpha``, e.g. 0.99).

- Hotelling T² of a new observation, ``a`` components from ``n`` training rows:
  ``a (n-1)(n+1) / (n (n-a)) F(a, n-a)`` (Tracy, Young & Mason 1992, J. Qual. Technol.
  24:88); of a training row: ``(n-1)² / n Beta(a/2, (n-a-1)/2)`` (same paper).
- SPE / Q from the eigenvalues of the residual covariance, theta_i = sum(lambda^i):
  Box (1954, Ann. Math. Stat. 25:290) ``g chi2(h)`` with ``g = theta2/theta1``,
  ``h = theta1²/theta2``; Jackson & Mudholkar (1979, Technometrics 21:341).
  From the sample moments of the training SPE (Nomikos & MacGregor 1995, Technometrics 37:41):
  ``g = v/(2m)``, ``h = 2m²/v``.
- DModX (Eriksson et al. 2006, *Multi- and Megavariate Data Analysis*, app. I):
  ``sqrt(F(k-a, (n-a-1)(k-a)))`` on the normalized distance.
- A distribution-free limit: the ``alpha`` quantile of a Gaussian kernel density estimate of the
  statistic on normal operation (Silverman's bandwidth; Odiowei & Cao 2010, IEEE Trans. Ind.
  Inf. 6:36, for CVA).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring.scaling import MonitoringInputError


def check_alpha(alpha: float) -> float:
    """``alpha`` validated as a confidence level in (0, 1)."""
    if not 0.0 < alpha < 1.0:
        raise MonitoringInputError(f"alpha: {alpha} is not a confidence level in (0, 1)")
    return float(alpha)


def t2_limit(a: int, n: int, alpha: float = 0.99) -> float:
    """T² limit for a new observation (F distribution, Tracy, Young & Mason 1992)."""
    check_alpha(alpha)
    if not 0 < a < n:
        raise MonitoringInputError(f"components: {a} must be between 1 and n_train - 1 = {n - 1}")
    f = float(stats.f.ppf(alpha, a, n - a))
    return a * (n - 1) * (n + 1) / (n * (n - a)) * f


def t2_limit_training(a: int, n: int, alpha: float = 0.99) -> float:
    """T² limit for a row of the training data itself (Beta distribution, same paper)."""
    check_alpha(alpha)
    if not 0 < a < n - 1:
        raise MonitoringInputError(f"components: {a} must be between 1 and n_train - 2")
    return (n - 1) ** 2 / n * float(stats.beta.ppf(alpha, a / 2, (n - a - 1) / 2))


def _thetas(eigenvalues: FloatArray) -> tuple[float, float, float]:
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lam = lam[lam > 0]
    if lam.size == 0:
        raise MonitoringInputError("residual_eigenvalues: no positive residual variance left")
    return float(lam.sum()), float((lam**2).sum()), float((lam**3).sum())


def spe_limit_box(eigenvalues: FloatArray, alpha: float = 0.99) -> float:
    """SPE limit ``g chi2_alpha(h)`` from the residual eigenvalues (Box 1954)."""
    check_alpha(alpha)
    t1, t2, _ = _thetas(eigenvalues)
    g, h = t2 / t1, t1 * t1 / t2
    return g * float(stats.chi2.ppf(alpha, h))


def spe_limit_jackson(eigenvalues: FloatArray, alpha: float = 0.99) -> float:
    """SPE limit of Jackson & Mudholkar (1979) from the residual eigenvalues."""
    check_alpha(alpha)
    t1, t2, t3 = _thetas(eigenvalues)
    h0 = 1.0 - 2.0 * t1 * t3 / (3.0 * t2 * t2)
    if h0 <= 0:
        raise MonitoringInputError(
            f"spe limit: Jackson-Mudholkar h0 = {h0:.3g} <= 0 for these eigenvalues; use 'box'"
        )
    z = float(stats.norm.ppf(alpha))
    inner = z * math.sqrt(2.0 * t2 * h0 * h0) / t1 + 1.0 + t2 * h0 * (h0 - 1.0) / (t1 * t1)
    return float(t1 * inner ** (1.0 / h0))


def spe_limit(eigenvalues: FloatArray, alpha: float = 0.99, method: str = "box") -> float:
    """The SPE limit from the residual eigenvalues by ``method``: ``box`` (Box 1954) or
    ``jackson`` (Jackson & Mudholkar 1979)."""
    if method == "box":
        return spe_limit_box(eigenvalues, alpha)
    if method == "jackson":
        return spe_limit_jackson(eigenvalues, alpha)
    raise MonitoringInputError(f"method: {method!r} is not 'box' or 'jackson'")


def spe_limit_moments(spe: FloatArray, alpha: float = 0.99) -> float:
    """SPE limit from the mean and variance of training SPE (Nomikos & MacGregor 1995)."""
    check_alpha(alpha)
    values = np.asarray(spe, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise MonitoringInputError("spe: need at least 2 finite values for a moment limit")
    m, v = float(values.mean()), float(values.var(ddof=1))
    if m <= 0 or v <= 0:
        raise MonitoringInputError("spe: no spread in the training SPE")
    return v / (2 * m) * float(stats.chi2.ppf(alpha, 2 * m * m / v))


def dmodx_limit(k: int, a: int, n: int, alpha: float = 0.99) -> float:
    """Limit of the normalized DModX, ``sqrt(F(k-a, (n-a-1)(k-a)))`` (Eriksson et al. 2006)."""
    check_alpha(alpha)
    if not 0 <= a < k or n - a - 1 <= 0:
        raise MonitoringInputError(f"components: {a} leaves no residual degrees of freedom")
    return math.sqrt(float(stats.f.ppf(alpha, k - a, (n - a - 1) * (k - a))))


def kde_limit(values: FloatArray, alpha: float = 0.99) -> float:
    """``alpha`` quantile of a Gaussian KDE of ``values`` (Silverman's rule-of-thumb bandwidth)."""
    check_alpha(alpha)
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        raise MonitoringInputError("values: need at least 2 finite values for a KDE limit")
    sd = float(v.std(ddof=1))
    iqr = float(np.subtract(*np.percentile(v, [75, 25])))
    spread = min(sd, iqr / 1.349) if iqr > 0 else sd
    if spread <= 0:
        return float(v[0])
    h = 0.9 * spread * v.size ** (-0.2)

    def excess(q: float) -> float:
        return float(special.ndtr((q - v) / h).mean()) - alpha

    lo, hi = float(v.min()) - 10 * h, float(v.max()) + 10 * h
    return float(optimize.brentq(excess, lo, hi, xtol=1e-12 * max(1.0, abs(hi))))
