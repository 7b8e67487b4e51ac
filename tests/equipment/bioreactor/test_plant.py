"""The virtual bioreactor: reproducibility, balances, sensors and lab results, specifications."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.equipment.bioreactor.sensors import AT_LINE
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from tests.conftest import plant_run


def short_scenario(seed: int, hours: float = 30.0) -> object:
    scenario = load_scenario("nominal")
    recipe = scenario.recipe.model_copy(update={"harvest_h": hours, "boluses": [], "feeds": []})
    return scenario.model_copy(update={"seed": seed, "recipe": recipe})


def test_same_seed_gives_identical_data_and_another_seed_does_not() -> None:
    a, b = run_plant(short_scenario(11), members=2), run_plant(short_scenario(11), members=2)
    c = run_plant(short_scenario(12), members=2)
    np.testing.assert_array_equal(a.online, b.online)
    np.testing.assert_array_equal(a.x, b.x)
    assert [r.values.tolist() for r in a.at_line] == [r.values.tolist() for r in b.at_line]
    assert not np.array_equal(a.online, c.online)
    assert not np.array_equal(a.p, c.p)


def test_volume_balances_feeds_base_boluses_and_samples() -> None:
    run = plant_run("nominal")
    assert run.totals is not None
    v0 = load_scenario("nominal").recipe.initial_state["V"]  # charge, before the t=0 sample
    expected = v0 + run.totals.feed + run.totals.base + run.totals.bolus - run.totals.samples
    assert run.state("V")[-1] == pytest.approx(expected, rel=1e-9)
    assert run.totals.base[0] > 1.0, "lactic acid needs base to hold pH 7.0"
    assert run.totals.samples[0] == pytest.approx(14 * 0.05)


def test_online_sensors_read_every_minute_near_the_truth() -> None:
    run = plant_run("nominal")
    assert np.allclose(np.diff(run.online_t), 1 / 60)
    tags = [tag for tag, _ in run.online_tags]
    temperature = run.online[:, tags.index("BR01.TT101.PV"), 0]
    truth = np.interp(run.online_t, run.t, run.broth["T"][:, 0])
    error = temperature - truth
    assert abs(float(np.median(error))) < 0.2  # calibration offset: 4 sd of 0.05 degC
    assert 0.01 < float(np.std(error[:600])) < 0.1  # noise 0.02 degC, resolution 0.01


def test_each_realization_has_its_own_probe_calibration() -> None:
    run = run_plant(short_scenario(9, hours=12.0), members=4)
    ph = run.online[:, [tag for tag, _ in run.online_tags].index("BR01.AT201.PV"), :]
    truth = np.stack([np.interp(run.online_t, run.t, run.broth["pH"][:, m]) for m in range(4)], 1)
    offsets = np.median(ph - truth, axis=0)
    assert np.ptp(offsets) > 0.005  # offsets drawn with sd 0.02 pH
    assert np.all(np.abs(offsets) < 0.1)


def test_lab_results_arrive_hours_after_the_sample_with_assay_error() -> None:
    run = plant_run("nominal")
    sample_h, available_h, titre = run.at_line_series("BR01.TITRE.LAB")
    assert len(sample_h) == 15  # daily samples plus the harvest sample
    np.testing.assert_allclose(available_h - sample_h, 6.0)
    assert all(a.delay_h > 0 for a in AT_LINE)
    truth = np.interp(sample_h, run.t, run.output("titre")[:, 0])
    late = sample_h > 100
    assert np.all(np.abs(titre[late, 0] / truth[late] - 1) < 0.2)
    assert not np.allclose(titre[late, 0], truth[late])


def test_control_loops_hold_their_setpoints() -> None:
    run = plant_run("nominal")
    after_shift = run.t > 130
    assert np.all(np.abs(run.broth["T"][after_shift, 0] - 33.0) < 0.2)
    assert np.all(np.abs(run.broth["pH"][run.t > 2, 0] - 7.0) < 0.08)
    assert np.all(run.broth["DO"][run.t > 2, 0] > 15.0)


def test_nominal_scenario_passes_every_specification() -> None:
    results = plant_run("nominal").assess(SPECIFICATIONS)
    failed = [r.spec.name for r in results if not r.passed.all()]
    assert failed == []


def test_nominal_reaches_the_documented_process_target() -> None:
    run = plant_run("nominal")
    assert 10.0 <= run.output("VCD").max() <= 25.0  # peak 1e6 cells/mL
    assert 3.0 <= run.output("titre")[-1, 0] <= 6.0  # g/L


def test_members_are_independent_realizations() -> None:
    run = run_plant(short_scenario(5), members=3)
    assert run.x.shape[1] == 3
    assert len({round(float(v), 9) for v in run.p[:, 0]}) == 3
