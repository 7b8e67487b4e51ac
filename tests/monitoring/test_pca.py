"""PCA by NIPALS: exact cases, agreement with the SVD, missing data and statistics."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.pca import PCAModel, fit_pca, nipals_pca
from pharmatwin.monitoring.scaling import MonitoringInputError


def low_rank(
    n: int = 150, k: int = 8, rank: int = 3, noise: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, rank)) * np.array([3.0, 2.0, 1.2, 0.8, 0.5][:rank])
    loadings = np.linalg.qr(rng.normal(size=(k, rank)))[0]
    x = scores @ loadings.T + noise * rng.normal(size=(n, k)) + rng.normal(size=k) * 10
    return x, loadings


def aligned(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` with each column's sign matched to ``b``."""
    out: np.ndarray = a * np.sign(np.sum(a * b, axis=0))
    return out


def test_rank_one_data_is_one_component() -> None:
    rng = np.random.default_rng(2)
    p = np.array([1.0, -2.0, 0.5, 3.0])
    t = rng.normal(size=60)
    x = np.outer(t, p) + np.array([5.0, 1.0, -1.0, 0.0])
    m = fit_pca(x, 1, scaling="center", method="nipals")
    np.testing.assert_allclose(np.abs(m.loadings[:, 0]), np.abs(p) / np.linalg.norm(p), atol=1e-9)
    assert m.explained[0] == pytest.approx(1.0, abs=1e-12)
    assert np.max(m.spe(x)) < 1e-18 * np.sum(x * x)
    assert m.variances[0] == pytest.approx(np.var(t, ddof=1) * np.sum(p * p), rel=1e-9)


def test_nipals_agrees_with_numpy_svd_on_complete_data() -> None:
    x, _ = low_rank(k=8, rank=5, noise=0.3)
    m = fit_pca(x, 4, method="nipals")
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    ref = vt[:4].T
    np.testing.assert_allclose(aligned(m.loadings, ref), ref, atol=1e-8)
    np.testing.assert_allclose(m.variances, s[:4] ** 2 / (len(x) - 1), rtol=1e-8)
    np.testing.assert_allclose(m.residual_eigenvalues[:4], s[4:] ** 2 / (len(x) - 1), rtol=1e-8)
    svd_model = fit_pca(x, 4)  # complete data: the SVD path
    np.testing.assert_allclose(svd_model.t2(x), m.t2(x), rtol=1e-8)
    np.testing.assert_allclose(svd_model.spe(x), m.spe(x), rtol=1e-6, atol=1e-12)


def test_scores_are_orthogonal_and_loadings_orthonormal() -> None:
    x, _ = low_rank(rank=3, noise=0.2)
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    t, p = nipals_pca(z, 3)
    gram = t.T @ t
    assert np.max(np.abs(gram - np.diag(np.diag(gram)))) < 1e-8 * np.max(gram)
    np.testing.assert_allclose(p.T @ p, np.eye(3), atol=1e-10)


def test_training_statistics_have_exact_sums() -> None:
    """sum over training rows of t_a²/s_a² is n - 1 per component; SPE sums to the residual
    sum of squares, (n - 1) times the sum of the residual eigenvalues."""
    x, _ = low_rank(n=120)
    m = fit_pca(x, 3)
    n = len(x)
    assert np.sum(m.t2(x)) == pytest.approx(3 * (n - 1), rel=1e-10)
    assert np.sum(m.spe(x)) == pytest.approx((n - 1) * m.residual_eigenvalues.sum(), rel=1e-10)


def test_contributions_sum_to_the_statistics() -> None:
    x, _ = low_rank()
    m = fit_pca(x, 3)
    new = x[:10] + np.array([0, 0, 3.0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(m.t2_contributions(new).sum(axis=1), m.t2(new), rtol=1e-10)
    np.testing.assert_allclose(m.spe_contributions(new).sum(axis=1), m.spe(new), rtol=1e-10)
    # a sensor bias off the model plane shows in SPE, with the biased variable on top
    biased = x[:20].copy()
    biased[:, 5] += 5 * x[:, 5].std()
    top = np.argmax(m.spe_contributions(biased), axis=1)
    assert np.mean(top == 5) >= 0.9


def test_missing_data_pca_recovers_the_loadings() -> None:
    x, _ = low_rank(n=200, noise=0.1, seed=7)
    complete = fit_pca(x, 3)
    rng = np.random.default_rng(8)
    holed = x.copy()
    holed[rng.random(x.shape) < 0.15] = np.nan
    m = fit_pca(holed, 3)
    # each loading vector within 3 degrees of the complete-data one (cosine > 0.9986)
    cosines = np.abs(np.sum(complete.loadings * m.loadings, axis=0))
    assert cosines.min() > 0.9986
    np.testing.assert_allclose(m.variances, complete.variances, rtol=0.1)


def test_projection_of_rows_with_missing_values_is_exact_in_the_plane() -> None:
    """Rows that lie in the model plane get the same scores from any 3 of their values."""
    x, _ = low_rank(noise=0.0, rank=3)
    m = fit_pca(x, 3)
    rows = x[:12].copy()
    full = m.scores(rows)
    rows[np.arange(12), np.arange(12) % 8] = np.nan
    rows[np.arange(12), (np.arange(12) + 3) % 8] = np.nan
    np.testing.assert_allclose(m.scores(rows), full, atol=1e-8)
    np.testing.assert_allclose(m.reconstruct(rows), x[:12], atol=1e-7)
    np.testing.assert_allclose(m.t2_contributions(rows).sum(axis=1), m.t2(rows), rtol=1e-8)


def test_underdetermined_row_gives_nan() -> None:
    x, _ = low_rank()
    m = fit_pca(x, 3)
    row = x[:1].copy()
    row[0, 2:] = np.nan  # 2 observed values, 3 components
    assert np.isnan(m.t2(row)[0]) and np.isnan(m.spe(row)[0])


def test_limits_dmodx_and_round_trip() -> None:
    x, _ = low_rank(n=100)
    m = fit_pca(x, 3)
    assert m.t2_limit(0.99) > m.t2_limit(0.95) > 0
    assert m.spe_limit(0.99, "jackson") == pytest.approx(m.spe_limit(0.99, "box"), rel=0.15)
    assert np.all(m.dmodx(x) >= 0) and m.dmodx_limit() > 1
    back = PCAModel.from_dict(m.to_dict())
    np.testing.assert_allclose(back.t2(x), m.t2(x), rtol=1e-12)
    np.testing.assert_allclose(back.spe(x), m.spe(x), rtol=1e-12)


def test_bad_input_is_named() -> None:
    x, _ = low_rank()
    with pytest.raises(MonitoringInputError, match="n_components: 0 is not between 1 and 8"):
        fit_pca(x, 0)
    holed = x.copy()
    holed[0, 0] = np.nan
    with pytest.raises(MonitoringInputError, match="method: 'svd' needs complete data"):
        fit_pca(holed, 2, method="svd")
    with pytest.raises(MonitoringInputError, match="loadings: missing"):
        PCAModel.from_dict({"scaler": {"how": "none", "mean": [0.0], "scale": [1.0]}})
    with pytest.raises(MonitoringInputError, match="method: 'q'"):
        fit_pca(x, 2).spe_limit(0.99, "q")  # type: ignore[arg-type]
