"""Cross-validated number of components on data of known rank."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.crossval import (
    choose_by_ratio,
    choose_components,
    fold_slices,
    press_pca,
)
from pharmatwin.monitoring.pca import fit_pca
from pharmatwin.monitoring.scaling import MonitoringInputError


def rank_data(rank: int, n: int = 200, k: int = 10, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, rank)) * np.linspace(3, 1.5, rank)
    loadings = rng.normal(size=(rank, k))
    return scores @ loadings + 0.3 * rng.normal(size=(n, k))


@pytest.mark.parametrize("rank", [1, 3, 5])
def test_pca_rank_is_recovered(rank: int) -> None:
    assert choose_components(rank_data(rank)) == rank
    assert fit_pca(rank_data(rank)).n_components == rank


def test_press_falls_to_the_rank_then_rises() -> None:
    press = press_pca(rank_data(3), max_components=6)
    assert np.all(np.diff(press[:4]) < 0)
    assert press[4] > press[3]


def test_rank_is_recovered_with_missing_values() -> None:
    x = rank_data(3, seed=2)
    x[np.random.default_rng(3).random(x.shape) < 0.05] = np.nan
    assert choose_components(x) == 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pls_components(seed: int) -> None:
    """X of rank 3 (plus a little noise), y from all three latent variables: 3 components.
    Centred, not autoscaled: autoscaling would blow the noise of weak columns up to unit
    variance, and a PLS on such data legitimately wants more components."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(150, 3))
    x = latent @ rng.normal(size=(3, 8)) + 0.05 * rng.normal(size=(150, 8))
    y = latent @ np.array([[1.0], [-1.5], [0.8]]) + 0.1 * rng.normal(size=(150, 1))
    assert choose_components(x, y, scaling="center") == 3


def test_folds_and_rule() -> None:
    blocks = fold_slices(10, 3)
    assert [(b.start, b.stop) for b in blocks] == [(0, 3), (3, 7), (7, 10)]
    assert choose_by_ratio(np.array([10.0, 5.0, 4.9, 4.95])) == 2
    assert choose_by_ratio(np.array([10.0, 5.0, 4.9, 4.95]), ratio=0.9) == 1
    assert choose_by_ratio(np.array([10.0, 11.0])) == 1
    with pytest.raises(MonitoringInputError, match="folds: 1 is not between 2"):
        fold_slices(10, 1)
    with pytest.raises(MonitoringInputError, match="ratio: 0"):
        choose_components(rank_data(2), ratio=0)
