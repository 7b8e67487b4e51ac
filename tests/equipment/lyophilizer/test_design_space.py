"""Design space: the issue's 3 × 3 grid, feasibility and its reasons, and a Dask cluster."""

from __future__ import annotations

import math

import pytest

from pharmatwin.equipment.lyophilizer.cycle import Equipment, HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.design_space import DesignPoint, design_space
from pharmatwin.equipment.lyophilizer.primary import simulate_primary
from pharmatwin.equipment.lyophilizer.profiles import Profile

VIAL = Vial(area_cm2=3.8, product_area_cm2=3.14, fill_ml=2.0)
PRODUCT = Product(solids_fraction=0.05, r0=1.4, a1=16.0, a2=0.0, collapse_temperature_c=-5.0)
HEAT = HeatTransfer(kc=2.75e-4, kp=8.93e-4, kd=0.46)
EQUIPMENT = Equipment(a=-0.182, b=11.7, vials=398)
SHELVES = [-20.0, 0.0, 20.0]
PRESSURES = [0.05, 0.1, 0.15]


def grid(**options: object) -> list[DesignPoint]:
    settings: dict[str, object] = {"initial_shelf_c": -35.0, "ramp_c_per_min": 1.0}
    settings.update(options)
    product = settings.pop("product", PRODUCT)
    equipment = settings.pop("equipment", EQUIPMENT)
    return design_space(VIAL, product, HEAT, equipment, SHELVES, PRESSURES, **settings)


def test_the_issue_grid_equals_single_runs_shelf_major() -> None:
    points = grid()
    assert [(p.shelf_temperature_c, p.chamber_pressure_torr) for p in points] == [
        (s, p) for s in SHELVES for p in PRESSURES
    ]
    for point in points:
        one = simulate_primary(
            VIAL,
            PRODUCT,
            HEAT,
            Profile.ramp(-35.0, 1.0, point.shelf_temperature_c),
            Profile.constant(point.chamber_pressure_torr),
        )
        assert point.drying_time_h == pytest.approx(one.drying_time_h, abs=1e-7)
        assert point.max_product_temperature_c == pytest.approx(
            one.max_product_temperature_c, abs=1e-7
        )
        total = one.max_sublimation_rate_kg_h * EQUIPMENT.vials
        assert point.max_sublimation_rate_kg_h == pytest.approx(total, rel=1e-7)
        # with a collapse temperature of -5 °C and this dryer, the whole grid is feasible
        assert point.feasible and point.reason == ""
    reference = points[-1]  # 20 °C, 0.15 Torr: the LyoPRONTO reference cycle
    assert reference.drying_time_h == pytest.approx(6.66, rel=0.01)
    # warmer shelf: faster at every pressure
    for j in range(3):
        times = [points[3 * i + j].drying_time_h for i in range(3)]
        assert times[0] > times[1] > times[2]


def test_product_temperature_limit_with_margin() -> None:
    product = Product(0.05, 1.4, 16.0, 0.0, collapse_temperature_c=-20.0)
    points = grid(product=product, margin_c=1.0)  # limit -21 °C
    for p in points:
        assert p.feasible == (p.max_product_temperature_c <= -21.0)
        if not p.feasible:
            assert p.reason.startswith("product ") and "above the limit -21.00 °C" in p.reason
    assert {p.feasible for p in points} == {True, False}


def test_equipment_capability_limit() -> None:
    small = Equipment(a=0.0, b=1.0, vials=398)  # 0.05 to 0.15 kg/h
    points = grid(equipment=small)
    for p in points:
        over = p.max_sublimation_rate_kg_h > small.capability_kg_h(p.chamber_pressure_torr)
        assert p.feasible == (not over)
        if over:
            assert "above the equipment capability" in p.reason
    assert {p.feasible for p in points} == {True, False}


def test_not_dry_in_time_is_infeasible() -> None:
    points = grid(max_h=8.0)
    slow = [p for p in points if p.shelf_temperature_c < 20.0]
    assert all(math.isinf(p.drying_time_h) and not p.feasible for p in slow)
    assert all(p.reason == "not dry within 8 h" for p in slow)


def test_constant_shelf_without_an_initial_temperature() -> None:
    points = grid(initial_shelf_c=None)
    one = simulate_primary(VIAL, PRODUCT, HEAT, Profile.constant(-20.0), Profile.constant(0.05))
    assert points[0].drying_time_h == pytest.approx(one.drying_time_h, abs=1e-7)


def test_a_dask_cluster_gives_identical_answers() -> None:
    distributed = pytest.importorskip("distributed")
    local = grid()
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, timeout=30) as client,
    ):
        remote = grid(client=client)
    assert remote == local


@pytest.mark.parametrize(
    ("shelves", "pressures", "options", "message"),
    [
        ([], [0.1], {}, "shelf_setpoints_c: needs at least one value"),
        ([0.0], [0.1, -0.1], {}, r"pressures_torr\.1: must be positive"),
        ([0.0], [0.1], {"margin_c": -1.0}, "margin_c: must be >= 0"),
        ([0.0], [0.1], {"ramp_c_per_min": 0.0}, "ramp_c_per_min: must be positive"),
    ],
)
def test_bad_grids_name_the_field(
    shelves: list[float], pressures: list[float], options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        design_space(VIAL, PRODUCT, HEAT, EQUIPMENT, shelves, pressures, **options)
