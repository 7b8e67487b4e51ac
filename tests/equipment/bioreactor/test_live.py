"""The live plant hands out each reading once, when it comes due, and takes setpoint changes."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

from pharmatwin.equipment.bioreactor.live import (
    HARVESTED,
    LivePlant,
    Reading,
    SetpointError,
    SetpointRangeError,
)
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from tests.conftest import plant_run


@pytest.fixture(scope="module")
def plant() -> LivePlant:
    return LivePlant(load_scenario("nominal"))


def _key(r: Reading) -> tuple[str, float, float]:
    return (r.tag, r.time_h, r.available_h)


def test_consecutive_windows_partition_the_batch_exactly(plant: LivePlant) -> None:
    run = plant_run("nominal")
    edges = [-1.0, 0.0, 0.0, *np.arange(0.37, plant.end_h, 7.3).tolist(), plant.end_h + 5.0]
    pieces = [plant.readings_between(a, b) for a, b in pairwise(edges)]
    got = [r for piece in pieces for r in piece]
    n_online = len(run.online_t) * len(run.online_tags)
    assert len(got) == n_online + len(run.at_line)
    assert len({_key(r) for r in got}) == len(got)  # each reading once
    assert got == plant.readings_between(-1.0, plant.end_h)  # same readings, same order
    for (a, b), piece in zip(pairwise(edges), pieces, strict=True):
        assert all(a < r.available_h <= b for r in piece)
    temperature = [r.value for r in got if r.tag == "BR01.TT101.PV"]
    np.testing.assert_array_equal(temperature, run.online[:, 0, 0])
    titre = [(r.time_h, r.available_h, r.value) for r in got if r.tag == "BR01.TITRE.LAB"]
    sample, available, values = run.at_line_series("BR01.TITRE.LAB")
    assert titre == list(
        zip(sample.tolist(), available.tolist(), values[:, 0].tolist(), strict=True)
    )


def test_lab_results_come_due_at_their_availability_time(plant: LivePlant) -> None:
    assert not [r for r in plant.readings_between(23.9, 24.2) if r.tag.endswith(".LAB")]
    ph = [r for r in plant.readings_between(24.2, 24.25) if r.tag == "BR01.PH.LAB"]
    assert [(r.time_h, r.available_h) for r in ph] == [(24.0, 24.25)]
    titre = [r for r in plant.readings_between(29.99, 30.0) if r.tag == "BR01.TITRE.LAB"]
    assert [(r.time_h, r.available_h, r.unit) for r in titre] == [(24.0, 30.0, "g/L")]
    window = plant.readings_between(24.2, 30.0)
    assert [r.available_h for r in window] == sorted(r.available_h for r in window)
    # online readings carry their own time as availability
    assert all(r.time_h == r.available_h for r in window if r.tag.endswith(".PV"))


def test_recipe_setpoints_and_phases(plant: LivePlant) -> None:
    assert plant.harvest_h == 336.0
    assert plant.end_h == pytest.approx(342.0)  # the harvest sample's titre, 6 h later
    assert plant.setpoint("T", 0.0) == 36.5
    assert plant.setpoint("T", 122.0) == pytest.approx(34.75)  # halfway down the 4 h ramp
    assert plant.setpoint("pH", 200.0) == 7.0
    assert plant.setpoint("DO", 10.0) == 40.0
    assert [plant.phase_at(t) for t in (0.0, 119.9, 120.0, 335.9, 336.0)] == [
        "growth",
        "growth",
        "production",
        "production",
        HARVESTED,
    ]
    assert plant.actions == []


def test_a_setpoint_change_keeps_the_past_and_moves_the_temperature() -> None:
    plant = LivePlant(load_scenario("nominal"))
    before = plant.readings_between(-1.0, plant.end_h)
    effective = plant.set_setpoint("T", 31.0, at_h=50.1)
    assert effective == 50.25  # the next coupling step: nothing up to 50.1 h can change
    after = plant.readings_between(-1.0, plant.end_h)
    assert [r for r in after if r.available_h <= effective] == [
        r for r in before if r.available_h <= effective
    ]
    assert plant.setpoint("T", 50.0) == 36.5
    assert plant.setpoint("T", effective) == 31.0
    [(when, action)] = plant.actions
    assert (when, action.kind, action.input, action.value) == (effective, "setpoint", "T", 31.0)

    def mean_temperature(readings: list[Reading], t0: float, t1: float) -> float:
        values = [r.value for r in readings if r.tag == "BR01.TT101.PV" and t0 < r.time_h <= t1]
        return float(np.mean(values))

    assert mean_temperature(before, 58.0, 62.0) == pytest.approx(36.5, abs=0.3)
    assert mean_temperature(after, 58.0, 62.0) == pytest.approx(31.0, abs=0.3)
    changed = [r for r in after if r.tag == "BR01.TT101.PV" and effective < r.time_h <= 51.0]
    assert changed[-1].value < changed[0].value - 0.5  # cooling starts right away


def test_bad_setpoint_changes_are_refused_clearly(plant: LivePlant) -> None:
    with pytest.raises(SetpointError, match=r"setpoint 'Tx': unknown \(known: T, pH, DO\)"):
        plant.set_setpoint("Tx", 35.0, 10.0)
    with pytest.raises(SetpointRangeError, match=r"T: 45 degC is outside \[28, 39\]"):
        plant.set_setpoint("T", 45.0, 10.0)
    with pytest.raises(SetpointRangeError, match="pH: nan pH is outside"):
        plant.set_setpoint("pH", math.nan, 10.0)
    with pytest.raises(SetpointRangeError, match=r"DO: 5 % is outside \[10, 100\]"):
        plant.set_setpoint("DO", 5.0, 10.0)
    with pytest.raises(SetpointError, match="at_h: 400 h is not before harvest"):
        plant.set_setpoint("T", 35.0, 400.0)
    with pytest.raises(SetpointError, match="at_h: must be a batch time >= 0 h"):
        plant.set_setpoint("T", 35.0, -1.0)
    with pytest.raises(SetpointError, match="ramp of 'production'"):
        plant.set_setpoint("T", 35.0, 122.0)  # inside the recipe's temperature ramp
    with pytest.raises(SetpointError, match="unknown"):
        plant.setpoint("F_feed", 10.0)
    with pytest.raises(ValueError, match="t1_h: must not be before t0_h"):
        plant.readings_between(10.0, 5.0)
    assert plant.actions == []  # nothing was carried out
