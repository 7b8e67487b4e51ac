"""Scaling of columns: exact centring and divisors, NaN handling, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.scaling import MonitoringInputError, Scaler, Scaling, as_matrix


def data() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.normal([1.0, -5.0, 100.0], [0.5, 2.0, 30.0], size=(40, 3))


def test_autoscale_gives_zero_mean_unit_sample_std_and_inverts() -> None:
    x = data()
    s = Scaler.fit(x)
    z = s.transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(s.inverse(z), x, rtol=1e-12)


@pytest.mark.parametrize("how", ["center", "pareto", "none"])
def test_other_scalings(how: Scaling) -> None:
    x = data()
    s = Scaler.fit(x, how)
    scale = np.sqrt(x.std(axis=0, ddof=1)) if how == "pareto" else np.ones(3)
    np.testing.assert_allclose(s.scale, scale, rtol=1e-12)
    expected_mean = np.zeros(3) if how == "none" else x.mean(axis=0)
    np.testing.assert_allclose(s.mean, expected_mean, rtol=1e-12)


def test_missing_values_are_skipped_and_kept_missing() -> None:
    x = data()
    x[[0, 5, 9], [0, 1, 1]] = np.nan
    s = Scaler.fit(x)
    np.testing.assert_allclose(s.mean, np.nanmean(x, axis=0))
    np.testing.assert_allclose(s.scale, np.nanstd(x, axis=0, ddof=1))
    z = s.transform(x)
    assert np.array_equal(np.isnan(z), np.isnan(x))


def test_constant_column_is_centred_not_divided_by_zero() -> None:
    x = data()
    x[:, 1] = 7.0
    s = Scaler.fit(x)
    assert s.scale[1] == 1.0
    assert np.all(s.transform(x)[:, 1] == 0.0)


def test_errors_name_the_problem() -> None:
    x = data()
    with pytest.raises(MonitoringInputError, match="scaling: 'unit' is not one of"):
        Scaler.fit(x, "unit")  # type: ignore[arg-type]
    x[:, 2] = np.nan
    with pytest.raises(MonitoringInputError, match="column 2 has no observed value"):
        Scaler.fit(x)
    s = Scaler.fit(data())
    with pytest.raises(MonitoringInputError, match="x: 2 columns, the model was fitted on 3"):
        s.transform(np.zeros((4, 2)))
    bad = data()
    bad[3, 1] = np.inf
    with pytest.raises(MonitoringInputError, match="infinite value at row 3, column 1"):
        as_matrix(bad)
    with pytest.raises(MonitoringInputError, match="x: not numeric"):
        as_matrix([["a", "b"]])


def test_dict_round_trip_and_bad_fields() -> None:
    s = Scaler.fit(data(), "pareto")
    back = Scaler.from_dict(s.to_dict())
    assert back.how == "pareto"
    np.testing.assert_array_equal(back.mean, s.mean)
    np.testing.assert_array_equal(back.scale, s.scale)
    with pytest.raises(MonitoringInputError, match=r"scaler\.scale: missing"):
        Scaler.from_dict({"how": "center", "mean": [1.0]})
    with pytest.raises(MonitoringInputError, match=r"scaler\.scale: values must be positive"):
        Scaler.from_dict({"how": "center", "mean": [1.0], "scale": [0.0]})
