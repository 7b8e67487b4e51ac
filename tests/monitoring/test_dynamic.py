"""Dynamic PCA and the AIC lag order, on simulated autoregressive processes."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.dynamic import (
    DPCAModel,
    choose_lags,
    fit_dpca,
    lag_matrix,
    var_aic,
)
from pharmatwin.monitoring.pca import fit_pca
from pharmatwin.monitoring.scaling import MonitoringInputError


def var2(n: int, seed: int = 0) -> np.ndarray:
    """A stable 3-variable VAR(2) process with correlated noise."""
    rng = np.random.default_rng(seed)
    a1 = np.array([[0.5, 0.2, 0.0], [0.0, 0.4, 0.1], [0.1, 0.0, 0.3]])
    a2 = np.array([[-0.3, 0.0, 0.0], [0.0, 0.25, 0.0], [0.0, 0.1, -0.2]])
    mix = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.2, 0.3, 1.0]])
    e = rng.normal(size=(n + 50, 3)) @ mix.T
    y = np.zeros((n + 50, 3))
    for t in range(2, n + 50):
        y[t] = a1 @ y[t - 1] + a2 @ y[t - 2] + e[t]
    return y[50:]


def test_lag_matrix_layout() -> None:
    x = np.arange(12.0).reshape(6, 2)
    lagged = lag_matrix(x, 2)
    assert lagged.shape == (4, 6)
    np.testing.assert_array_equal(lagged[0], [4, 5, 2, 3, 0, 1])  # y_2, y_1, y_0
    np.testing.assert_array_equal(lagged[-1], [10, 11, 8, 9, 6, 7])
    with pytest.raises(MonitoringInputError, match="lags: -1"):
        lag_matrix(x, -1)


def test_aic_finds_the_autoregressive_order() -> None:
    y = var2(2000)
    aic = var_aic(y, 5)
    assert int(np.argmin(aic)) + 1 == 2
    assert choose_lags(y) == 2


def test_dpca_statistics_align_and_decompose() -> None:
    y = var2(600)
    m = fit_dpca(y)
    assert m.lags == 2 and m.n_vars == 3
    new = var2(300, seed=1)
    t2, spe = m.t2(new), m.spe(new)
    assert t2.shape == (300,) and np.all(np.isnan(t2[:2])) and np.all(np.isfinite(t2[2:]))
    np.testing.assert_allclose(np.nansum(m.t2_contributions(new), axis=1)[2:], t2[2:], rtol=1e-9)
    np.testing.assert_allclose(np.nansum(m.spe_contributions(new), axis=1)[2:], spe[2:], rtol=1e-9)
    # fresh normal data: false alarms near the nominal 1 %
    assert np.mean(t2[2:] > m.t2_limit()) < 0.05
    assert np.mean(spe[2:] > m.spe_limit()) < 0.05
    back = DPCAModel.from_dict(m.to_dict())
    np.testing.assert_allclose(back.t2(new)[2:], t2[2:], rtol=1e-12)


def test_dpca_sees_a_change_of_dynamics_static_pca_misses() -> None:
    """Same marginal distribution, reversed autocorrelation of variable 0: invisible to static
    PCA (each row alone looks normal), flagged by the lagged model."""
    rng = np.random.default_rng(2)
    n = 1500
    e = rng.normal(size=(n, 2))
    x = np.zeros((n, 2))
    for t in range(1, n):
        x[t, 0] = 0.9 * x[t - 1, 0] + e[t, 0] * np.sqrt(1 - 0.81)
    x[:, 1] = x[:, 0] + 0.3 * e[:, 1]
    faulty = x.copy()
    for t in range(1, n):
        faulty[t, 0] = -0.9 * faulty[t - 1, 0] + e[t, 0] * np.sqrt(1 - 0.81)
    faulty[:, 1] = faulty[:, 0] + 0.3 * e[:, 1]
    train, test = x[:1000], faulty[1000:]
    static = fit_pca(train, 1)
    static_rate = max(
        np.mean(static.t2(test) > static.t2_limit()), np.mean(static.spe(test) > static.spe_limit())
    )
    dynamic = fit_dpca(train, lags=1, n_components=1)
    rate = max(
        np.mean(dynamic.t2(test)[1:] > dynamic.t2_limit()),
        np.mean(dynamic.spe(test)[1:] > dynamic.spe_limit()),
    )
    # the reversal shows when |y_(t-1)| is large, so about half the samples (measured 0.50)
    assert static_rate < 0.05
    assert rate > 0.3
