"""A batch monitor beside the bioreactor twin: its alarms join the twin's timeline."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.records import PlantRun
from pharmatwin.equipment.bioreactor.scenario import Scenario, load_scenario
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.monitoring.batch_online import first_alarm
from pharmatwin.runtime.bioreactor_twin import BioreactorTwin, TwinSettings
from pharmatwin.runtime.mspc_batches import (
    ACTS_ON,
    ONLINE_VARIABLES,
    TwinMonitor,
    good_batches,
    hour_edges,
    record_matrix,
    run_matrices,
)
from pharmatwin.runtime.mspc_study import twin_monitor
from pharmatwin.runtime.plant_record import PlantRecord

STEP_MIN = 5.0  # a coarser plant, five times faster to simulate; trained and tested alike


def scenario(name: str, seed: int) -> Scenario:
    base = load_scenario(name)
    return Scenario.model_validate(base.model_dump() | {"seed": seed, "control_step_min": STEP_MIN})


@pytest.fixture(scope="module")
def monitor() -> TwinMonitor:
    return twin_monitor(good_batches(1000, 30, control_step_min=STEP_MIN))


@pytest.fixture(scope="module")
def pump_failure() -> tuple[Scenario, PlantRun]:
    sc = scenario("feed-pump-failure", 11)  # the feed pump stops at 96 h
    return sc, run_plant(sc)


def test_the_twin_raises_a_multivariate_alarm_naming_the_feed(
    monitor: TwinMonitor, pump_failure: tuple[Scenario, PlantRun]
) -> None:
    sc, run = pump_failure
    settings = TwinSettings(members=20, forecast_every_h=48.0, monitor=monitor)
    session = BioreactorTwin(sc.recipe, settings).session(until_h=106.0)
    record = PlantRecord.from_run(run)
    stepped = [session.step(hour, record) for hour in session.hours()]
    twin = session.result()
    alarms = [a for a in twin.alarms if a.kind == "multivariate"]
    assert len(alarms) == 1
    alarm = alarms[0]
    assert 96.0 < alarm.raised_at_h <= 104.0
    assert alarm.spec.startswith("batch evolution")
    top = alarm.evidence[1]
    assert "contributes" in top
    assert top.split()[0] in ACTS_ON["feed_pump_failure"]
    # the step that raised it reports it, as the live runtime writes it
    (step,) = [s for s in stepped if s.hour == alarm.raised_at_h]
    assert alarm in step.alarms


def test_the_twin_reads_the_batch_as_the_study_does(
    monitor: TwinMonitor, pump_failure: tuple[Scenario, PlantRun]
) -> None:
    sc, run = pump_failure
    edges = hour_edges(sc.recipe.harvest_h)
    from_record = record_matrix(PlantRecord.from_run(run), edges)
    np.testing.assert_allclose(from_record, run_matrices(run, edges)[0], equal_nan=True)
    offline = first_alarm(monitor.model, from_record, monitor.online)
    live = monitor.start()
    record = PlantRecord.from_run(run)
    raised = [h for h in np.arange(1.0, 111.0) if live.step(float(h), record)]
    assert offline is not None
    assert raised[0] == edges[offline.bin + 1]


def test_a_good_batch_raises_nothing(monitor: TwinMonitor) -> None:
    run = run_plant(scenario("nominal", 2000), members=4)
    passed = np.logical_and.reduce([r.passed for r in run.assess(SPECIFICATIONS)])
    member = int(np.flatnonzero(passed)[0])
    record = PlantRecord.from_run(run, member)
    live = monitor.start()
    assert not [a for h in np.arange(1.0, 337.0) for a in live.step(float(h), record)]


def test_a_monitor_must_match_its_variables(monitor: TwinMonitor) -> None:
    with pytest.raises(ValueError, match="variables"):
        replace(monitor, variables=ONLINE_VARIABLES)
