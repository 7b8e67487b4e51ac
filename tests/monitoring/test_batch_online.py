"""Online monitoring of a running batch: run rule, alarms, clearing, contributions."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.batch_models import BatchEvolutionModel, fit_bem
from pharmatwin.monitoring.batch_online import (
    BatchMonitor,
    OnlineSettings,
    first_alarm,
    run_lengths,
)
from pharmatwin.monitoring.scaling import MonitoringInputError

BINS = 48
NAMES = ("temperature", "flow", "level")


def batches(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, BINS)
    level = rng.standard_normal((n, 1))
    return np.stack(
        [
            37.0 - 3.0 * (t > 0.5) + 0.1 * level + 0.05 * rng.standard_normal((n, BINS)),
            1.4 * (t > 0.2) + 0.02 * rng.standard_normal((n, BINS)),
            100.0 * t + 2.0 * level + 0.5 * rng.standard_normal((n, BINS)),
        ],
        axis=2,
    )


@pytest.fixture(scope="module")
def model() -> BatchEvolutionModel:
    return fit_bem(batches(40, 1), 2, variables=NAMES, alpha=0.999, window=4)


def test_run_lengths_count_consecutive_points() -> None:
    flags = np.array([[True, True, False, True, True, True]])
    np.testing.assert_array_equal(run_lengths(flags), [[1, 2, 0, 1, 2, 3]])


def test_a_stopped_flow_raises_one_alarm_naming_the_flow(model: BatchEvolutionModel) -> None:
    x = batches(1, 7)[0]
    x[30:, 1] = 0.0  # the feed stops at bin 30
    settings = OnlineSettings(consecutive=3)
    alarm = first_alarm(model, x, settings)
    assert alarm is not None
    assert alarm.bin == 32  # the third point in a row over the limit
    assert alarm.top == "flow"
    assert alarm.value > alarm.limit
    text = alarm.evidence(2)
    assert len(text) == 2 and text[0].startswith("flow contributes")


def test_online_monitor_raises_as_the_whole_batch_does_and_clears(
    model: BatchEvolutionModel,
) -> None:
    x = batches(1, 8)[0]
    x[20:30, 1] = 0.0  # the flow stops for ten bins, then recovers
    settings = OnlineSettings(consecutive=3)
    monitor = BatchMonitor(model, settings)
    raised, cleared = [], []
    for k in range(BINS):
        seen = monitor.observe(k, x[k])
        raised += [(k, a.statistic, a.top) for a in seen.raised]
        cleared += [(k, s) for s in seen.cleared]
    offline = first_alarm(model, x, settings)
    assert offline is not None
    assert raised[0][0] == offline.bin == 22
    assert all(top == "flow" for _, _, top in raised)
    assert {s for _, s in cleared} == {s for _, s, _ in raised}
    assert all(k == 32 for k, _ in cleared)  # three points back within the limits
    assert not monitor.active


def test_a_good_batch_raises_nothing(model: BatchEvolutionModel) -> None:
    for x in batches(5, 9):
        assert first_alarm(model, x, OnlineSettings(consecutive=3)) is None


def test_runs_are_counted_from_the_start_bin(model: BatchEvolutionModel) -> None:
    x = batches(1, 10)[0]
    x[5:, 1] = 0.0
    alarm = first_alarm(model, x, OnlineSettings(consecutive=3), start=20)
    assert alarm is not None and alarm.bin == 22


def test_observations_must_come_in_order_and_settings_are_checked(
    model: BatchEvolutionModel,
) -> None:
    monitor = BatchMonitor(model)
    monitor.observe(3, batches(1, 11)[0, 3])
    with pytest.raises(MonitoringInputError, match="bin"):
        monitor.observe(3, batches(1, 11)[0, 3])
    with pytest.raises(MonitoringInputError, match="bin"):
        monitor.observe(BINS, batches(1, 11)[0, 3])
    with pytest.raises(MonitoringInputError, match="consecutive"):
        OnlineSettings(consecutive=0)
    with pytest.raises(MonitoringInputError, match="statistics"):
        OnlineSettings(statistics=())
