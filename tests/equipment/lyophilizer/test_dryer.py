"""The virtual freeze dryer: its vials differ as the literature says, its gauges show the end."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pharmatwin.equipment.lyophilizer.dryer import DryerRun, pack, run_dryer
from pharmatwin.equipment.lyophilizer.dryer_config import (
    DryerScenario,
    Population,
    builtin_scenarios,
    load_dryer_scenario,
)


@pytest.fixture(scope="module")
def nominal() -> DryerRun:
    return run_dryer(DryerScenario(seed=3))


def test_a_shelf_of_398_vials_has_75_edge_vials() -> None:
    edge = pack(398)
    assert edge.shape == (398,)
    assert int(edge.sum()) == 75  # the rim of a 20 x 20 pack with two places empty
    assert int(pack(9).sum()) == 8  # a 3 x 3 pack: only the middle vial is inside


def test_identical_vials_reproduce_the_reference_case() -> None:
    """With no vial-to-vial or batch spread every vial is the LyoPRONTO reference vial:
    6.66 h and -14.77 °C (Shivkumar et al. 2019); 1 % as in issue 6."""
    flat = Population(
        kc_batch_cv=0,
        rp_batch_cv=0,
        kv_vial_cv=0,
        rp_vial_cv=0,
        edge_kv=1.0,
        edge_kv_cv=0,
        tc_rp=1.0,
    )
    run = run_dryer(DryerScenario(population=flat))
    assert run.truth.vial_end_h == pytest.approx(np.full(398, 6.66), rel=0.01)
    assert run.truth.vial_max_c == pytest.approx(np.full(398, -14.77), rel=0.01)


def test_edge_vials_dry_faster(nominal: DryerRun) -> None:
    t = nominal.truth
    centre = np.median(t.vial_end_h[~t.shelf.edge])
    edge = np.median(t.vial_end_h[t.shelf.edge])
    assert edge < 0.92 * centre
    assert t.group_end_h("edge") < t.group_end_h("centre") == t.end_h


def test_thermocouple_vials_dry_faster_than_their_neighbours(nominal: DryerRun) -> None:
    t = nominal.truth
    tcs = t.shelf.thermocouple
    assert nominal.data.thermocouple_groups == ("centre",) * 4 + ("edge",) * 2
    others = np.setdiff1d(np.flatnonzero(~t.shelf.edge), tcs)
    assert np.mean(t.vial_end_h[tcs[:4]]) < np.median(t.vial_end_h[others])
    assert np.all(t.shelf.rp_factor[tcs] < 1.1)


def test_pirani_reads_high_in_vapour_and_falls_to_one_at_the_end(nominal: DryerRun) -> None:
    d, t = nominal.data, nominal.truth
    ratio = d.pirani_ratio
    drying = (d.t_h > 1.0) & (d.t_h < t.end_h - 0.3)
    assert np.all(ratio[drying] > 1.45)
    after = d.t_h > t.end_h + 2.0 / 60.0
    assert after.any()
    assert np.all(ratio[after] < 1.02)
    assert np.all(np.abs(d.manometer_torr[drying] / 0.15 - 1.0) < 0.01)


def test_thermocouples_read_the_bottom_then_climb_to_the_shelf(nominal: DryerRun) -> None:
    d, t = nominal.data, nominal.truth
    k = 0
    end = t.vial_end_h[t.shelf.thermocouple[k]]
    before = (d.t_h > 2.0) & (d.t_h < end - 0.1)
    assert np.all(d.thermocouples[k, before] < -5.0)
    late = d.t_h > end + 1.0
    assert np.all(np.abs(d.thermocouples[k, late] - d.shelf_c[late]) < 2.0)


def test_same_seed_same_data_other_seed_other_batch() -> None:
    a, b = run_dryer(DryerScenario(seed=5)), run_dryer(DryerScenario(seed=5))
    assert np.array_equal(a.data.thermocouples, b.data.thermocouples)
    assert a.truth.end_h == b.truth.end_h
    assert run_dryer(DryerScenario(seed=6)).truth.end_h != a.truth.end_h


def test_data_until_cuts_every_series(nominal: DryerRun) -> None:
    part = nominal.data.until(2.0)
    assert part.t_h[-1] == pytest.approx(2.0)
    assert part.thermocouples.shape == (6, len(part.t_h))
    assert len(part.pirani_torr) == len(part.t_h)


def test_builtin_scenarios_load_and_bad_ones_name_the_field() -> None:
    assert {
        "nominal",
        "vacuum-leak",
        "shelf-control-failure",
        "condenser-overload",
        "stuck-pressure-controller",
    } <= set(builtin_scenarios())
    assert load_dryer_scenario("vacuum-leak").faults[0].magnitude == 120
    with pytest.raises(ValueError, match="not built in"):
        load_dryer_scenario("no-such-scenario")
    with pytest.raises(ValidationError, match="vials"):
        DryerScenario(vials=3)
