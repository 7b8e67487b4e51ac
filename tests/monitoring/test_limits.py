"""Control limits against exact distributions and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pharmatwin.monitoring import limits
from pharmatwin.monitoring.scaling import MonitoringInputError


def test_t2_limit_is_the_tracy_young_mason_f_form() -> None:
    a, n = 3, 50
    expected = a * (n - 1) * (n + 1) / (n * (n - a)) * stats.f.ppf(0.99, a, n - a)
    assert limits.t2_limit(a, n, 0.99) == pytest.approx(expected, rel=1e-12)
    beta = (n - 1) ** 2 / n * stats.beta.ppf(0.95, a / 2, (n - a - 1) / 2)
    assert limits.t2_limit_training(a, n, 0.95) == pytest.approx(beta, rel=1e-12)


def test_t2_limit_holds_for_new_observations_by_simulation() -> None:
    """With the mean and covariance estimated from n = 20 rows, a new row's T² exceeds the
    95 % F limit 5 % of the time (exactly, under normality); the chi² limit is too small."""
    rng = np.random.default_rng(3)
    sets, n, a = 20000, 20, 2
    train = rng.normal(size=(sets, n, a))
    new = rng.normal(size=(sets, a))
    d = new - train.mean(axis=1)
    centred = train - train.mean(axis=1, keepdims=True)
    cov = np.einsum("snj,snk->sjk", centred, centred) / (n - 1)
    t2 = np.einsum("sj,sj->s", d, np.linalg.solve(cov, d[..., None])[..., 0])
    share = float(np.mean(t2 > limits.t2_limit(a, n, 0.95)))
    assert abs(share - 0.05) < 0.006  # binomial sd 0.0015
    assert float(np.mean(t2 > stats.chi2.ppf(0.95, a))) > 0.07


def test_box_limit_is_exact_for_equal_eigenvalues() -> None:
    lam = np.full(6, 0.3)
    assert limits.spe_limit_box(lam, 0.99) == pytest.approx(0.3 * stats.chi2.ppf(0.99, 6))
    # Jackson-Mudholkar is an approximation of the same quantile
    assert limits.spe_limit_jackson(lam, 0.99) == pytest.approx(
        0.3 * stats.chi2.ppf(0.99, 6), rel=0.02
    )


def test_spe_limits_match_simulated_quadratic_form() -> None:
    """SPE of Gaussian residuals is sum(lambda_i chi2_1); both limits are approximations of
    its 99 % quantile: for these unequal eigenvalues Box's two-moment chi² is a little liberal
    (about 1.2 % above) and Jackson-Mudholkar a little conservative (about 0.7 %)."""
    lam = np.array([2.0, 1.0, 0.5, 0.25, 0.1, 0.1, 0.05])
    rng = np.random.default_rng(4)
    spe = (rng.normal(size=(400_000, lam.size)) ** 2) @ lam
    box = float(np.mean(spe > limits.spe_limit_box(lam, 0.99)))
    jackson = float(np.mean(spe > limits.spe_limit_jackson(lam, 0.99)))
    assert 0.010 < box < 0.015  # binomial sd 0.00016
    assert 0.005 < jackson < 0.010


def test_moment_limit_recovers_scaled_chi2() -> None:
    rng = np.random.default_rng(5)
    values = 0.7 * rng.chisquare(4, size=200_000)
    assert limits.spe_limit_moments(values, 0.99) == pytest.approx(
        0.7 * stats.chi2.ppf(0.99, 4), rel=0.02
    )


def test_kde_limit_is_near_the_quantile() -> None:
    rng = np.random.default_rng(6)
    values = rng.normal(size=20_000)
    limit = limits.kde_limit(values, 0.99)
    # smoothing (bandwidth 0.12 here) moves it only slightly off the sample quantile; the
    # sample quantile itself has a standard error of about 0.03 around the true 2.326
    assert limit == pytest.approx(np.quantile(values, 0.99), abs=0.03)
    assert limit == pytest.approx(stats.norm.ppf(0.99), abs=0.1)


def test_dmodx_limit() -> None:
    k, a, n = 10, 3, 40
    f = stats.f.ppf(0.95, k - a, (n - a - 1) * (k - a))
    assert limits.dmodx_limit(k, a, n, 0.95) == pytest.approx(np.sqrt(f))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(MonitoringInputError, match=r"alpha: 1\.5"):
        limits.t2_limit(2, 10, 1.5)
    with pytest.raises(MonitoringInputError, match="components: 10"):
        limits.t2_limit(10, 10)
    with pytest.raises(MonitoringInputError, match="no positive residual variance"):
        limits.spe_limit_box(np.zeros(3))
