"""The virtual freeze dryer's chamber: gas composition, pressure control, shelf control.

Gas: water vapour from the vials and non-condensable gas (the controller's nitrogen bleed and
any air leak) leave the well-mixed chamber together, so the water mole fraction is the ratio of
the molar flows, y = ṅw / (ṅw + ṅgas) — the basis of the comparative pressure (Pirani /
manometer) end point (Patel, Doen & Pikal 2010, AAPS PharmSciTech 11:73).

Pressure: P = p_gas + p_cond + ṁ/C. The vacuum pump holds the non-condensable gas at
p_gas = Q/S (Q its throughput, S the pump speed); over the condenser stands the vapour pressure
of ice at the condenser temperature p_cond; the duct to the condenser drops ṁ/C, C its
conductance (the slope of the equipment capability a + b·Pch). The controller sets the bleed so
that P meets its setpoint; when the bleed saturates (a leak, an overloaded condenser) or sticks,
the pressure follows the sublimation rate, which in turn depends on the pressure: that fixed
point is solved each step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.dryer_config import Chamber
from pharmatwin.equipment.lyophilizer.lyo_faults import LyoFault, active_fault

SCCM_TORR_L_S = 760.0e-3 / 60.0
"""1 sccm (cm³/min at 0 °C and 1 atm) in Torr·L/s."""
SCCM_MOL_H = 60.0 / 22414.0
"""1 sccm in mol/h (molar volume 22 414 cm³/mol at 0 °C, 1 atm)."""
WATER_G_MOL = 18.015

_FIXED_POINT_STEPS = 30


@dataclass(frozen=True)
class ChamberState:
    """Chamber pressure (Torr), bleed flow (sccm), water mole fraction, condenser °C."""

    pressure_torr: float
    bleed_sccm: float
    vapour_fraction: float
    condenser_c: float
    controlled: bool


def vapour_fraction(rate_g_h: float, gas_sccm: float) -> float:
    """Water mole fraction of the chamber gas."""
    water = rate_g_h / WATER_G_MOL
    gas = gas_sccm * SCCM_MOL_H
    return water / (water + gas) if water + gas > 0 else 0.0


def _condenser(c: Chamber, rate_g_h: float, faults: list[LyoFault], t: float) -> float:
    overload = active_fault(faults, "condenser_overload", t)
    if overload is None or overload.magnitude is None:
        return c.condenser_C
    excess = max(rate_g_h - overload.magnitude, 0.0)
    return min(c.condenser_C + c.condenser_warming_C_per_g_h * excess, c.condenser_max_C)


def _pressure(c: Chamber, rate_g_h: float, gas_sccm: float, condenser_c: float) -> float:
    p_gas = gas_sccm * SCCM_TORR_L_S / c.pump_speed_L_s
    p_cond = float(physics.ice_vapour_pressure(condenser_c))
    return p_gas + p_cond + rate_g_h / (1000.0 * c.duct_kg_h_per_torr)


def chamber_state(
    c: Chamber,
    setpoint_torr: float,
    rate_at: Callable[[float], float],
    *,
    rate_now: float,
    bleed_now: float,
    faults: list[LyoFault],
    t: float,
) -> ChamberState:
    """The chamber at time ``t``: ``rate_at(P)`` is the shelf's total sublimation rate (g/h) at
    chamber pressure ``P``; ``rate_now`` the rate of the last step, ``bleed_now`` the bleed."""
    leak_fault = active_fault(faults, "vacuum_leak", t)
    leak = leak_fault.magnitude if leak_fault and leak_fault.magnitude else 0.0
    stuck = active_fault(faults, "stuck_pressure_controller", t)
    condenser = _condenser(c, rate_now, faults, t)
    if stuck is None:
        controlled = _controlled(c, setpoint_torr, rate_now, leak, condenser)
        if controlled is not None:
            return controlled
        bleed = 0.0 if _pressure(c, rate_now, leak, condenser) > setpoint_torr else c.bleed_max_sccm
    else:
        bleed = bleed_now if stuck.magnitude is None else stuck.magnitude
    pressure, rate = _fixed_point(c, rate_at, bleed + leak, faults, t)
    condenser = _condenser(c, rate, faults, t)
    if stuck is None and (pressure - setpoint_torr) * (1.0 if bleed == 0.0 else -1.0) < 0:
        # the saturated valve would overshoot the setpoint: control holds it after all
        rate = rate_at(setpoint_torr)
        condenser = _condenser(c, rate, faults, t)
        return _held(c, setpoint_torr, rate, leak, condenser)
    return ChamberState(pressure, bleed, vapour_fraction(rate, bleed + leak), condenser, False)


def _bleed_for(c: Chamber, setpoint: float, rate: float, leak: float, condenser: float) -> float:
    """The bleed (sccm) that holds ``setpoint`` at sublimation rate ``rate`` (may be outside
    the valve's range)."""
    return (setpoint - _pressure(c, rate, leak, condenser)) * c.pump_speed_L_s / SCCM_TORR_L_S


def _held(c: Chamber, setpoint: float, rate: float, leak: float, condenser: float) -> ChamberState:
    """The chamber at ``setpoint``, the bleed within its range."""
    bleed = min(max(_bleed_for(c, setpoint, rate, leak, condenser), 0.0), c.bleed_max_sccm)
    return ChamberState(setpoint, bleed, vapour_fraction(rate, bleed + leak), condenser, True)


def _controlled(
    c: Chamber, setpoint: float, rate: float, leak: float, condenser: float
) -> ChamberState | None:
    """The chamber held at ``setpoint`` by the bleed, or None when the bleed cannot do it."""
    if 0.0 <= _bleed_for(c, setpoint, rate, leak, condenser) <= c.bleed_max_sccm:
        return _held(c, setpoint, rate, leak, condenser)
    return None


def _fixed_point(
    c: Chamber,
    rate_at: Callable[[float], float],
    gas_sccm: float,
    faults: list[LyoFault],
    t: float,
) -> tuple[float, float]:
    """Pressure P with P = pressure(rate_at(P)): g(P) = pressure(rate(P)) − P falls with P;
    Illinois-modified regula falsi on [P with no sublimation, P at that sublimation rate]."""

    def g(p: float) -> tuple[float, float]:
        rate = rate_at(p)
        return _pressure(c, rate, gas_sccm, _condenser(c, rate, faults, t)) - p, rate

    low = _pressure(c, 0.0, gas_sccm, c.condenser_C)
    g_low, rate = g(low)
    if g_low <= 0:
        return low, rate
    high = low + g_low
    g_high, rate = g(high)
    while g_high > 0 and high < 50.0:
        low, g_low = high, g_high
        high = 2.0 * high
        g_high, rate = g(high)
    side = 0
    p = high
    for _ in range(_FIXED_POINT_STEPS):
        p = high - g_high * (high - low) / (g_high - g_low)
        g_p, rate = g(p)
        if abs(g_p) < 1e-7 or math.isclose(high, low, rel_tol=1e-9):
            break
        if g_p > 0:
            low, g_low = p, g_p
            if side == 1:
                g_high /= 2.0
            side = 1
        else:
            high, g_high = p, g_p
            if side == -1:
                g_low /= 2.0
            side = -1
    return p, rate


def shelf_step(
    c: Chamber, shelf_c: float, setpoint_c: float, *, dt_h: float, faults: list[LyoFault], t: float
) -> float:
    """The shelf temperature after one step: first-order tracking of the setpoint within the
    unit's heating/cooling rate; under a ``shelf_control_failure`` it drifts instead."""
    low, high = c.shelf_limits_C
    failure = active_fault(faults, "shelf_control_failure", t)
    if failure is not None and failure.magnitude is not None:
        return min(max(shelf_c + failure.magnitude * dt_h, low), high)
    gain = 1.0 - math.exp(-dt_h * 60.0 / c.shelf_tau_min)
    change = (setpoint_c - shelf_c) * gain
    limit = c.shelf_max_rate_C_per_min * dt_h * 60.0
    return min(max(shelf_c + max(min(change, limit), -limit), low), high)
