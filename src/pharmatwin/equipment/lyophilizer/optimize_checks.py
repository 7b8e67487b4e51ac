"""Input checks of the cycle optimizer: argument validation and the infeasibility tests that
need no simulation (units: °C, Torr, kg/h as in ``optimize``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.cycle import Equipment
from pharmatwin.equipment.lyophilizer.optimize_march import InfeasibleCycleError, Programme
from pharmatwin.equipment.lyophilizer.optimize_policy import ice_temperature
from pharmatwin.equipment.lyophilizer.profiles import Profile

Mode = Literal["shelf", "pressure", "both"]
MODES: tuple[Mode, ...] = ("shelf", "pressure", "both")
PRESSURE_GRID = 25
"""Chamber pressures searched per step (refined once around the best)."""


@dataclass(frozen=True)
class Limits:
    mode: Mode
    shelf: tuple[float, float]
    pressure: tuple[float, float]
    initial: float
    ramp: float | None
    fixed_shelf: Programme | None
    fixed_pressure: Programme | None


def check_feasible(limits: Limits, t_limit: float, equipment: Equipment) -> None:
    """Reject inputs for which nothing can sublime without breaking a constraint: ice at the
    collapse limit must be warmer than the ice in equilibrium with the chamber, and the
    capability positive, at every fixed pressure (shelf mode) or at some pressure of the
    search grid (pressure and both modes)."""
    if limits.mode == "shelf":
        assert limits.fixed_pressure is not None
        pressures = np.array(limits.fixed_pressure.value)
        where = "fixed_pressure"
    else:
        pressures = np.linspace(limits.pressure[0], limits.pressure[1], PRESSURE_GRID)
        where = "pressure_bounds_torr"
    t_ice = physics.ice_temperature_at(pressures)
    capability = equipment.capability_kg_h(pressures)
    sublimes = t_ice < t_limit
    admits = capability > 0.0
    if not bool(np.any(sublimes)) or (where == "fixed_pressure" and not bool(np.all(sublimes))):
        p = float(np.max(pressures)) if where == "fixed_pressure" else float(np.min(pressures))
        raise InfeasibleCycleError(
            f"product.collapse_temperature_c: the limit {t_limit:g} °C (collapse less the "
            f"margin) is not above {ice_temperature(p):.1f} °C, the temperature of ice in "
            f"equilibrium with {p:g} Torr ({where}): nothing can sublime without collapse"
        )
    if not bool(np.any(admits)) or (where == "fixed_pressure" and not bool(np.all(admits))):
        raise InfeasibleCycleError(
            f"equipment: the capability a + b·Pch is not positive at {where} "
            f"{float(np.min(pressures)):g} Torr: the dryer admits no sublimation there"
        )
    if not bool(np.any(sublimes & admits)):
        raise InfeasibleCycleError(
            f"pressure_bounds_torr: no chamber pressure in [{limits.pressure[0]:g}, "
            f"{limits.pressure[1]:g}] Torr is both low enough to sublime below {t_limit:g} °C "
            f"and high enough for the capability a + b·Pch"
        )
    p_low = float(np.min(pressures))
    if limits.mode != "pressure" and limits.shelf[1] <= ice_temperature(p_low):
        raise InfeasibleCycleError(
            f"shelf_bounds_c: the maximum {limits.shelf[1]:g} °C is not above "
            f"{ice_temperature(p_low):.1f} °C, the temperature of ice at {p_low:g} Torr: "
            f"nothing would sublime"
        )


def validate(
    *,
    mode: Mode,
    shelf_bounds_c: tuple[float, float] | None,
    pressure_bounds_torr: tuple[float, float] | None,
    initial_shelf_c: float | None,
    fixed_shelf: Profile | None,
    fixed_pressure: Profile | None,
    max_ramp_c_per_min: float | None,
    margin_c: float,
    max_h: float,
) -> Limits:
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
    if not (math.isfinite(margin_c) and margin_c >= 0.0):
        raise ValueError(f"margin_c: must be a finite number >= 0, got {margin_c}")
    if not (math.isfinite(max_h) and max_h > 0.0):
        raise ValueError(f"max_h: must be positive, got {max_h}")
    if max_ramp_c_per_min is not None and not (
        math.isfinite(max_ramp_c_per_min) and max_ramp_c_per_min > 0.0
    ):
        raise ValueError(f"max_ramp_c_per_min: must be positive, got {max_ramp_c_per_min}")
    needs_shelf = mode in ("shelf", "both")
    needs_pressure = mode in ("pressure", "both")
    shelf = _bounds("shelf_bounds_c", shelf_bounds_c, needs_shelf, positive=False)
    pressure = _bounds("pressure_bounds_torr", pressure_bounds_torr, needs_pressure, positive=True)
    if mode == "shelf" and fixed_pressure is None:
        raise ValueError("fixed_pressure: the shelf mode needs the chamber-pressure programme")
    if mode == "pressure" and fixed_shelf is None:
        raise ValueError("fixed_shelf: the pressure mode needs the shelf-temperature programme")
    if mode == "shelf" and fixed_pressure is not None and float(np.min(fixed_pressure.value)) <= 0:
        raise ValueError("fixed_pressure: chamber pressures must be positive")
    initial = shelf[0]
    if needs_shelf and max_ramp_c_per_min is not None:
        if initial_shelf_c is None or not math.isfinite(initial_shelf_c):
            raise ValueError(
                "initial_shelf_c: a finite start temperature is needed with a ramp limit, "
                f"got {initial_shelf_c}"
            )
        if not shelf[0] <= initial_shelf_c <= shelf[1]:
            raise ValueError(
                f"initial_shelf_c: {initial_shelf_c:g} °C is outside shelf_bounds_c "
                f"[{shelf[0]:g}, {shelf[1]:g}]"
            )
        initial = initial_shelf_c
    return Limits(
        mode=mode,
        shelf=shelf,
        pressure=pressure,
        initial=initial,
        ramp=max_ramp_c_per_min if needs_shelf else None,
        fixed_shelf=_programme(fixed_shelf) if mode == "pressure" else None,
        fixed_pressure=_programme(fixed_pressure) if mode == "shelf" else None,
    )


def _bounds(
    name: str, bounds: tuple[float, float] | None, needed: bool, *, positive: bool
) -> tuple[float, float]:
    if bounds is None:
        if needed:
            raise ValueError(f"{name}: required by this mode")
        return (math.nan, math.nan)
    if len(bounds) != 2:
        raise ValueError(f"{name}: expected (min, max), got {bounds!r}")
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name}: need finite min < max, got ({lo:g}, {hi:g})")
    if positive and lo <= 0.0:
        raise ValueError(f"{name}: the minimum must be positive, got {lo:g}")
    return (lo, hi)


def _programme(profile: Profile | None) -> Programme | None:
    if profile is None:
        return None
    return Programme(tuple(float(t) for t in profile.t_h), tuple(float(v) for v in profile.value))
