"""Quasi-steady primary drying of a vial: the heat and mass balance at the sublimation front.

Units (the freeze-drying literature's, kept so published parameters carry over unchanged):
temperatures °C, pressures Torr, lengths cm, areas cm², time h, heat cal, mass g (per vial)
or kg/h (sublimation rate, as equipment capability is quoted).

Equations (Pikal 1985; as used by LyoPRONTO, Shivkumar et al. 2019, AAPS PharmSciTech 20:328):

* vial heat-transfer coefficient  Kv = KC + KP·Pch / (1 + KD·Pch)             [cal/(s·K·cm²)]
* dried-layer resistance          Rp = R0 + A1·L / (1 + A2·L)                  [cm²·Torr·h/g]
* ice vapour pressure             Psub = 2.698e10 · exp(−6144.96 / (T + 273.15))  [Torr]
* sublimation flux                ṁ = Ap·(Psub − Pch) / Rp                      [g/h]
* heat through the frozen layer   Tbot = Tsub + (ṁ·ΔHs/3600)·(L0 − L) / (Ap·k_ice)
* heat from the shelf             Q = Kv·Av·(Tsh − Tbot) = ṁ·ΔHs/3600            [cal/s]

``L`` is the dried-cake thickness, ``L0`` the initial frozen fill height. Every function is
vectorized: arguments broadcast together (one value per vial, ensemble member or grid point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray

ArrayLike = float | FloatArray

RHO_ICE = 0.918
"""Density of ice, g/mL (LyoPRONTO constants; CRC Handbook)."""
RHO_SOLUTE = 1.5
"""Density of the dried solute, g/mL (LyoPRONTO's default for sugar-based formulations)."""
RHO_SOLUTION = 1.0
"""Density of the liquid formulation, g/mL (dilute aqueous solution)."""
DH_SUB = 678.0
"""Heat of sublimation of ice, cal/g (2.84 kJ/g; Pikal 1985, J. Parenter. Sci. Technol. 39:115)."""
K_ICE = 0.0059
"""Thermal conductivity of ice, cal/(s·cm·K) (2.47 W/(m·K) near −20 °C; Pikal 1985)."""
PSUB_A = 2.698e10
"""Pre-exponential factor of the ice vapour-pressure correlation, Torr (Pikal 1985)."""
PSUB_B = 6144.96
"""Sublimation temperature coefficient ΔHs/R of the correlation, K (Pikal 1985)."""
KELVIN = 273.15
S_PER_H = 3600.0

_NEWTON_STEPS = 60
_TOL_C = 1e-9


def ice_vapour_pressure(t_c: ArrayLike) -> FloatArray:
    """Vapour pressure of ice at ``t_c`` °C, Torr (0.777 Torr at −20 °C; the tabulated value is
    0.776 Torr, CRC Handbook)."""
    return np.asarray(PSUB_A * np.exp(-PSUB_B / (np.asarray(t_c, dtype=float) + KELVIN)))


def ice_temperature_at(p_torr: ArrayLike) -> FloatArray:
    """Inverse of ``ice_vapour_pressure``: the ice temperature in °C whose vapour pressure is
    ``p_torr`` Torr (must be positive)."""
    p = np.asarray(p_torr, dtype=float)
    return np.asarray(-PSUB_B / np.log(p / PSUB_A) - KELVIN)


def vial_heat_transfer(pch: ArrayLike, kc: ArrayLike, kp: ArrayLike, kd: ArrayLike) -> FloatArray:
    """Kv = KC + KP·Pch / (1 + KD·Pch), cal/(s·K·cm²) (Pikal 1984, J. Parenter. Sci. Technol.
    38:17: contact + radiation term KC, gas-conduction term in pressure)."""
    p = np.asarray(pch, dtype=float)
    return np.asarray(kc + kp * p / (1.0 + np.asarray(kd) * p))


def cake_resistance(
    length_cm: ArrayLike, r0: ArrayLike, a1: ArrayLike, a2: ArrayLike
) -> FloatArray:
    """Rp = R0 + A1·L / (1 + A2·L), cm²·Torr·h/g (Pikal 1985)."""
    length = np.asarray(length_cm, dtype=float)
    return np.asarray(r0 + a1 * length / (1.0 + np.asarray(a2) * length))


def fill_height(fill_ml: ArrayLike, product_area_cm2: ArrayLike, solids: ArrayLike) -> FloatArray:
    """Initial frozen fill height L0, cm: the fill's ice plus solute volume over the product
    area, with the solution, ice and solute densities above (LyoPRONTO's Lpr0)."""
    factor = RHO_SOLUTION - np.asarray(solids) * (RHO_SOLUTION - RHO_ICE) / RHO_SOLUTE
    return np.asarray(np.asarray(fill_ml) / (np.asarray(product_area_cm2) * RHO_ICE) * factor)


def cake_growth_per_gram(product_area_cm2: ArrayLike, solids: ArrayLike) -> FloatArray:
    """dL/dm: dried-cake thickness gained per gram of ice sublimed, cm/g (the frozen layer
    holds ice and solute; only the ice leaves)."""
    c = np.asarray(solids, dtype=float)
    ice_share = 1.0 - c * RHO_SOLUTION / RHO_SOLUTE
    volume_share = 1.0 - c * (RHO_SOLUTION - RHO_ICE) / RHO_SOLUTE
    return np.asarray(volume_share / (ice_share * np.asarray(product_area_cm2) * RHO_ICE))


@dataclass(frozen=True)
class FrontState:
    """The quasi-steady state at the sublimation front (arrays of the broadcast shape).

    Attributes:
        t_sub: sublimation-front temperature, °C.
        t_bot: vial-bottom (maximum) product temperature, °C.
        p_sub: ice vapour pressure at the front, Torr.
        rate_g_h: sublimation rate per vial, g/h (0 where the shelf is too cold to sublime).
        kv: vial heat-transfer coefficient, cal/(s·K·cm²).
        rp: dried-layer resistance, cm²·Torr·h/g.
    """

    t_sub: FloatArray
    t_bot: FloatArray
    p_sub: FloatArray
    rate_g_h: FloatArray
    kv: FloatArray
    rp: FloatArray


def solve_front(  # noqa: PLR0917 - the balance's seven physical quantities, in order
    t_shelf: ArrayLike,
    p_chamber: ArrayLike,
    kv: ArrayLike,
    rp: ArrayLike,
    frozen_cm: ArrayLike,
    vial_area_cm2: ArrayLike,
    product_area_cm2: ArrayLike,
) -> FrontState:
    """Solve the front heat balance Kv·Av·(Tsh − Tbot) = ΔHs·Ap·(Psub − Pch)/(3600·Rp) for Tsub.

    ``frozen_cm`` is the remaining frozen thickness L0 − L. The residual is increasing in Tsub;
    a Newton iteration safeguarded by bisection on [Tsub where Psub = Pch, Tsh] converges to
    1e-9 °C in a few steps for every element at once. Where the shelf is not warmer than the
    ice in equilibrium with the chamber (Psub(Tsh) ≤ Pch) nothing sublimes: the rate is 0 and
    the product sits at the shelf temperature.
    """
    tsh, pch, kv_a, rp_a, frozen, av, ap = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=float)
            for v in (t_shelf, p_chamber, kv, rp, frozen_cm, vial_area_cm2, product_area_cm2)
        )
    )
    shelf_conductance = kv_a * av  # cal/(s·K)
    per_torr = DH_SUB * ap / (S_PER_H * rp_a)  # cal/(s·Torr)
    layer = frozen / (ap * K_ICE)  # K·s/cal

    sublimes = ice_vapour_pressure(tsh) > pch
    low = np.where(sublimes, ice_temperature_at(np.maximum(pch, 1e-12)), tsh)
    high = tsh.copy()
    t = 0.5 * (low + high)
    for _ in range(_NEWTON_STEPS):
        p_sub = ice_vapour_pressure(t)
        q = per_torr * (p_sub - pch)
        residual = q - shelf_conductance * (tsh - t - q * layer)
        dq = per_torr * p_sub * PSUB_B / (t + KELVIN) ** 2
        slope = dq + shelf_conductance * (1.0 + dq * layer)
        positive = residual > 0
        high = np.where(positive, t, high)
        low = np.where(positive, low, t)
        step = t - residual / slope
        inside = (step >= low) & (step <= high)
        new = np.where(inside, step, 0.5 * (low + high))
        done = np.abs(new - t) < _TOL_C
        t = new
        if bool(np.all(done | ~sublimes)):
            break
    t_sub = np.where(sublimes, t, tsh)
    p_sub = ice_vapour_pressure(t_sub)
    q = np.where(sublimes, per_torr * (p_sub - pch), 0.0)
    return FrontState(
        t_sub=t_sub,
        t_bot=t_sub + q * layer,
        p_sub=p_sub,
        rate_g_h=q * S_PER_H / DH_SUB,
        kv=kv_a,
        rp=rp_a,
    )
