"""The spectroscopic soft sensor on synthetic spectra with known composition."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring.scaling import MonitoringInputError
from pharmatwin.monitoring.soft_sensor import SoftSensor, calibrate, grouped_cv
from pharmatwin.monitoring.spectra import Preprocessing

WN = np.arange(400.0, 1802.0, 4.0)
RANGES = {"a": (0.0, 40.0), "b": (0.0, 30.0)}
FIRST = Preprocessing(regions=((800.0, 1500.0),), window=11, polyorder=2, deriv=1)
SECOND = Preprocessing(regions=((800.0, 1500.0),), window=15, polyorder=3, deriv=2)


def band(center: float, width: float = 10.0) -> FloatArray:
    return np.exp(-0.5 * ((WN - center) / width) ** 2)


PURE = {
    "a": 20.0 * (band(1125.0) + 0.5 * band(911.0) + 0.4 * band(1065.0)),
    "b": 20.0 * (band(857.0) + 0.6 * band(1043.0) + 0.4 * band(1418.0)),
    "c": 60.0 * (band(1003.0, 5.0) + 0.8 * band(1450.0, 15.0)),  # an interferent
}


def batch(
    rng: np.random.Generator, n: int, **fixed: float
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """``n`` spectra of random composition on a random sloping baseline with noise."""
    conc = {k: rng.uniform(*RANGES[k], n) for k in RANGES}
    conc.update({k: np.full(n, v) for k, v in fixed.items()})
    c = rng.uniform(0.0, 5.0, n)
    x = conc["a"][:, None] * PURE["a"] + conc["b"][:, None] * PURE["b"] + c[:, None] * PURE["c"]
    x += rng.uniform(500.0, 2000.0, (n, 1)) + rng.uniform(-0.5, 0.5, (n, 1)) * (WN - 400.0)
    x += rng.normal(0.0, 4.0, x.shape)
    return x, conc


@pytest.fixture(scope="module")
def calibration() -> tuple[FloatArray, dict[str, FloatArray], FloatArray]:
    rng = np.random.default_rng(11)
    parts = [batch(rng, 25) for _ in range(6)]
    x = np.vstack([p[0] for p in parts])
    refs = {k: np.concatenate([p[1][k] for p in parts]).astype(float) for k in RANGES}
    groups = np.repeat(np.arange(6), 25).astype(float)
    return x, refs, groups


@pytest.fixture(scope="module")
def sensor(calibration: tuple[FloatArray, dict[str, FloatArray], FloatArray]) -> SoftSensor:
    x, refs, groups = calibration
    return calibrate(WN, x, refs, groups, units={"a": "mM", "b": "mM"}, candidates=(FIRST, SECOND))


def test_calibration_chooses_components_and_predicts_new_batches(sensor: SoftSensor) -> None:
    assert sensor.preprocessing in (FIRST, SECOND)
    for a in sensor.analytes:
        # three species and a sloping baseline: a handful of components, not one, not ten
        assert 2 <= a.model.n_components <= 6
        assert a.rmsec <= a.rmsecv < 1.0
        assert len(a.rmsecv_curve) >= a.model.n_components
        assert a.rmsecv == pytest.approx(min(a.rmsecv_curve), rel=0.1)
    x, truth = batch(np.random.default_rng(99), 60)
    p = sensor.predict(x)
    assert p.names == ("a", "b")
    for name in ("a", "b"):
        value, sd = p.of(name)
        rmsep = float(np.sqrt(np.mean((value - truth[name]) ** 2)))
        # noise of 4 counts on bands of 20 counts per unit: well below 1 unit
        assert rmsep < 0.6
        # the stated uncertainty covers the errors (RMSECV sqrt(1 + h) >= RMSECV)
        assert (sd >= sensor.analyte(name).rmsecv).all()
        assert np.mean(np.abs(value - truth[name]) <= 2.0 * sd) >= 0.9
    assert p.in_domain.mean() >= 0.9


def test_spectra_outside_the_calibration_are_flagged(sensor: SoftSensor) -> None:
    rng = np.random.default_rng(5)
    normal, _ = batch(rng, 10)
    foreign = normal + 200.0 * band(1300.0)  # a species the calibration never saw
    p = sensor.predict(foreign)
    assert not p.in_domain.any()
    assert (p.spe > np.array(sensor.spe_limits)).all()
    extrapolated, _ = batch(rng, 10, a=90.0)  # twice the calibrated range
    q = sensor.predict(extrapolated)
    assert not q.in_range.any() and not q.in_domain.any()


def test_the_sensor_round_trips_through_json(sensor: SoftSensor) -> None:
    text = sensor.to_json()
    again = SoftSensor.from_json(text)
    x, _ = batch(np.random.default_rng(3), 5)
    a, b = sensor.predict(x), again.predict(x)
    assert np.allclose(a.values, b.values, rtol=1e-12)
    assert np.allclose(a.sd, b.sd, rtol=1e-12)
    assert np.array_equal(a.in_domain, b.in_domain)
    assert again.spe_limits == pytest.approx(sensor.spe_limits)
    doc = json.loads(text)
    doc["kind"] = "pca"
    with pytest.raises(MonitoringInputError, match="kind"):
        SoftSensor.from_dict(doc)
    with pytest.raises(MonitoringInputError, match="soft sensor"):
        SoftSensor.from_json("{not json")


def test_grouped_cross_validation_falls_then_levels(
    calibration: tuple[FloatArray, dict[str, FloatArray], FloatArray],
) -> None:
    x, refs, groups = calibration
    z = FIRST.apply(WN, x)
    press, spe = grouped_cv(z, refs["a"], groups, 6)
    assert press.shape == (7,) and spe.shape == (7, x.shape[0])
    assert press[3] < 0.01 * press[0]  # three components explain nearly all of it
    # the held-out spectra keep little of their variation once the species are modelled
    assert spe[3].mean() < 0.1 * spe[0].mean()
    with pytest.raises(MonitoringInputError, match="groups"):
        grouped_cv(z, refs["a"], np.zeros(x.shape[0]), 3)


def test_bad_calibration_input_is_named(
    calibration: tuple[FloatArray, dict[str, FloatArray], FloatArray], sensor: SoftSensor
) -> None:
    x, refs, groups = calibration
    with pytest.raises(MonitoringInputError, match="spectra"):
        calibrate(WN[:-1], x, refs, groups)
    with pytest.raises(MonitoringInputError, match=r"references\.a"):
        calibrate(WN, x, {"a": refs["a"][:-1]}, groups)
    with pytest.raises(MonitoringInputError, match="groups"):
        calibrate(WN, x, refs, groups[:-1])
    with pytest.raises(MonitoringInputError, match="candidates"):
        calibrate(WN, x, refs, groups, candidates=())
    with pytest.raises(MonitoringInputError, match="spectra"):
        sensor.predict(x[:, :-1])
    with pytest.raises(MonitoringInputError, match="name"):
        sensor.predict(x[:2]).of("c")
