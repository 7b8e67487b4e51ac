"""``pharmatwin lyo optimize``: the shortest primary drying that keeps the product below collapse
and the sublimation within the dryer's capability (issue 6, item 3).

The study file is the YAML of ``lyo simulate``; the ``optimize`` section chooses the mode
(``shelf``, ``pressure`` or ``both``) and the collapse margin ``margin_C``; the programme that
is optimized takes its bounds from ``min``/``max`` (and the shelf's ``max_ramp_C_per_min`` and
``initial``), the other keeps its programme. ``--json`` and ``--plot`` are those of
``lyo simulate`` for the optimized cycle, with the mode, constraint margins and programmes
added to the JSON. Units: h, °C, Torr, kg/h (sublimation rate per vial).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.equipment.lyophilizer.config import (
    ConfigError,
    LyoConfig,
    OptimizeConfig,
    load_config,
)
from pharmatwin.equipment.lyophilizer.optimize import OptimizedCycle, optimize_cycle
from pharmatwin.equipment.lyophilizer.primary import DryingResult, simulate_primary
from pharmatwin.equipment.lyophilizer.profiles import Profile

# optimize_cycle names its arguments in errors; the study file names these fields instead.
_FIELDS = {
    "shelf_bounds_c": "shelf_temperature_C",
    "pressure_bounds_torr": "chamber_pressure_Torr",
    "initial_shelf_c": "shelf_temperature_C.initial",
    "max_ramp_c_per_min": "shelf_temperature_C.max_ramp_C_per_min",
    "fixed_shelf": "shelf_temperature_C",
    "fixed_pressure": "chamber_pressure_Torr",
    "margin_c": "optimize.margin_C",
    "product.collapse_temperature_c": "product.collapse_temperature_C",
}


def optimize(
    config: Path = typer.Option(..., "--config", help="Study file (YAML, issue 6 format)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Chart of the optimized cycle (.png, .svg or .pdf)."
    ),
) -> None:
    """Optimize the shelf temperature and/or chamber pressure for the shortest primary drying."""
    from pharmatwin.cli.lyo_plots import check_plot_path, plot_simulation

    with bad_input():
        if plot is not None:
            check_plot_path(plot)
        study = load_config(config)
        request = optimize_request(study)
    try:
        cycle = optimize_cycle(
            study.vial(), study.product(), study.heat(), study.equipment(), **request
        )
    except ValueError as exc:
        fail(_field_names(str(exc)))
    configured = _configured_time(study)
    if plot is not None:
        with bad_input("--plot"):
            plot_simulation(
                drying_result(cycle),
                plot,
                title=f"{config.stem}: optimized cycle (mode {cycle.mode})",
                collapse_c=study.product().collapse_temperature_c,
            )
    if as_json:
        print(json.dumps(summary(cycle, configured), indent=2, allow_nan=False))
    else:
        _print_table(cycle, configured, plot)


def optimize_request(study: LyoConfig) -> dict[str, Any]:
    """The keyword arguments of ``optimize_cycle`` from a study; ``ConfigError`` names the
    missing or unusable field."""
    section = study.optimize if study.optimize is not None else OptimizeConfig()
    mode = section.mode
    shelf, pressure = study.shelf_temperature_C, study.chamber_pressure_Torr
    request: dict[str, Any] = {"mode": mode, "margin_c": section.margin_C}
    if mode in ("shelf", "both"):
        if shelf.min is None or shelf.max is None:
            missing = "min" if shelf.min is None else "max"
            raise ConfigError(
                f"shelf_temperature_C.{missing}: required to optimize the shelf temperature "
                f"(optimize.mode {mode}); give min and max"
            )
        request["shelf_bounds_c"] = (shelf.min, shelf.max)
        request["max_ramp_c_per_min"] = shelf.max_ramp_C_per_min
        programme = shelf.profile()
        initial = shelf.initial
        if initial is None and programme is not None:
            initial = float(programme.value[0])
        if shelf.max_ramp_C_per_min is not None and initial is None:
            raise ConfigError(
                "shelf_temperature_C.initial: required with max_ramp_C_per_min (where the "
                "shelf starts)"
            )
        request["initial_shelf_c"] = initial
    if mode in ("pressure", "both"):
        if pressure.min is None or pressure.max is None:
            missing = "min" if pressure.min is None else "max"
            raise ConfigError(
                f"chamber_pressure_Torr.{missing}: required to optimize the chamber pressure "
                f"(optimize.mode {mode}); give min and max"
            )
        if pressure.max_ramp_Torr_per_min is not None:
            raise ConfigError(
                "chamber_pressure_Torr.max_ramp_Torr_per_min: not supported by the optimizer "
                "(it sets the chamber pressure directly); remove it"
            )
        request["pressure_bounds_torr"] = (pressure.min, pressure.max)
    if mode == "shelf":
        request["fixed_pressure"] = study.pressure_profile()
    if mode == "pressure":
        request["fixed_shelf"] = study.shelf_profile()
    study.equipment()  # the capability constraint needs it: fail here, naming the field
    return request


def summary(cycle: OptimizedCycle, configured_h: float | None = None) -> dict[str, Any]:
    """The ``--json`` document: that of ``lyo simulate --json`` for the optimized cycle, plus
    the mode, the constraint margins, the optimized programmes (knots) and the drying time of
    the study's own programmes (null when it has none)."""
    from pharmatwin.cli.lyo import simulation_json

    document = {
        "mode": cycle.mode,
        "temperature_margin_C": cycle.temperature_margin_c,
        "capability_margin_kg_h": cycle.capability_margin_kg_h,
        "configured_drying_time_h": configured_h,
        "programmes": {
            "shelf_temperature_C": _programme(cycle.shelf),
            "chamber_pressure_Torr": _programme(cycle.pressure),
        },
    }
    return {**simulation_json(drying_result(cycle)), **document}


