"""Primary-drying design space: shelf temperature × chamber pressure → drying time, maximum
product temperature, peak sublimation load and feasibility (the chart of Pikal's and
LyoPRONTO's design space, Shivkumar et al. 2019, AAPS PharmSciTech 20:328).

A point is feasible when the product stays at or below its collapse temperature minus the
margin, the total sublimation rate of all vials stays within the equipment capability
a + b·Pch at all times, and the product dries within ``max_h``. All points are integrated in
one vectorized call; with a ``distributed.Client`` the grid is split into chunks run on the
cluster (Dask is imported only then).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pharmatwin.equipment.lyophilizer.cycle import Equipment, HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.primary import simulate_many
from pharmatwin.equipment.lyophilizer.profiles import Profile


@dataclass(frozen=True)
class DesignPoint:
    """One grid point.

    Attributes:
        shelf_temperature_c: shelf setpoint, °C.
        chamber_pressure_torr: chamber pressure, Torr.
        drying_time_h: primary drying time, h (inf when not dry by ``max_h``).
        max_product_temperature_c: maximum vial-bottom product temperature, °C.
        max_sublimation_rate_kg_h: peak total sublimation rate of all vials, kg/h.
        feasible: every constraint holds.
        reason: why the point is infeasible ("" when feasible).
    """

    shelf_temperature_c: float
    chamber_pressure_torr: float
    drying_time_h: float
    max_product_temperature_c: float
    max_sublimation_rate_kg_h: float
    feasible: bool
    reason: str


Outcome = tuple[float, float, float]  # drying time h, max product °C, max rate kg/h per vial


def _check_grid(name: str, values: Sequence[float], *, positive: bool) -> list[float]:
    out = [float(v) for v in values]
    if not out:
        raise ValueError(f"{name}: needs at least one value")
    for i, v in enumerate(out):
        if not math.isfinite(v) or (positive and v <= 0) or (not positive and v <= -273.15):
            word = "positive" if positive else "a temperature above absolute zero"
            raise ValueError(f"{name}.{i}: must be {word}, got {v:g}")
    return out


Case = tuple[Vial, Product, HeatTransfer]


def run_chunk(
    case: Case, shelves: Sequence[Profile], pressures: Sequence[Profile], max_h: float
) -> list[Outcome]:
    """Simulate one chunk of the grid (a cluster task); only the summary numbers travel back."""
    vial, product, heat = case
    results = simulate_many(vial, product, heat, shelves, pressures, max_h=max_h)
    return [
        (r.drying_time_h, r.max_product_temperature_c, r.max_sublimation_rate_kg_h) for r in results
    ]


def design_space(  # noqa: PLR0917 - the signature of the contract: case, dryer, grid axes
    vial: Vial,
    product: Product,
    heat: HeatTransfer,
    equipment: Equipment,
    shelf_setpoints_c: Sequence[float],
    pressures_torr: Sequence[float],
    *,
    initial_shelf_c: float | None = None,
    ramp_c_per_min: float = 1.0,
    margin_c: float = 0.0,
    max_h: float = 200.0,
    client: Any = None,
) -> list[DesignPoint]:
    """Every (shelf setpoint, pressure) pair, shelf-major. The shelf ramps from
    ``initial_shelf_c`` at ``ramp_c_per_min`` °C/min to each setpoint (held from the start when
    ``initial_shelf_c`` is None); the pressure is constant. ``client``: a
    ``distributed.Client`` to spread the grid over (answers are identical either way)."""
    shelves_c = _check_grid("shelf_setpoints_c", shelf_setpoints_c, positive=False)
    pressures = _check_grid("pressures_torr", pressures_torr, positive=True)
    if not (math.isfinite(margin_c) and margin_c >= 0):
        raise ValueError(f"margin_c: must be >= 0, got {margin_c}")
    if initial_shelf_c is not None and not math.isfinite(initial_shelf_c):
        raise ValueError(f"initial_shelf_c: must be a finite number, got {initial_shelf_c}")
    if not (math.isfinite(ramp_c_per_min) and ramp_c_per_min > 0):
        raise ValueError(f"ramp_c_per_min: must be positive, got {ramp_c_per_min}")
    grid = [(s, p) for s in shelves_c for p in pressures]
    shelf_profiles = [
        Profile.constant(s)
        if initial_shelf_c is None
        else Profile.ramp(initial_shelf_c, ramp_c_per_min, s)
        for s, _ in grid
    ]
    pressure_profiles = [Profile.constant(p) for _, p in grid]
    if client is None:
        outcomes = run_chunk((vial, product, heat), shelf_profiles, pressure_profiles, max_h)
    else:
        outcomes = _on_cluster(
            client, (vial, product, heat), shelf_profiles, pressure_profiles, max_h
        )
    limit = product.collapse_temperature_c - margin_c
    return [
        _point(s, p, outcome, equipment, limit_c=limit, max_h=max_h)
        for (s, p), outcome in zip(grid, outcomes, strict=True)
    ]


def _on_cluster(
    client: Any, case: Case, shelves: list[Profile], pressures: list[Profile], max_h: float
) -> list[Outcome]:
    """Split the grid into one chunk per worker thread and run them with ``client.map``."""
    threads = max(1, sum(client.nthreads().values()))
    chunks = np.array_split(np.arange(len(shelves)), min(threads, len(shelves)))
    futures = client.map(
        run_chunk,
        [case] * len(chunks),
        [[shelves[i] for i in chunk] for chunk in chunks],
        [[pressures[i] for i in chunk] for chunk in chunks],
        [max_h] * len(chunks),
        pure=False,
    )
    return [outcome for part in client.gather(futures) for outcome in part]


def _point(
    shelf_c: float,
    pressure: float,
    outcome: Outcome,
    equipment: Equipment,
    *,
    limit_c: float,
    max_h: float,
) -> DesignPoint:
    time_h, product_c, rate_per_vial = outcome
    total = rate_per_vial * equipment.vials
    capability = float(equipment.capability_kg_h(pressure))
    reasons = []
    if not math.isfinite(time_h):
        reasons.append(f"not dry within {max_h:g} h")
    if product_c > limit_c:
        reasons.append(f"product {product_c:.2f} °C above the limit {limit_c:.2f} °C")
    if total > capability:
        reasons.append(
            f"sublimation {total:.3f} kg/h above the equipment capability {capability:.3f} kg/h"
        )
    return DesignPoint(
        shelf_temperature_c=shelf_c,
        chamber_pressure_torr=pressure,
        drying_time_h=time_h,
        max_product_temperature_c=product_c,
        max_sublimation_rate_kg_h=total,
        feasible=not reasons,
        reason="; ".join(reasons),
    )
