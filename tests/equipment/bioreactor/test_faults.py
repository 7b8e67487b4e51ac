"""Each fault of the library moves the affected quantities the way it physically should."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pharmatwin.equipment.bioreactor.faults import Fault
from pharmatwin.equipment.bioreactor.records import PlantRun
from tests.conftest import plant_run


def final(run: PlantRun, output: str) -> float:
    return float(run.output(output)[-1, 0])


def peak(run: PlantRun, output: str) -> float:
    return float(run.output(output)[:, 0].max())


@pytest.fixture(scope="module")
def nominal() -> PlantRun:
    return plant_run("nominal")


def test_ph_probe_drift_acidifies_the_culture_and_lowers_the_titre(nominal: PlantRun) -> None:
    run = plant_run("ph-probe-drift")
    # The loop holds the drifting probe at 7.0, so the true pH falls...
    assert run.broth["pH"][-1, 0] < 6.6
    # ... the at-line pH sees it while the online probe does not ...
    _, _, lab_ph = run.at_line_series("BR01.PH.LAB")
    assert lab_ph[-1, 0] < 6.7
    # ... and acidic culture grows less and makes less antibody.
    assert peak(run, "VCD") < peak(nominal, "VCD")
    assert final(run, "titre") < final(nominal, "titre") - 0.5


def test_temperature_control_failure_overheats_and_kills_cells(nominal: PlantRun) -> None:
    run = plant_run("temperature-control-failure")
    assert run.broth["T"][:, 0].max() > 39.0
    assert final(run, "viability") < final(nominal, "viability") - 30
    assert final(run, "titre") < final(nominal, "titre")


def test_feed_pump_failure_starves_growth_of_glutamine(nominal: PlantRun) -> None:
    run = plant_run("feed-pump-failure")
    assert run.totals is not None and nominal.totals is not None
    assert run.totals.feed[0] < 0.3 * nominal.totals.feed[0]
    late = run.t > 150
    assert run.output("glutamine")[late, 0].max() < 0.05
    assert peak(run, "VCD") < 0.7 * peak(nominal, "VCD")
    assert final(run, "titre") < final(nominal, "titre") - 0.5


def test_wrong_feed_concentration_underfeeds_and_lowers_the_titre(nominal: PlantRun) -> None:
    run = plant_run("wrong-feed-concentration")
    assert run.totals is not None and nominal.totals is not None
    assert run.totals.feed[0] == pytest.approx(nominal.totals.feed[0])  # same volume, weaker feed
    assert run.output("glucose")[:, 0].mean() < nominal.output("glucose")[:, 0].mean()
    assert final(run, "titre") < final(nominal, "titre") - 0.5


def test_aeration_failure_drops_do_and_turns_glycolysis_anaerobic(nominal: PlantRun) -> None:
    run = plant_run("aeration-failure")
    assert run.broth["DO"][:, 0].min() < 1.0
    assert peak(run, "lactate") > peak(nominal, "lactate") + 10
    assert peak(run, "VCD") < peak(nominal, "VCD")
    assert final(run, "titre") < final(nominal, "titre")


def test_viability_loss_drops_viability_suddenly(nominal: PlantRun) -> None:
    run = plant_run("viability-loss")
    before, after = np.searchsorted(run.t, [192.0, 216.0])
    drop = run.output("viability")[before, 0] - run.output("viability")[after, 0]
    nominal_drop = nominal.output("viability")[before, 0] - nominal.output("viability")[after, 0]
    assert drop > nominal_drop + 10
    assert final(run, "viability") < final(nominal, "viability")
    assert final(run, "titre") < final(nominal, "titre")


def test_fault_magnitudes_are_validated() -> None:
    with pytest.raises(ValidationError, match="fraction"):
        Fault(kind="aeration_failure", onset_h=1, magnitude=1.5)
    with pytest.raises(ValidationError, match="kind"):
        Fault.model_validate({"kind": "gremlins", "onset_h": 1, "magnitude": 1})
    assert Fault(kind="viability_loss", onset_h=10, magnitude=0.01, duration_h=5).active(14.9)
    assert not Fault(kind="viability_loss", onset_h=10, magnitude=0.01, duration_h=5).active(15.0)
