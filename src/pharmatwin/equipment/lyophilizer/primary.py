"""Primary drying of a vial under a shelf-temperature and chamber-pressure programme.

The quasi-steady model of ``physics`` (Pikal 1985; as in LyoPRONTO, Shivkumar et al. 2019,
AAPS PharmSciTech 20:328) gives the sublimation rate for a dried-layer thickness L; the only
state is L, with dL/dt = rate·(dL/dm). It is integrated by an adaptive Dormand–Prince 5(4)
scheme (relative tolerance 1e-8) that never steps over a programme knot; the end of drying
(L = L0) is located inside the last step on the method's continuous extension, and the maxima
of the product temperature and the sublimation rate are refined between samples.

Units: h, °C, Torr, kg/h per vial (as equipment capability is quoted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer.cycle import HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.physics import KELVIN
from pharmatwin.equipment.lyophilizer.primary_many import integrate_many
from pharmatwin.equipment.lyophilizer.primary_one import integrate_one
from pharmatwin.equipment.lyophilizer.primary_rk import Case, Raw, front_many
from pharmatwin.equipment.lyophilizer.profiles import Profile

G_PER_KG = 1000.0
_CLOSE_H = 1e-9


@dataclass(frozen=True)
class Trajectory:
    """The run sampled at every integration step (and on an optional regular grid).

    Attributes:
        t_h: time since the start of primary drying, h.
        product_temperature_c: vial-bottom product temperature (the maximum in the vial), °C.
        sublimation_temperature_c: temperature of the sublimation front, °C.
        shelf_temperature_c: shelf temperature, °C.
        chamber_pressure_torr: chamber pressure, Torr.
        sublimation_rate_kg_h: sublimation rate of one vial, kg/h.
        dried_fraction: dried-layer thickness over the fill height, 0 to 1.
    """

    t_h: FloatArray
    product_temperature_c: FloatArray
    sublimation_temperature_c: FloatArray
    shelf_temperature_c: FloatArray
    chamber_pressure_torr: FloatArray
    sublimation_rate_kg_h: FloatArray
    dried_fraction: FloatArray


@dataclass(frozen=True)
class DryingResult:
    """Outcome of primary drying.

    Attributes:
        drying_time_h: time when the whole fill has sublimed, h (``math.inf`` when not dry by
            ``max_h``).
        max_product_temperature_c: maximum vial-bottom product temperature over the run, °C.
        trajectory: the run over time.
        max_sublimation_rate_kg_h: maximum sublimation rate of one vial over the run, kg/h.
    """

    drying_time_h: float
    max_product_temperature_c: float
    trajectory: Trajectory
    max_sublimation_rate_kg_h: float

    @property
    def dried(self) -> bool:
        """Whether primary drying ended within the simulated time."""
        return math.isfinite(self.drying_time_h)


def simulate_primary(
    vial: Vial,
    product: Product,
    heat: HeatTransfer,
    shelf: Profile,
    pressure: Profile,
    *,
    max_h: float = 200.0,
    sample_every_h: float | None = None,
) -> DryingResult:
    """Primary drying of one vial from the end of freezing until its ice is gone or ``max_h``.

    ``shelf`` is the shelf temperature programme (°C), ``pressure`` the chamber pressure
    programme (Torr). ``sample_every_h`` adds trajectory samples on a regular grid (for plots),
    interpolated on the integration steps; it does not change the integration.
    """
    _check_run(shelf, pressure, max_h, sample_every_h, "")
    case = Case.of(vial, product, heat)
    raw = integrate_one(case, shelf, pressure, max_h)
    return _result(raw, case, shelf, pressure, sample_every_h)


def simulate_many(
    vial: Vial,
    product: Product,
    heat: HeatTransfer,
    shelves: Sequence[Profile],
    pressures: Sequence[Profile],
    *,
    max_h: float = 200.0,
    sample_every_h: float | None = None,
) -> list[DryingResult]:
    """``simulate_primary`` for each pair (shelves[i], pressures[i]) in one vectorized
    integration (each member keeps its own adaptive step and knots). A single profile in
    either sequence is used for every member."""
    shelves, pressures = list(shelves), list(pressures)
    if len(shelves) == 1 and len(pressures) > 1:
        shelves = shelves * len(pressures)
    if len(pressures) == 1 and len(shelves) > 1:
        pressures = pressures * len(shelves)
    if len(shelves) != len(pressures):
        raise ValueError(f"pressures: {len(pressures)} profiles for {len(shelves)} shelf profiles")
    for i, (shelf, pressure) in enumerate(zip(shelves, pressures, strict=True)):
        _check_run(shelf, pressure, max_h, sample_every_h, f"[{i}]")
    if not shelves:
        return []
    case = Case.of(vial, product, heat)
    raws = integrate_many(case, shelves, pressures, max_h)
    return [
        _result(raw, case, shelf, pressure, sample_every_h)
        for raw, shelf, pressure in zip(raws, shelves, pressures, strict=True)
    ]


def _check_run(
    shelf: Profile, pressure: Profile, max_h: float, every: float | None, index: str
) -> None:
    if not isinstance(shelf, Profile):
        raise ValueError(f"shelf{index}: expected a Profile, got {type(shelf).__name__}")
    if not isinstance(pressure, Profile):
        raise ValueError(f"pressure{index}: expected a Profile, got {type(pressure).__name__}")
    if np.any(pressure.value <= 0):
        raise ValueError(
            f"pressure{index}: chamber pressure must be positive, got {pressure.value.min():g} Torr"
        )
    if np.any(shelf.value <= -KELVIN):
        raise ValueError(f"shelf{index}: below absolute zero, got {shelf.value.min():g} °C")
    if not (math.isfinite(max_h) and max_h > 0):
        raise ValueError(f"max_h: must be a positive number of hours, got {max_h}")
    if every is not None and not (math.isfinite(every) and every > 0):
        raise ValueError(f"sample_every_h: must be positive, got {every}")


def _result(
    raw: Raw, case: Case, shelf: Profile, pressure: Profile, every: float | None
) -> DryingResult:
    if every is not None and raw.step_t.size:
        raw = _densify(raw, case, shelf, pressure, every)
    trajectory = Trajectory(
        t_h=raw.t_h,
        product_temperature_c=raw.t_bot,
        sublimation_temperature_c=raw.t_sub,
        shelf_temperature_c=raw.t_shelf,
        chamber_pressure_torr=raw.p_chamber,
        sublimation_rate_kg_h=raw.rate_g_h / G_PER_KG,
        dried_fraction=np.minimum(raw.length_cm / case.l0, 1.0),
    )
    return DryingResult(
        drying_time_h=raw.drying_time_h,
        max_product_temperature_c=raw.max_t_bot,
        trajectory=trajectory,
        max_sublimation_rate_kg_h=raw.max_rate_g_h / G_PER_KG,
    )


def _densify(raw: Raw, case: Case, shelf: Profile, pressure: Profile, every: float) -> Raw:
    """Add samples every ``every`` hours from the step interpolants."""
    end = float(raw.t_h[-1])
    grid = np.round(np.arange(1, math.floor(end / every) + 1) * every, 12)
    grid = grid[grid < end - _CLOSE_H]
    right = np.clip(np.searchsorted(raw.t_h, grid), 1, raw.t_h.size - 1)
    gap = np.minimum(np.abs(grid - raw.t_h[right - 1]), np.abs(raw.t_h[right] - grid))
    grid = grid[gap > _CLOSE_H]  # no near-duplicates of the step samples
    if grid.size == 0:
        return raw
    j = np.clip(np.searchsorted(raw.step_t, grid, side="right") - 1, 0, raw.step_t.size - 1)
    theta = (grid - raw.step_t[j]) / raw.step_h[j]
    p = raw.step_poly[j].T
    length = p[0] + theta * (p[1] + theta * (p[2] + theta * (p[3] + theta * p[4])))
    length = np.minimum(length, case.l0)
    tsh, pch = shelf.at(grid), pressure.at(grid)
    kv = case.kc + case.kp * pch / (1.0 + case.kd * pch)
    rp = case.r0 + case.a1 * length / (1.0 + case.a2 * length)
    t_sub, t_bot, rate = front_many(
        tsh, pch, kv, rp, case.l0 - length, case=case, guess=raw.t_sub[j]
    )
    columns = (
        (raw.t_h, grid),
        (raw.length_cm, length),
        (raw.t_sub, t_sub),
        (raw.t_bot, t_bot),
        (raw.rate_g_h, rate),
        (raw.t_shelf, tsh),
        (raw.p_chamber, pch),
    )
    order = np.argsort(np.concatenate([raw.t_h, grid]), kind="stable")
    t_h, length, t_sub, t_bot, rate, tsh, pch = (np.concatenate(pair)[order] for pair in columns)
    return Raw(
        t_h=t_h,
        length_cm=length,
        t_sub=t_sub,
        t_bot=t_bot,
        rate_g_h=rate,
        t_shelf=tsh,
        p_chamber=pch,
        drying_time_h=raw.drying_time_h,
        max_t_bot=max(raw.max_t_bot, float(t_bot.max())),
        max_rate_g_h=max(raw.max_rate_g_h, float(rate.max())),
        step_t=raw.step_t,
        step_h=raw.step_h,
        step_poly=raw.step_poly,
    )
