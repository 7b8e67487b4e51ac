"""Online probe against the at-line laboratory: sensor faults are not process faults."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.estimation.sensor_check import ProbeCheck

LAB_SD = 0.02  # blood-gas pH analyser


def feed(check: ProbeCheck, offset_at: object, days: int, seed: int) -> list[float]:
    """Daily samples at 24 h, 48 h, ...; results known 15 min later. Returns detection times."""
    rng = np.random.default_rng(seed)
    found = []
    for day in range(1, days + 1):
        t = 24.0 * day
        truth = 7.0 - 0.01 * day
        online = truth + offset_at(t) + 0.003 * rng.standard_normal()  # type: ignore[operator]
        lab = truth + LAB_SD * rng.standard_normal()
        if check.add(online, lab, t, t + 0.25) is not None:
            found.append(t + 0.25)
    return found


def test_a_calibrated_probe_stays_trusted() -> None:
    for seed in range(20):
        check = ProbeCheck("pH", lab_sd=LAB_SD, threshold=0.08)
        assert feed(check, lambda t: 0.02, 14, seed) == []
        assert np.all(check.correction_at(np.arange(0.0, 340.0, 1.0)) == 0.0)


def test_an_offset_is_found_once_reported_and_corrected() -> None:
    check = ProbeCheck("pH", lab_sd=LAB_SD, threshold=0.08)
    found = feed(check, lambda t: 0.0 if t < 100 else 0.2, 10, seed=1)
    assert len(found) == 1 and found[0] < 200.0
    assert check.fault is not None
    assert check.fault.bias == pytest.approx(0.2, abs=0.05)
    assert check.correction_at(np.array([230.0]))[0] == pytest.approx(0.2, abs=0.05)


def test_a_drift_is_followed_in_time_and_extrapolated() -> None:
    def drift(t: float) -> float:
        return max(t - 72.0, 0.0) * 0.06 / 24.0

    check = ProbeCheck("pH", lab_sd=LAB_SD, threshold=0.08)
    found = feed(check, drift, 10, seed=2)
    assert len(found) == 1 and found[0] <= 24.0 * 6 + 1
    assert check.fault is not None
    assert check.fault.drift_per_day == pytest.approx(0.06, abs=0.02)
    hours = np.array([48.0, 120.0, 200.0, 240.0, 252.0])  # past samples, and 12 h beyond
    expected = np.array([drift(t) for t in hours])
    np.testing.assert_allclose(check.correction_at(hours), expected, atol=0.04)
