"""Cycle optimizer: the shortest primary drying that keeps the product below collapse and the
sublimation within the dryer's capability.

Problem (Pikal 1985 model; the formulation of LyoPRONTO, Shivkumar et al. 2019, AAPS
PharmSciTech 20:328, and its ``opt_Tsh`` / ``opt_Pch`` / ``opt_Pch_Tsh``): minimize the drying
time subject to, at all times, the vial-bottom product temperature Tbot ≤ collapse − margin
(°C) and the total sublimation rate N·ṁ ≤ a + b·Pch (kg/h, Pch in Torr), with the shelf
temperature (mode ``shelf``), the chamber pressure (``pressure``) or both (``both``) free within
bounds, and the shelf within a ramp-rate limit.

Method. In the quasi-steady model the dried length L is the only state and every constraint
is a bound on the current control given L. Drying faster never makes later drying slower:
the resistance Rp grows with L only, so the fastest admissible rate at L does not depend on
how L was reached, and arriving at any L earlier can only end drying earlier. The time-optimal
policy is therefore greedy: at each instant, the control that maximizes the sublimation rate
within the constraints, which keeps the binding constraint active. For a given L and Pch that
control is in closed form up to one monotone 1-D Newton solve (``optimize_policy``): the rate
at Tbot = limit, the capability rate, the shelf temperature that drives the smaller of the two
and the rate of the warmest admissible shelf; over the pressure, a vectorized grid search
then a golden-section search between the best grid point's neighbours. LyoPRONTO instead solves
a seven-variable SLSQP problem at every 0.01 h Euler step for the same greedy policy (its shelf
result for the reference case keeps Tbot at the critical temperature, ending at 2.12 h with the
shelf at 84.2 °C; this module gives 2.125 h and 84.18 °C). A ramp-rate limit breaks the
argument on the way down: the greedy shelf can be too warm to follow a falling ceiling. The
march then repeats under the look-ahead bound E(t) = min over s ≥ t of ceiling(s) + r·(s − t)
taken from the previous, faster pass (``optimize_march``); where the collapse limit binds, a
slower pass only raises the ceilings ahead (less dried, lower resistance), so the bound is safe
and one extra pass suffices (otherwise up to 8 passes tighten it). With ramp limits the result
is therefore feasible and near, not provably at, the time optimum.

Finally the profiles are simulated forward with ``simulate_primary``; if the continuous
trajectory exceeds a limit by more than 0.01 °C or 0.1 % of the capability (it does not on the
reference cases: the knots follow the ceiling to ~1e-3 °C), the limits are tightened by the
excess and the cycle re-planned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.cycle import Equipment, HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.optimize_checks import (
    PRESSURE_GRID,
    Limits,
    Mode,
    check_feasible,
    validate,
)
from pharmatwin.equipment.lyophilizer.optimize_march import (
    Envelope,
    InfeasibleCycleError,
    Pass,
    Plan,
    march,
)
from pharmatwin.equipment.lyophilizer.optimize_policy import (
    Case,
    Choice,
    choose_pressure,
    choose_shelf,
)
from pharmatwin.equipment.lyophilizer.primary import Trajectory, simulate_primary
from pharmatwin.equipment.lyophilizer.profiles import Profile

__all__ = ["InfeasibleCycleError", "Mode", "OptimizedCycle", "optimize_cycle"]


TEMPERATURE_TOL_C = 0.01
"""Accepted excess of the simulated vial-bottom temperature over the limit, °C."""
CAPABILITY_TOL = 1e-3
"""Accepted excess of the simulated total rate over the capability, fraction of it."""
MAX_PASSES = 8
MAX_REPLANS = 3
_EXCESS_TOL_C = 1e-6


@dataclass(frozen=True)
class OptimizedCycle:
    """The optimized programmes and their forward simulation.

    Attributes:
        mode: what was optimized (``shelf``, ``pressure`` or ``both``).
        shelf: shelf-temperature programme, °C.
        pressure: chamber-pressure programme, Torr.
        drying_time_h: end of primary drying of the simulated cycle, h.
        max_product_temperature_c: highest vial-bottom temperature, °C.
        trajectory: the simulated cycle (``simulate_primary``).
        temperature_margin_c: min over time of (collapse − margin − Tbot), °C (≥ −0.01).
        capability_margin_kg_h: min over time of (a + b·Pch − N·ṁ), kg/h.
        passes: marches needed (more than 1 when a ramp limit required the look-ahead).
    """

    mode: Mode
    shelf: Profile
    pressure: Profile
    drying_time_h: float
    max_product_temperature_c: float
    trajectory: Trajectory
    temperature_margin_c: float
    capability_margin_kg_h: float
    passes: int


def optimize_cycle(
    vial: Vial,
    product: Product,
    heat: HeatTransfer,
    equipment: Equipment,
    *,
    mode: Mode,
    shelf_bounds_c: tuple[float, float] | None = None,
    pressure_bounds_torr: tuple[float, float] | None = None,
    initial_shelf_c: float | None = None,
    fixed_shelf: Profile | None = None,
    fixed_pressure: Profile | None = None,
    max_ramp_c_per_min: float | None = None,
    margin_c: float = 0.0,
    max_h: float = 200.0,
) -> OptimizedCycle:
    """Shortest primary drying under the collapse and capability constraints.

    ``shelf`` mode needs ``fixed_pressure`` and ``shelf_bounds_c``; ``pressure`` mode needs
    ``fixed_shelf`` and ``pressure_bounds_torr``; ``both`` needs both bounds. With
    ``max_ramp_c_per_min`` the shelf starts at ``initial_shelf_c`` and changes at most that
    fast; without it the shelf may jump (as in LyoPRONTO's optimizer). Raises ``ValueError``
    naming the argument for bad input and ``InfeasibleCycleError`` (a ``ValueError``) when no
    cycle can satisfy the constraints.
    """
    limits = validate(
        mode=mode,
        shelf_bounds_c=shelf_bounds_c,
        pressure_bounds_torr=pressure_bounds_torr,
        initial_shelf_c=initial_shelf_c,
        fixed_shelf=fixed_shelf,
        fixed_pressure=fixed_pressure,
        max_ramp_c_per_min=max_ramp_c_per_min,
        margin_c=margin_c,
        max_h=max_h,
    )
    t_limit = product.collapse_temperature_c - margin_c
    check_feasible(limits, t_limit, equipment)
    backoff_c, cap_scale = 0.0, 1.0
    for _ in range(MAX_REPLANS + 1):
        case = _case(
            vial, product, heat, equipment, t_limit=t_limit - backoff_c, cap_scale=cap_scale
        )
        done, passes = _plan_cycle(case, limits, max_h)
        shelf, pressure = _profiles(done, limits, fixed_shelf, fixed_pressure)
        result = simulate_primary(vial, product, heat, shelf, pressure, max_h=max_h)
        traj = result.trajectory
        over_c = result.max_product_temperature_c - t_limit
        capability = equipment.capability_kg_h(traj.chamber_pressure_torr)
        load = equipment.vials * traj.sublimation_rate_kg_h
        over_cap = float(np.max((load - capability) / capability))
        if over_c <= TEMPERATURE_TOL_C and over_cap <= CAPABILITY_TOL:
            return OptimizedCycle(
                mode=mode,
                shelf=shelf,
                pressure=pressure,
                drying_time_h=result.drying_time_h,
                max_product_temperature_c=result.max_product_temperature_c,
                trajectory=traj,
                temperature_margin_c=-over_c,
                capability_margin_kg_h=float(np.min(capability - load)),
                passes=passes,
            )
        backoff_c += max(over_c, 0.0) + 2e-3
        cap_scale *= 1.0 - max(over_cap, 0.0) - 1e-4
    raise RuntimeError(  # pragma: no cover - a numerical failure, not bad input
        f"optimize_cycle: the simulated cycle still exceeds a limit by {over_c:.3g} °C or "
        f"{over_cap:.2%} of capability after {MAX_REPLANS} re-plans"
    )


def _case(
    vial: Vial,
    product: Product,
    heat: HeatTransfer,
    equipment: Equipment,
    *,
    t_limit: float,
    cap_scale: float,
) -> Case:
    ap, solids = vial.product_area_cm2, product.solids_fraction
    per_vial = 1000.0 * cap_scale / equipment.vials  # kg/h total -> g/h per vial
    return Case(
        av=vial.area_cm2,
        ap=ap,
        l0=float(physics.fill_height(vial.fill_ml, ap, solids)),
        growth=float(physics.cake_growth_per_gram(ap, solids)),
        r0=product.r0,
        a1=product.a1,
        a2=product.a2,
        kc=heat.kc,
        kp=heat.kp,
        kd=heat.kd,
        t_limit=t_limit,
        cap_a=equipment.a * per_vial,
        cap_b=equipment.b * per_vial,
    )


def _plan_cycle(case: Case, limits: Limits, max_h: float) -> tuple[Pass, int]:
    """March the greedy policy, repeating under a look-ahead envelope while a ramp-down
    limit forces the shelf above its ceiling."""
    envelope = Envelope.none()
    breakpoints = [
        float(t)
        for prog in (limits.fixed_shelf, limits.fixed_pressure)
        if prog is not None
        for t in prog.t_h
    ]
    ramp = limits.ramp
    if limits.mode == "pressure" and limits.fixed_shelf is not None:
        ramp = limits.fixed_shelf.max_slope_per_min() or None
    for passes in range(1, MAX_PASSES + 1):
        plan = _plan(case, limits, envelope)
        done = march(
            plan, case.l0, case.growth, limits.initial, ramp_per_min=ramp,
            breakpoints=breakpoints, max_h=max_h,
        )  # fmt: skip
        if float(np.max(done.excess_c)) <= _EXCESS_TOL_C:
            return done, passes
        assert limits.ramp is not None  # excess only arises from a ramp-down limit
        envelope = Envelope.from_pass(done, limits.ramp, limits.shelf[1], envelope)
    raise InfeasibleCycleError(
        f"max_ramp_c_per_min: ramping at most {limits.ramp:g} °C/min from initial_shelf_c "
        f"{limits.initial:g} °C, the shelf cannot cool as fast as the product needs to stay at "
        f"or below {case.t_limit:g} °C; start colder or allow a faster ramp"
    )


def _plan(case: Case, limits: Limits, envelope: Envelope) -> Plan:
    lo, hi = limits.shelf
    ramp = 60.0 * limits.ramp if limits.ramp else None
    grid = np.linspace(limits.pressure[0], limits.pressure[1], PRESSURE_GRID)

    def bounds(t: float, prev: float, dt: float) -> tuple[float, float]:
        if ramp is None:
            return hi, lo
        return min(hi, prev + ramp * dt, envelope.at(t)), max(lo, prev - ramp * dt)

    def shelf_plan(t: float, length: float, prev: float, dt: float) -> Choice:
        assert limits.fixed_pressure is not None
        upper, lower = bounds(t, prev, dt)
        choice = choose_shelf(case, length, limits.fixed_pressure.at(t), upper, lower)
        _no_room(choice, lo, t, length, case)
        return choice

    def pressure_plan(t: float, length: float, prev: float, dt: float) -> Choice:
        assert limits.fixed_shelf is not None
        shelf = limits.fixed_shelf.at(t)
        choice = choose_pressure(case, length, grid, shelf, shelf)
        if choice.excess_c > _EXCESS_TOL_C:
            raise InfeasibleCycleError(
                f"fixed_shelf: at {t:.2f} h ({length / case.l0:.0%} dried) the shelf at "
                f"{shelf:.1f} °C puts the product above {case.t_limit:g} °C or the sublimation "
                f"above the capability at every chamber pressure in "
                f"[{limits.pressure[0]:g}, {limits.pressure[1]:g}] Torr"
            )
        return choice

    def both_plan(t: float, length: float, prev: float, dt: float) -> Choice:
        upper, lower = bounds(t, prev, dt)
        choice = choose_pressure(case, length, grid, upper, lower)
        _no_room(choice, lo, t, length, case)
        return choice

    return {"shelf": shelf_plan, "pressure": pressure_plan, "both": both_plan}[limits.mode]


def _no_room(choice: Choice, shelf_min: float, t: float, length: float, case: Case) -> None:
    if choice.ceiling_c < shelf_min - _EXCESS_TOL_C:
        raise InfeasibleCycleError(
            f"shelf_bounds_c: at {t:.2f} h ({length / case.l0:.0%} dried) even the minimum "
            f"shelf temperature {shelf_min:g} °C puts the product above {case.t_limit:g} °C or "
            f"the sublimation above the capability (the shelf may be at most "
            f"{choice.ceiling_c:.1f} °C)"
        )


def _profiles(
    done: Pass, limits: Limits, fixed_shelf: Profile | None, fixed_pressure: Profile | None
) -> tuple[Profile, Profile]:
    shelf = fixed_shelf if limits.mode == "pressure" else None
    pressure = fixed_pressure if limits.mode == "shelf" else None
    return (
        shelf if shelf is not None else Profile(done.t_h, done.shelf_c),
        pressure if pressure is not None else Profile(done.t_h, done.pressure_torr),
    )
