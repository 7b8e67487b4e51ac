"""``pharmatwin lyo simulate|design-space``: primary drying of a freeze-drying cycle.

Both commands read a YAML study (see ``pharmatwin.equipment.lyophilizer.config`` and
``examples/lyo-reference.yaml``); ``--json`` prints one JSON object, ``--plot FILE`` writes a
chart (.png, .svg or .pdf). A bad configuration exits with code 2 and one line naming the field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input
from pharmatwin.equipment.lyophilizer.config import LyoConfig, load_config
from pharmatwin.equipment.lyophilizer.design_space import DesignPoint, design_space
from pharmatwin.equipment.lyophilizer.primary import DryingResult, simulate_primary

TRAJECTORY_EVERY_H = 0.1
"""Trajectory samples on this grid (h) besides every integration step."""

lyo_app = typer.Typer(
    help="Freeze drying: simulate, map design spaces, optimize cycles, validate the twin.",
    no_args_is_help=True,
)

CONFIG = typer.Option(..., "--config", help="The study's YAML file.")
AS_JSON = typer.Option(False, "--json", help="Print one JSON object.")
PLOT = typer.Option(None, "--plot", help="Write a chart (.png, .svg or .pdf).")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _load(config: Path, plot: Path | None) -> LyoConfig:
    with bad_input():
        cfg = load_config(config)
        if plot is not None:
            from pharmatwin.cli.lyo_plots import check_plot_path

            check_plot_path(plot)
    return cfg


@lyo_app.command("simulate")
def simulate(config: Path = CONFIG, as_json: bool = AS_JSON, plot: Path | None = PLOT) -> None:
    """Simulate primary drying under the configured shelf and pressure programmes."""
    cfg = _load(config, plot)
    with bad_input():
        case = (cfg.vial(), cfg.product(), cfg.heat())
        shelf, pressure = cfg.shelf_profile(), cfg.pressure_profile()
    with bad_input("simulation"):
        result = simulate_primary(*case, shelf, pressure, sample_every_h=TRAJECTORY_EVERY_H)
    if plot is not None:
        from pharmatwin.cli.lyo_plots import plot_simulation

        with bad_input("--plot"):
            plot_simulation(
                result, plot, title=config.stem, collapse_c=case[1].collapse_temperature_c
            )
    if as_json:
        print(json.dumps(simulation_json(result), allow_nan=False))
        return
    _print_simulation(cfg, result, plot)


def simulation_json(result: DryingResult) -> dict[str, Any]:
    """The ``--json`` document of ``simulate`` (drying time null when not dry)."""
    tr = result.trajectory
    return {
        "drying_time_h": _finite(result.drying_time_h),
        "max_product_temperature_C": result.max_product_temperature_c,
        "trajectory": {
            "t_h": tr.t_h.tolist(),
            "product_temperature_C": tr.product_temperature_c.tolist(),
            "shelf_temperature_C": tr.shelf_temperature_c.tolist(),
            "chamber_pressure_Torr": tr.chamber_pressure_torr.tolist(),
            "sublimation_rate_kg_h": tr.sublimation_rate_kg_h.tolist(),
        },
    }


def _print_simulation(cfg: LyoConfig, result: DryingResult, plot: Path | None) -> None:
    product = cfg.product()
    table = Table(title="Primary drying")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    time = f"{result.drying_time_h:.3f} h" if result.dried else "not dry by the end"
    table.add_row("drying time", time)
    hot = result.max_product_temperature_c > product.collapse_temperature_c
    mark = " [red](above collapse)[/]" if hot else ""
    table.add_row("max product temperature", f"{result.max_product_temperature_c:.2f} °C{mark}")
    table.add_row("collapse temperature", f"{product.collapse_temperature_c:.2f} °C")
    table.add_row("max sublimation rate", f"{result.max_sublimation_rate_kg_h * 1000:.4g} g/h/vial")
    if cfg.equipment_section is not None:
        equipment = cfg.equipment()
        total = result.max_sublimation_rate_kg_h * equipment.vials
        table.add_row(f"max load ({equipment.vials} vials)", f"{total:.4g} kg/h")
    console = Console()
    console.print(table)
    if plot is not None:
        console.print(f"plot written to {plot}")


@lyo_app.command("design-space")
def design_space_command(
    config: Path = CONFIG, as_json: bool = AS_JSON, plot: Path | None = PLOT
) -> None:
    """Map drying time, product temperature and feasibility over shelf temperature × pressure."""
    cfg = _load(config, plot)
    with bad_input():
        grid = cfg.design_grid()
        case = (cfg.vial(), cfg.product(), cfg.heat(), cfg.equipment())
    with bad_input("design space"):
        points = design_space(
            *case,
            grid.shelf_temperature_C,
            grid.chamber_pressure_Torr,
            initial_shelf_c=grid.initial_shelf_C,
            ramp_c_per_min=grid.ramp_C_per_min or 1.0,
            margin_c=grid.margin_C,
            max_h=grid.max_h,
        )
    if plot is not None:
        from pharmatwin.cli.lyo_plots import plot_design_space

        with bad_input("--plot"):
            plot_design_space(
                points,
                plot,
                title=f"{config.stem}: design space",
                collapse_c=case[1].collapse_temperature_c,
                margin_c=grid.margin_C,
            )
    if as_json:
        print(json.dumps(design_space_json(points), allow_nan=False))
        return
    _print_design_space(points, plot)


def design_space_json(points: list[DesignPoint]) -> dict[str, Any]:
    """The ``--json`` document of ``design-space`` (drying time null when not dry)."""
    return {
        "grid": [
            {
                "shelf_temperature_C": p.shelf_temperature_c,
                "chamber_pressure_Torr": p.chamber_pressure_torr,
                "drying_time_h": _finite(p.drying_time_h),
                "max_product_temperature_C": p.max_product_temperature_c,
                "feasible": p.feasible,
            }
            for p in points
        ]
    }


def _print_design_space(points: list[DesignPoint], plot: Path | None) -> None:
    table = Table(title="Design space")
    for column in ("shelf °C", "Pch Torr", "drying h", "max product °C", "peak kg/h", "feasible"):
        table.add_column(column, justify="right")
    for p in points:
        time = f"{p.drying_time_h:.2f}" if math.isfinite(p.drying_time_h) else "-"
        table.add_row(
            f"{p.shelf_temperature_c:g}",
            f"{p.chamber_pressure_torr:g}",
            time,
            f"{p.max_product_temperature_c:.2f}",
            f"{p.max_sublimation_rate_kg_h:.3f}",
            "[green]yes[/]" if p.feasible else "[red]no[/]",
        )
    console = Console()
    console.print(table)
    for p in points:
        if not p.feasible:
            where = f"{p.shelf_temperature_c:g} °C, {p.chamber_pressure_torr:g} Torr"
            console.print(f"{where}: {p.reason}", soft_wrap=True, highlight=False)
    if plot is not None:
        console.print(f"plot written to {plot}")
