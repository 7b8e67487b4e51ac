"""The alarm policy: threshold, persistence in hours, hysteresis, and what an alarm records."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.core.specs import Specification
from pharmatwin.forecasting.alarms import AlarmPolicy, AlarmSettings
from pharmatwin.forecasting.forecast import Forecast, SpecForecast

TITRE = Specification(name="titre", output="titre", unit="g/L", lower=3.5)


def forecast_at(t: float, p_fail: float, violation_h: float = 336.0) -> Forecast:
    spec = SpecForecast(
        TITRE,
        p_fail,
        value_quantiles=np.array([3.0, 3.4, 3.8]),
        violation_quantiles=np.full(3, violation_h),
    )
    times = np.array([t, 336.0])
    return Forecast(t, times, ("titre",), np.zeros((3, 2, 1)), (spec,), p_all_ok=1 - p_fail)


def run(policy: AlarmPolicy, series: list[tuple[float, float]]) -> None:
    for t, p in series:
        policy.observe(forecast_at(t, p), evidence=[f"forecast at {t:g} h"])


def test_an_alarm_waits_for_the_persistence_in_hours_whatever_the_cadence() -> None:
    for every in (1.0, 6.0):
        policy = AlarmPolicy(AlarmSettings(threshold=0.5, persistence_h=18.0))
        run(policy, [(t, 0.2 if t < 60 else 0.7) for t in np.arange(every, 120.0, every)])
        (alarm,) = policy.timeline
        assert alarm.raised_at_h == 78.0  # above 0.5 from 60 h; 18 h later
        assert alarm.probability == 0.7 and alarm.kind == "process" and alarm.spec == "titre"
        assert alarm.lead_time_h == 336.0 - 78.0
        assert alarm.evidence == ["forecast at 78 h"]


def test_a_brief_excursion_raises_nothing() -> None:
    policy = AlarmPolicy(AlarmSettings(persistence_h=18.0))
    run(policy, [(6.0 * k, 0.6 if 10 <= k < 13 else 0.1) for k in range(1, 40)])
    assert policy.timeline == []


def test_a_near_certain_forecast_raises_at_once() -> None:
    policy = AlarmPolicy(AlarmSettings(persistence_h=18.0, certain_above=0.95))
    run(policy, [(6.0, 0.1), (12.0, 0.9), (18.0, 0.97)])
    assert [a.raised_at_h for a in policy.timeline] == [18.0]


def test_zero_persistence_raises_at_the_first_high_forecast() -> None:
    policy = AlarmPolicy(AlarmSettings(persistence_h=0.0))
    run(policy, [(6.0, 0.1), (12.0, 0.51)])
    assert [a.raised_at_h for a in policy.timeline] == [12.0]


def test_an_alarm_clears_with_hysteresis_and_can_be_raised_again() -> None:
    policy = AlarmPolicy(AlarmSettings(threshold=0.5, persistence_h=0.0, clear_below=0.3))
    run(policy, [(6.0, 0.8), (12.0, 0.4), (18.0, 0.45), (24.0, 0.2), (30.0, 0.9)])
    first, second = policy.timeline
    assert first.cleared_at_h == 24.0  # 0.4 and 0.45 are inside the hysteresis band
    assert second.raised_at_h == 30.0 and second.cleared_at_h is None
    assert policy.active == [second]


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        ({"threshold": 0.2, "clear_below": 0.3}, "clear_below"),
        ({"certain_above": 0.4}, "certain_above"),
        ({"persistence_h": -1}, "persist"),
    ],
)
def test_bad_settings_name_the_field(changes: dict[str, float], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        AlarmSettings(**changes)
