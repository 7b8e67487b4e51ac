"""The YAML study: the issue's form, the programme forms, and errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from pharmatwin.equipment.lyophilizer.config import ConfigError, load_config, parse_config
from pharmatwin.equipment.lyophilizer.profiles import Profile

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lyo-reference.yaml"


def reference() -> dict[str, Any]:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def with_changes(**changes: Any) -> dict[str, Any]:
    document = reference()
    document.update(changes)
    return document


def test_the_example_is_the_lyopronto_reference_case() -> None:
    cfg = load_config(EXAMPLE)
    vial, product, heat, equipment = cfg.vial(), cfg.product(), cfg.heat(), cfg.equipment()
    assert (vial.area_cm2, vial.product_area_cm2, vial.fill_ml) == (3.8, 3.14, 2.0)
    assert (product.solids_fraction, product.r0, product.a1, product.a2) == (0.05, 1.4, 16.0, 0.0)
    assert product.collapse_temperature_c == -5.0
    assert (heat.kc, heat.kp, heat.kd) == (2.75e-4, 8.93e-4, 0.46)
    assert (equipment.a, equipment.b, equipment.vials) == (-0.182, 11.7, 398)
    assert cfg.shelf_profile() == Profile.ramp(-35.0, 1.0, 20.0)
    assert cfg.pressure_profile() == Profile.constant(0.15)
    grid = cfg.design_grid()
    assert grid.shelf_temperature_C == [-20.0, 0.0, 20.0]
    assert grid.chamber_pressure_Torr == [0.05, 0.1, 0.15]
    # the design space ramps the shelf like the cycle does unless told otherwise
    assert (grid.initial_shelf_C, grid.ramp_C_per_min, grid.margin_C) == (-35.0, 1.0, 0.0)
    assert cfg.optimize is not None and cfg.optimize.mode == "shelf"
    assert cfg.optimize.margin_C == 0.0


@pytest.mark.parametrize(
    ("shelf", "expected"),
    [
        (-10, Profile.constant(-10.0)),
        ({"setpoint": -10}, Profile.constant(-10.0)),
        (
            [{"setpoint": -40, "hold_h": 1}, {"setpoint": -10, "ramp_C_per_min": 0.5, "hold_h": 2}],
            Profile(np.array([0.0, 1.0, 2.0, 4.0]), np.array([-40.0, -40.0, -10.0, -10.0])),
        ),
        (
            {"initial": -40, "steps": [{"setpoint": 0, "ramp_C_per_min": 1}]},
            Profile(np.array([0.0, 40.0 / 60.0]), np.array([-40.0, 0.0])),
        ),
    ],
)
def test_shelf_programme_forms(shelf: object, expected: Profile) -> None:
    cfg = parse_config(with_changes(shelf_temperature_C=shelf))
    assert cfg.shelf_profile() == expected


def test_pressure_steps_and_optimizer_bounds() -> None:
    cfg = parse_config(
        with_changes(
            chamber_pressure_Torr={
                "initial": 0.05,
                "steps": [{"setpoint": 0.1, "ramp_Torr_per_min": 0.01, "hold_h": 1}],
                "min": 0.04,
                "max": 0.2,
            },
            optimize={"mode": "both", "margin_C": 2},
        )
    )
    profile = cfg.pressure_profile()
    assert np.allclose(profile.t_h, [0.0, 5.0 / 60.0, 5.0 / 60.0 + 1.0])
    assert np.allclose(profile.value, [0.05, 0.1, 0.1])
    assert (cfg.chamber_pressure_Torr.min, cfg.chamber_pressure_Torr.max) == (0.04, 0.2)
    assert cfg.optimize is not None and cfg.optimize.margin_C == 2.0


def test_bounds_only_cannot_be_simulated() -> None:
    cfg = parse_config(with_changes(shelf_temperature_C={"min": -40, "max": 30}))
    with pytest.raises(ConfigError, match=r"^shelf_temperature_C\.setpoint: required"):
        cfg.shelf_profile()


def test_optional_sections() -> None:
    document = reference()
    for key in ("equipment", "design_space", "optimize"):
        del document[key]
    cfg = parse_config(document)
    assert cfg.shelf_profile() == Profile.ramp(-35.0, 1.0, 20.0)
    with pytest.raises(ConfigError, match=r"^equipment: required"):
        cfg.equipment()
    with pytest.raises(ConfigError, match=r"^design_space: required"):
        cfg.design_grid()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"product": {**reference()["product"], "R0": -1}}, r"^product\.R0: .*greater than 0"),
        ({"vial": {"area_cm2": 3.8, "product_area_cm2": 3.14}}, r"^vial\.fill_mL: required"),
        ({"vial": {**reference()["vial"], "fill_ml": 2}}, r"^vial\.fill_ml: unknown field"),
        (
            {"vial": {"area_cm2": 3.0, "product_area_cm2": 3.14, "fill_mL": 2}},
            r"^vial\.product_area_cm2: 3\.14 cm² is larger than area_cm2",
        ),
        ({"heat_transfer": {"KC": "x", "KP": 1e-3, "KD": 0.4}}, r"^heat_transfer\.KC: "),
        ({"equipment": {"a": 0, "b": 1, "vials": 0}}, r"^equipment\.vials: .*greater than or"),
        (
            {"shelf_temperature_C": {"initial": -35, "setpoint": 20}},
            r"^shelf_temperature_C\.ramp_C_per_min: required",
        ),
        (
            {"shelf_temperature_C": {"setpoint": 20, "ramp_C_per_min": 1}},
            r"^shelf_temperature_C\.initial: required",
        ),
        ({"shelf_temperature_C": {"min": 30, "max": -40}}, r"^shelf_temperature_C\.max: "),
        ({"chamber_pressure_Torr": {"setpoint": 0}}, r"^chamber_pressure_Torr\.setpoint: "),
        ({"chamber_pressure_Torr": {"setpoint": 0.1, "rate": 1}}, r"\.rate: unknown field"),
        ({"optimize": {"mode": "fast"}}, r"^optimize\.mode: "),
        (
            {"design_space": {"shelf_temperature_C": [], "chamber_pressure_Torr": [0.1]}},
            r"^design_space\.shelf_temperature_C: ",
        ),
        ({"product": {**reference()["product"], "A1": float("nan")}}, r"^product\.A1: "),
    ],
)
def test_errors_name_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(with_changes(**changes))


def test_load_config_reports_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("vial: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_config(bad)
    bad.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(with_changes(shelf_temperature_C=-5)), encoding="utf-8")
    assert load_config(good).shelf_profile() == Profile.constant(-5.0)
