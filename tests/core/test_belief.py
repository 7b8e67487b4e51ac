"""Weighted quantiles of an ensemble: the Hazen definition, vectorized over every column."""

from __future__ import annotations

import numpy as np

from pharmatwin.core.belief import weighted_quantiles

LEVELS = [0.0, 0.05, 0.5, 0.95, 1.0]


def column_by_column(values: np.ndarray, weights: np.ndarray, q: list[float]) -> np.ndarray:
    """The definition, one column at a time: each sample at the middle of its cumulative weight,
    linear interpolation between samples, the extreme samples beyond them."""
    out = np.empty((len(q), values.shape[1]))
    for j in range(values.shape[1]):
        order = np.argsort(values[:, j])
        w = weights[order]
        position = (np.cumsum(w) - 0.5 * w) / w.sum()
        out[:, j] = np.interp(q, position, values[order, j])
    return out


def test_unequal_weights_follow_the_definition_in_every_column() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(size=(300, 40))
    weights = rng.random(300)
    weights /= weights.sum()
    ours = weighted_quantiles(values, weights, LEVELS)
    np.testing.assert_allclose(ours, column_by_column(values, weights, LEVELS), rtol=1e-12)


def test_equal_weights_give_the_hazen_sample_quantiles() -> None:
    values = np.random.default_rng(4).normal(size=(201, 3, 2))
    ours = weighted_quantiles(values, np.full(201, 1 / 201), LEVELS)
    assert ours.shape == (len(LEVELS), 3, 2)
    np.testing.assert_allclose(
        ours, np.quantile(values, LEVELS, axis=0, method="hazen"), rtol=1e-12
    )


def test_a_single_member_is_every_quantile() -> None:
    ours = weighted_quantiles(np.array([[2.0, -1.0]]), np.ones(1), LEVELS)
    np.testing.assert_array_equal(ours, np.tile([2.0, -1.0], (len(LEVELS), 1)))
