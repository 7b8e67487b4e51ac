"""Soft-sensor results in the plant record and in the twin's measurements."""

from __future__ import annotations

import pytest

from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.runtime.bioreactor_twin import BioreactorTwin
from pharmatwin.runtime.plant_record import LAB_BY_TAG, SOFT_SENSORS, LabResult, PlantRecord


def test_raman_tags_are_read_like_laboratory_results() -> None:
    assert {"BR01.GLC.RAMAN", "BR01.LAC.RAMAN"} <= set(LAB_BY_TAG)
    assert {a.source for a in SOFT_SENSORS} == {"glucose", "lactate"}
    rows = {
        "BR01.GLC.RAMAN": [(1.0, 1.0, 30.2), (2.0, 2.0, 29.8), (2.0, 2.0, 31.0)],
        "BR01.GLC.LAB": [(0.0, 1.0, 30.0)],
    }
    record = PlantRecord.from_rows(rows)
    raman = [r for r in record.lab if r.tag == "BR01.GLC.RAMAN"]
    assert [(r.sample_h, r.value) for r in raman] == [(1.0, 30.2), (2.0, 29.8)]
    assert all(r.sd is None for r in raman)  # a file carries no sd: the signal's figure is used
    assert [r.reason for r in record.rejected] == ["duplicate timestamp with another value (29.8)"]


def test_the_twin_takes_a_results_own_sd_before_the_assays() -> None:
    twin = BioreactorTwin(load_scenario("nominal").recipe)
    results = [
        LabResult("BR01.GLC.RAMAN", 5.0, 5.0, 30.0, sd=0.7),
        LabResult("BR01.GLC.RAMAN", 6.0, 6.0, 30.0),
        LabResult("BR01.LAC.RAMAN", 6.0, 6.0, 4.0, sd=0.5),
        LabResult("BR01.GLC.LAB", 0.0, 1.0, 30.0),
        LabResult("BR01.PH.LAB", 0.0, 0.25, 7.0),  # an input: checked, not assimilated
    ]
    got = twin._measurements(results)
    assert [(m.tag, m.output) for m in got] == [
        ("BR01.GLC.RAMAN", "glucose"),
        ("BR01.GLC.RAMAN", "glucose"),
        ("BR01.LAC.RAMAN", "lactate"),
        ("BR01.GLC.LAB", "glucose"),
    ]
    assert got[0].sd == 0.7
    assert got[1].sd == pytest.approx(2.0)  # the soft sensor's fallback figure
    assert got[2].sd == 0.5
    assert got[3].sd == pytest.approx(0.03 * 30.0)  # the assay's 3 %, unchanged
    assert got[0].available_h == 5.0
