"""Batch monitoring on the virtual bioreactor (issue 7, acceptance "Batch"), reduced study.

The study of ``pharmatwin mspc batch-study`` with the plant's control and probe period at 5 min
instead of 1 (five times faster to simulate; the model is trained and tested on the same
plant): 30 good training batches, 10 batches of each fault scenario, about 40 good test
batches. Limits come from the good training batches only.
"""

from __future__ import annotations

import json
import math

import pytest

from pharmatwin.runtime.mspc_batches import ACTS_ON
from pharmatwin.runtime.mspc_study import StudyResult, StudySettings, run_study, study_document

SETTINGS = StudySettings(train=30, seeds=10, control_step_min=5.0)


@pytest.fixture(scope="module")
def study() -> StudyResult:
    return run_study(SETTINGS)


def test_every_fault_scenario_is_flagged_in_nine_of_ten_batches(study: StudyResult) -> None:
    assert len(study.faults) == 6
    for r in study.faults:
        assert len(r.outcomes) == 10
        assert r.flagged >= 0.9, r.scenario


def test_few_good_batches_are_flagged(study: StudyResult) -> None:
    assert len(study.good.outcomes) >= 30
    assert study.good.flagged <= 0.05


def test_the_top_contribution_names_a_variable_the_fault_acts_on(study: StudyResult) -> None:
    for r in study.faults:
        assert r.hit_rate >= 0.8, (r.scenario, r.top_variables())
        assert set(r.acts_on) <= {t for tags in ACTS_ON.values() for t in tags}


def test_fast_faults_are_flagged_within_hours(study: StudyResult) -> None:
    delays = {r.scenario: r.mean_delay_h for r in study.faults}
    # a stuck jacket and a stopped feed pump: the first run of 6 hourly points over a limit
    assert delays["temperature-control-failure"] <= 8.0
    assert delays["feed-pump-failure"] <= 8.0
    # a sudden loss of cells: the next daily cell count at the latest
    assert delays["viability-loss"] <= 30.0
    assert all(d > 0 for d in delays.values())


def test_the_batch_level_model_predicts_the_harvest_titre(study: StudyResult) -> None:
    assert study.quality_rmsep["titre"] < 0.5 * study.quality_sd["titre"]


def test_the_document_is_strict_json(study: StudyResult) -> None:
    document = json.loads(json.dumps(study_document(study), allow_nan=False))
    scenario = document["scenarios"]["feed-pump-failure"]
    assert scenario["acts_on"] == ["BR01.FQ502.PV", "BR01.WT401.PV"]
    assert 0.0 <= scenario["flagged_fraction"] <= 1.0
    assert not math.isnan(document["good"]["false_flag_fraction"])
