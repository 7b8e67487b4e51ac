"""PLS by NIPALS: exact cases (one y, full rank), W*, missing data and statistics."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.pls import PLSModel, fit_pls, nipals_pls
from pharmatwin.monitoring.scaling import MonitoringInputError


def regression_data(
    n: int = 80, k: int = 6, m: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    x = latent @ rng.normal(size=(2, k)) + 0.3 * rng.normal(size=(n, k)) + 4.0
    y = latent @ rng.normal(size=(2, m)) + 0.05 * rng.normal(size=(n, m)) - 2.0
    return x, y


def test_pls1_with_all_components_is_least_squares() -> None:
    x, y = regression_data()
    m = fit_pls(x, y, 6, scaling="center")
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    beta, *_ = np.linalg.lstsq(xc, yc, rcond=None)
    np.testing.assert_allclose(m.predict(x), xc @ beta + y.mean(axis=0), atol=1e-8)
    np.testing.assert_allclose(m.coefficients, beta, atol=1e-8)


def test_pls1_first_weight_is_the_normalized_covariance() -> None:
    x, y = regression_data()
    m = fit_pls(x, y, 1, scaling="autoscale")
    zx = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    zy = (y - y.mean(axis=0)) / y.std(axis=0, ddof=1)
    w = zx.T @ zy[:, 0]
    np.testing.assert_allclose(m.weights[:, 0], w / np.linalg.norm(w), atol=1e-12)


def test_pls2_first_weight_is_the_dominant_singular_vector() -> None:
    x, y = regression_data(m=3)
    zx = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    zy = (y - y.mean(axis=0)) / y.std(axis=0, ddof=1)
    u = np.linalg.svd(zx.T @ zy)[0][:, 0]
    m = fit_pls(x, y, 1)
    assert abs(float(u @ m.weights[:, 0])) == pytest.approx(1.0, abs=1e-8)


def test_w_star_gives_the_training_scores_and_scores_are_orthogonal() -> None:
    x, y = regression_data(m=2)
    m = fit_pls(x, y, 3)
    zx = m.x_scaler.transform(x)
    t, *_ = nipals_pls(zx, m.y_scaler.transform(y), 3)
    np.testing.assert_allclose(zx @ m.w_star, t, atol=1e-10)
    np.testing.assert_allclose(m.scores(x), t, atol=1e-10)
    gram = t.T @ t
    assert np.max(np.abs(gram - np.diag(np.diag(gram)))) < 1e-8 * np.max(gram)


def test_missing_x_values_are_tolerated() -> None:
    x, y = regression_data(n=150, seed=3)
    complete = fit_pls(x, y, 2)
    rng = np.random.default_rng(4)
    holed = x.copy()
    holed[rng.random(x.shape) < 0.1] = np.nan
    m = fit_pls(holed, y, 2)
    rmse = float(np.sqrt(np.mean((m.predict(holed) - y) ** 2)))
    full_rmse = float(np.sqrt(np.mean((complete.predict(x) - y) ** 2)))
    assert rmse < 2.0 * full_rmse
    # rows with a gap are still predicted (single-component projection), close to complete
    row = x[:5].copy()
    row[:, 1] = np.nan
    assert np.all(np.isfinite(complete.predict(row)))
    assert np.max(np.abs(complete.predict(row) - complete.predict(x[:5]))) < 3 * full_rmse


def test_missing_y_values_are_skipped() -> None:
    x, y = regression_data(m=2, n=120)
    y = y.copy()
    y[::7, 1] = np.nan
    m = fit_pls(x, y, 2)
    assert np.all(np.isfinite(m.predict(x)))


def test_vip_squares_average_one_and_statistics_decompose() -> None:
    x, y = regression_data(m=2)
    m = fit_pls(x, y, 3)
    assert np.mean(m.vip() ** 2) == pytest.approx(1.0, rel=1e-10)
    new = x[:8] * 1.3
    np.testing.assert_allclose(m.t2_contributions(new).sum(axis=1), m.t2(new), rtol=1e-10)
    np.testing.assert_allclose(m.spe_contributions(new).sum(axis=1), m.spe(new), rtol=1e-10)
    assert np.sum(m.t2(x)) == pytest.approx(3 * (len(x) - 1), rel=1e-10)
    assert m.t2_limit() > 0 and m.spe_limit() > 0


def test_round_trip_and_errors() -> None:
    x, y = regression_data()
    m = fit_pls(x, y, 2)
    back = PLSModel.from_dict(m.to_dict())
    np.testing.assert_allclose(back.predict(x), m.predict(x), rtol=1e-12)
    with pytest.raises(MonitoringInputError, match="y: 79 rows, x has 80"):
        fit_pls(x, y[1:], 2)
    with pytest.raises(MonitoringInputError, match="n_components: 7 is not between 1 and 6"):
        fit_pls(x, y, 7)
    bad = m.to_dict()
    bad["y_loadings"] = [[1.0]]
    with pytest.raises(MonitoringInputError, match="y_loadings: shape"):
        PLSModel.from_dict(bad)
