"""Canonical variate analysis: exact properties of the canonical variates, and detection."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.cva import CVAModel, fit_cva, past_future
from pharmatwin.monitoring.scaling import MonitoringInputError


def state_space(n: int, seed: int = 0, bias: float = 0.0) -> np.ndarray:
    """Two slow states seen through 6 noisy outputs; ``bias`` shifts the first state's input
    from row n // 2 on (a fault the controller-free process carries into every output)."""
    rng = np.random.default_rng(seed)
    a = np.array([[0.9, 0.1], [-0.1, 0.8]])
    c = np.random.default_rng(99).normal(size=(6, 2))  # the same plant for every seed
    x = np.zeros(2)
    out = np.empty((n, 6))
    for t in range(n):
        drive = rng.normal(size=2) * 0.5 + (bias if t >= n // 2 else 0.0) * np.array([1.0, 0.0])
        x = a @ x + drive
        out[t] = c @ x + 0.3 * rng.normal(size=6)
    return out


def test_past_future_blocks() -> None:
    z = np.arange(10.0)[:, None]
    past, future = past_future(z, 2)
    np.testing.assert_array_equal(past[0], [1, 0])  # y_t, y_(t-1) at t = 1
    np.testing.assert_array_equal(future[0], [2, 3])  # y_(t+1), y_(t+2)
    assert past.shape == (7, 2) and future.shape == (7, 2)


def test_training_states_are_white_and_statistics_have_exact_means() -> None:
    """States and residual variates are uncorrelated with unit variance on the training data, so
    the mean T2 is r and the mean Tr is q - r (over the pairs, up to the ddof factor)."""
    y = state_space(1500)
    m = fit_cva(y, lags=3, n_states=4)
    s = m.statistics(y)
    rows = slice(m.lags - 1, len(y) - m.lags)  # the pairs the model was fitted on
    n = m.n_train
    q = m.directions.shape[0]
    assert np.nanmean(s.t2[rows]) * n / (n - 1) == pytest.approx(4, rel=0.02)
    assert np.nanmean(s.tr[rows]) * n / (n - 1) == pytest.approx(q - 4, rel=0.02)
    assert m.correlations[0] > 0.8 and m.correlations[2] < m.correlations[1]


def test_detects_a_shift_with_few_false_alarms() -> None:
    train = state_space(1000, seed=1)
    m = fit_cva(train)
    normal = state_space(1000, seed=2)
    faulty = state_space(1000, seed=3, bias=1.0)
    for name in ("T2", "Tr", "Q"):
        limit = m.limit(name)
        values = m.statistics(normal).get(name)
        assert np.nanmean(values > limit) < 0.05, name
    # the slow state needs a few samples to move: count from 20 samples after the onset
    detected = m.statistics(faulty).t2[520:] > m.limit("T2")
    assert np.mean(detected) > 0.9
    assert np.mean(m.statistics(faulty).t2[:500] > m.limit("T2")) < 0.05


def test_limits_and_errors() -> None:
    y = state_space(600)
    m = fit_cva(y, lags=2, n_states=3)
    assert isinstance(m, CVAModel)
    assert m.limit("T2", method="f") > 0 and m.limit("Tr", method="f") > 0
    assert m.limit("Q", method="f") > 0 and m.limit("Q", 0.99) > m.limit("Q", 0.9)
    with pytest.raises(MonitoringInputError, match="statistic: 'X'"):
        m.limit("X")  # type: ignore[arg-type]
    holed = y.copy()
    holed[5, 2] = np.nan
    with pytest.raises(MonitoringInputError, match="missing value at row 5, column 2"):
        fit_cva(holed)
    with pytest.raises(MonitoringInputError, match="n_states: 12 is not between 1 and 11"):
        fit_cva(y, lags=2, n_states=12)
