"""Alignment of batch trajectories: maturity, binning, holds, resampling, DTW."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.batch_align import (
    AlignmentError,
    bin_increments,
    bin_means,
    dtw_align,
    dtw_path,
    held_values,
    maturity_from_indicator,
    resample,
)


def test_maturity_is_monotone_and_scaled_from_zero_to_one() -> None:
    indicator = np.array([10.0, 12.0, 11.5, np.nan, 15.0, 20.0])
    m = maturity_from_indicator(indicator)
    assert m[0] == 0.0 and m[-1] == 1.0
    assert np.all(np.diff(m) >= 0)
    assert m[2] == m[1]  # noise does not move maturity back
    assert m[3] == m[2]  # a missing reading keeps the maturity reached
    assert m[4] == pytest.approx(0.5)


def test_maturity_with_explicit_end_points_is_clipped() -> None:
    m = maturity_from_indicator(np.array([0.0, 5.0, 10.0, 30.0]), start=0.0, end=20.0)
    np.testing.assert_allclose(m, [0.0, 0.25, 0.5, 1.0])


@pytest.mark.parametrize(
    ("indicator", "word"),
    [(np.array([1.0]), "at least 2"), (np.array([3.0, 3.0, 2.0]), "does not progress")],
)
def test_unusable_indicators_are_refused(indicator: np.ndarray, word: str) -> None:
    with pytest.raises(AlignmentError, match=word):
        maturity_from_indicator(indicator)


def test_bin_means_average_each_bin_and_skip_missing_values() -> None:
    t = np.arange(0.0, 3.0, 0.25)  # 4 readings per hour
    values = np.stack([t, 2 * t], axis=1)
    values[1, 0] = np.nan
    out = bin_means(t, values, np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(out[0], [(0.0 + 0.5 + 0.75) / 3, 0.75])
    np.testing.assert_allclose(out[1:3, 1], [2.75, 4.75])
    assert np.isnan(out[3]).all()  # no reading in the last bin


def test_bin_increments_give_the_flow_of_a_totalizer() -> None:
    t = np.arange(0.0, 4.0, 1 / 60)  # every minute, the last reading 1 min before 4 h
    total = np.where(t < 2.0, 0.0, 1.5 * (t - 2.0))  # a pump starting at 2 h, 1.5 L/h
    out = bin_increments(t, total[:, None], np.arange(0.0, 6.0))
    np.testing.assert_allclose(out[:4, 0], [0.0, 0.0, 1.5, 1.5 * (1 - 1 / 60)], atol=1e-9)
    assert np.isnan(out[4, 0])  # not covered by the readings


def test_held_values_keep_the_latest_result_available_by_the_end_of_each_bin() -> None:
    available = np.array([0.5, 24.5, 48.5])
    values = np.array([1.0, np.nan, 3.0])
    out = held_values(available, values, np.array([0.0, 0.25, 1.0, 25.0, 48.0, 49.0]))
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[1:], [1.0, 1.0, 1.0, 3.0])  # NaN result: 1.0 held


def test_resample_interpolates_without_extrapolating() -> None:
    m = np.array([0.0, 1.0, 2.0])
    out = resample(m, np.array([0.0, 10.0, 20.0]), np.array([-0.5, 0.5, 1.5, 2.5]))
    np.testing.assert_allclose(out[1:3], [5.0, 15.0])
    assert np.isnan(out[0]) and np.isnan(out[3])


def test_decreasing_maturity_and_bad_edges_are_refused() -> None:
    with pytest.raises(AlignmentError, match="must not decrease"):
        bin_means(np.array([0.0, 2.0, 1.0]), np.zeros(3), np.array([0.0, 3.0]))
    with pytest.raises(AlignmentError, match="edges"):
        bin_means(np.array([0.0, 1.0]), np.zeros(2), np.array([1.0, 1.0]))
    with pytest.raises(AlignmentError, match="rows"):
        resample(np.array([0.0, 1.0]), np.zeros(3), np.array([0.5]))


def _naive_dtw(cost: np.ndarray) -> float:
    g, n = cost.shape
    acc = np.full((g, n), np.inf)
    for i in range(g):
        for j in range(n):
            if i == 0 and j == 0:
                acc[i, j] = cost[i, j]
                continue
            best = min(
                acc[i - 1, j - 1] if i and j else np.inf,
                acc[i - 1, j] if i else np.inf,
                acc[i, j - 1] if j else np.inf,
            )
            acc[i, j] = cost[i, j] + best
    return float(acc[-1, -1])


def test_dtw_distance_matches_the_textbook_recursion() -> None:
    rng = np.random.default_rng(3)
    reference = rng.standard_normal((25, 2))
    batch = rng.standard_normal((31, 2))
    path = dtw_path(reference, batch)
    cost = ((reference[:, None, :] - batch[None, :, :]) ** 2).sum(axis=2)
    assert path.distance == pytest.approx(_naive_dtw(cost))
    assert path.reference[0] == 0 and path.batch[0] == 0
    assert path.reference[-1] == 24 and path.batch[-1] == 30
    steps = np.stack([np.diff(path.reference), np.diff(path.batch)], axis=1)
    assert set(map(tuple, steps.tolist())) <= {(1, 0), (0, 1), (1, 1)}


def test_dtw_aligns_a_batch_that_ran_at_another_pace() -> None:
    t = np.linspace(0.0, 1.0, 120)
    reference = np.stack([np.sin(5 * t), t**2], axis=1)
    slow = np.linspace(0.0, 1.0, 170) ** 1.4  # same trajectory, a different pace
    batch = np.stack([np.sin(5 * slow), slow**2], axis=1)
    aligned, path = dtw_align(reference, batch, band=40)
    assert path.distance < 1.0
    assert aligned.shape == reference.shape
    assert np.abs(aligned - reference).max() < 0.05
    naive = np.stack([np.interp(t, np.linspace(0, 1, 170), batch[:, k]) for k in range(2)], 1)
    assert np.abs(naive - reference).max() > 0.2  # time alone would not align them


def test_dtw_weights_and_band_are_checked() -> None:
    a = np.zeros((10, 2))
    with pytest.raises(AlignmentError, match="weights"):
        dtw_path(a, a, weights=np.array([1.0, -1.0]))
    with pytest.raises(AlignmentError, match="band"):
        dtw_path(a, a, band=0)
    with pytest.raises(AlignmentError, match="finite"):
        dtw_path(a, np.full((10, 2), np.nan))
