"""The Raman soft sensor on the virtual bioreactor, and what it is worth to the twin (reduced
sizes: the study's ten calibration batches with the pre-processing its cross-validation
chooses given alone, one validation batch, a small ensemble)."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.raman import raman_spectra
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.monitoring.soft_sensor import SoftSensor
from pharmatwin.monitoring.spectra import Preprocessing
from pharmatwin.runtime.plant_record import PlantRecord
from pharmatwin.runtime.softsensor_study import (
    RAMAN_TAGS,
    StudySettings,
    calibrate_sensor,
    evaluate_batch,
    soft_sensor_results,
    spectra_rng,
    with_soft_sensor,
)

SETTINGS = StudySettings(
    calibration_seeds=(9101, 9102),
    members_per_seed=5,
    test_seeds=(9201,),
    scenarios=("nominal",),
    twin_members=30,
    candidates=(Preprocessing(regions=((800.0, 1500.0),), window=21, polyorder=3, deriv=2),),
)


@pytest.fixture(scope="module")
def sensor() -> SoftSensor:
    return calibrate_sensor(SETTINGS)


def test_the_soft_sensor_is_near_the_assay_and_improves_the_twin(sensor: SoftSensor) -> None:
    # calibrated on 10 batches x 43 assay samples (every 8 h); RMSECV carries the 3 % assay
    # error of the references
    for a in sensor.analytes:
        assert a.model.n_train == 10 * 43
        assert a.rmsecv < 2.0
    result = evaluate_batch(sensor, "nominal", 9201, SETTINGS)
    # bound: the study measured 0.76-1.09 mM on five nominal batches, about the at-line
    # assay's own error at these concentrations (3 % of ~30 mM); 1.2 mM leaves room for the
    # analyser's noise draws
    assert result.rmsep["glucose"] < 1.2
    assert result.rmsep["lactate"] < 1.2
    assert 0.6 < result.assay_error["glucose"] < 1.5  # 3 % of 3-38 mM
    assert result.flagged < 0.05  # a nominal batch lies within the calibration
    # hourly soft-sensor glucose between the daily assays: the twin follows the truth closer
    assert result.twin_with < result.twin_without
    assert result.twin_with < 0.9 * result.twin_without


def test_results_carry_their_own_sd_and_out_of_domain_spectra_are_rejected(
    sensor: SoftSensor,
) -> None:
    run = run_plant(load_scenario("aeration-failure").model_copy(update={"seed": 9203}))
    times, _, spectra = raman_spectra(run, 4.0, spectra_rng(9203), SETTINGS.instrument)
    results, rejected = soft_sensor_results(sensor, times, spectra[:, 0], sd_inflation=1.5)
    # lactate climbs to ~100 mM without oxygen, three times the calibrated range
    assert rejected, "spectra far outside the calibration must be rejected"
    tags = set(RAMAN_TAGS.values())
    assert {r.tag for r in results} == tags and {r.tag for r in rejected} == tags
    assert any("calibrated range" in r.reason for r in rejected)
    # accepted early in the batch, rejected once the broth has left the calibrated range
    assert min(r.sample_h for r in results) < min(r.time_h for r in rejected)
    assert max(r.sample_h for r in results) < max(r.time_h for r in rejected)
    glucose = [r for r in results if r.tag == RAMAN_TAGS["glucose"]]
    assert all(r.sd is not None and r.sd >= 1.5 * sensor.analyte("glucose").rmsecv for r in glucose)
    assert all(r.available_h == r.sample_h for r in glucose)
    record = with_soft_sensor(PlantRecord.from_run(run), results, rejected)
    assert len(record.lab) == len(run.at_line) + len(results)
    order = [(r.available_h, r.sample_h) for r in record.lab]
    assert order == sorted(order)
    assert record.rejected[-len(rejected) :] == rejected
    assert np.isfinite([r.value for r in results]).all()