def drying_result(cycle: OptimizedCycle) -> DryingResult:
    """The optimized cycle's forward simulation as a ``DryingResult`` (for the shared JSON and
    plot of ``lyo simulate``)."""
    return DryingResult(
        drying_time_h=cycle.drying_time_h,
        max_product_temperature_c=cycle.max_product_temperature_c,
        trajectory=cycle.trajectory,
        max_sublimation_rate_kg_h=float(cycle.trajectory.sublimation_rate_kg_h.max()),
    )


def _programme(profile: Profile) -> dict[str, list[float]]:
    return {"t_h": profile.t_h.tolist(), "value": profile.value.tolist()}


def _configured_time(study: LyoConfig) -> float | None:
    """Drying time of the study's own programmes, when both are given (for comparison)."""
    shelf, pressure = study.shelf_temperature_C.profile(), study.chamber_pressure_Torr.profile()
    if shelf is None or pressure is None:
        return None
    run = simulate_primary(study.vial(), study.product(), study.heat(), shelf, pressure)
    return run.drying_time_h if math.isfinite(run.drying_time_h) else None


def _field_names(message: str) -> str:
    head, sep, rest = message.partition(": ")
    return f"optimize: {_FIELDS.get(head, head)}{sep}{rest}"


def _print_table(cycle: OptimizedCycle, configured_h: float | None, plot: Path | None) -> None:
    console = Console()
    table = Table(title=f"Optimized cycle (mode {cycle.mode})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows = [
        ("primary drying time", f"{cycle.drying_time_h:.2f} h"),
        ("configured cycle", "-" if configured_h is None else f"{configured_h:.2f} h"),
        ("max product temperature", f"{cycle.max_product_temperature_c:.2f} °C"),
        ("margin to the collapse limit", f"{cycle.temperature_margin_c:.3f} °C"),
        ("margin to the capability", f"{cycle.capability_margin_kg_h:.3f} kg/h"),
        (
            "shelf temperature",
            f"{cycle.shelf.value.min():.1f} to {cycle.shelf.value.max():.1f} °C",
        ),
        (
            "chamber pressure",
            f"{cycle.pressure.value.min():.3f} to {cycle.pressure.value.max():.3f} Torr",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if plot is not None:
        console.print(f"plot written to {plot}")
