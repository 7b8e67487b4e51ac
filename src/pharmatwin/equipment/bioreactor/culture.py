"""Fast physics of the culture broth: temperature, dissolved oxygen, CO2 / bicarbonate and pH.

These states move in minutes while the cells move in hours, so the virtual plant steps them with
the control loops every minute and hands their averages to the cell model every coupling step.
Temperature, DO and dissolved CO2 are advanced with the exact solution of their linear
first-order balances over the step (stable for any step); bicarbonate, which only integrates
acid and base, with an explicit step. Everything is vectorized over the ensemble.

Constants (2,000 L stainless-steel stirred tank):
* jacket UA 2.5 kW/K and 30 W/m3 agitation power: typical of large animal-cell reactors
  (Nienow 2006, Cytotechnology 50:9-33, power inputs of 10-50 W/m3); water heat capacity
  4.18 kJ/(L K).
* oxygen solubility under air at 37 degC: 0.21 mM; pure oxygen gives 100/0.21 = 476 % air
  saturation (Henry's law).
* CO2 solubility 0.0308 mM/mmHg at 37 degC, i.e. 23.4 mM per atm of CO2; pKa of CO2/HCO3-
  6.1 (Henderson-Hasselbalch, physiological value).
* kLa of the oxygen sparge up to 15 1/h and CO2 stripping 4 1/h: within the range reported for
  large cell-culture bioreactors (Xing et al. 2009, Biotechnol Bioeng 103:733-746).
* base: 1 M sodium carbonate, 2 mol of alkalinity per litre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray

UA_KW_PER_K = 2.5
HEAT_CAPACITY_KJ_PER_L_K = 4.18
AGITATION_W_PER_L = 0.030
O2_SAT_AIR_MM = 0.21
DO_PURE_O2_PCT = 100.0 / 0.21
KLA_SURFACE_PER_H = 0.5
KLA_O2_MAX_PER_H = 15.0
KLA_CO2_PER_H = 4.0
CO2_MM_PER_ATM = 23.4
PKA_BICARBONATE = 6.1
BASE_ALKALINITY_MM = 2000.0
JACKET_TAU_H = 0.1
RESPIRATORY_QUOTIENT = 1.0


@dataclass
class Broth:
    """Fast states of every member, each ``(members,)``: degC, degC, % air sat., mM, mM."""

    T: FloatArray
    T_jacket: FloatArray
    DO: FloatArray
    HCO3: FloatArray
    dCO2: FloatArray

    @property
    def pH(self) -> FloatArray:
        return np.asarray(PKA_BICARBONATE + np.log10(self.HCO3 / self.dCO2), dtype=float)

    @classmethod
    def start(cls, members: int, T: float, DO: float, pH: float, HCO3: float = 24.0) -> Broth:
        """Broth at equilibrium with the setpoints; 24 mM bicarbonate as in DMEM-type media."""
        ones = np.ones(members)
        dco2 = HCO3 / 10 ** (pH - PKA_BICARBONATE)
        return cls(T * ones, T * ones, DO * ones, HCO3 * ones, dco2 * ones)


@dataclass
class Actuators:
    """Manipulated variables of every member, each ``(members,)``."""

    jacket_setpoint: FloatArray  # degC
    o2_sparge: FloatArray  # fraction of the sparge capacity, 0..1
    co2_fraction: FloatArray  # CO2 mole fraction of the inlet gas, 0..0.2
    base_flow: FloatArray  # L/h


def _relax(
    value: FloatArray, target: FloatArray, rate: FloatArray | float, dt: float
) -> FloatArray:
    """Exact step of ``dv/dt = rate * (target - v)`` over ``dt``."""
    return np.asarray(target + (value - target) * np.exp(-rate * dt), dtype=float)


def step_broth(
    broth: Broth,
    act: Actuators,
    *,
    volume_L: FloatArray,
    our: FloatArray,
    acid_rate: FloatArray,
    dilution: FloatArray,
    dt_h: float,
) -> Broth:
    """Advance the broth by ``dt_h`` hours.

    Args:
        our: oxygen uptake rate of the cells, mmol/(L h).
        acid_rate: net lactic acid production, mmol/(L h) (negative when lactate is consumed).
        dilution: total inflow over volume, 1/h.
    """
    tj = _relax(broth.T_jacket, act.jacket_setpoint, 1.0 / JACKET_TAU_H, dt_h)
    heat_rate = UA_KW_PER_K * 3600.0 / (HEAT_CAPACITY_KJ_PER_L_K * volume_L)  # 1/h
    heat_offset = AGITATION_W_PER_L / UA_KW_PER_K  # K above the jacket at steady state
    T = _relax(broth.T, tj + heat_offset * volume_L / 1000.0, heat_rate, dt_h)

    kla = KLA_SURFACE_PER_H + KLA_O2_MAX_PER_H * act.o2_sparge
    our_pct = our / O2_SAT_AIR_MM * 100.0
    do_target = (
        KLA_SURFACE_PER_H * 100.0 + KLA_O2_MAX_PER_H * act.o2_sparge * DO_PURE_O2_PCT - our_pct
    ) / kla
    DO = np.maximum(_relax(broth.DO, do_target, kla, dt_h), 0.0)

    alkali = BASE_ALKALINITY_MM * act.base_flow / volume_L
    hco3 = np.maximum(broth.HCO3 + dt_h * (alkali - acid_rate - dilution * broth.HCO3), 0.1)
    co2_gas = CO2_MM_PER_ATM * act.co2_fraction
    cer = RESPIRATORY_QUOTIENT * our
    # acid turns bicarbonate into CO2; carbonate base takes one CO2 up per two HCO3- it makes
    co2_target = co2_gas + (cer + acid_rate - 0.5 * alkali) / KLA_CO2_PER_H
    dco2 = np.maximum(_relax(broth.dCO2, np.maximum(co2_target, 0.0), KLA_CO2_PER_H, dt_h), 0.05)
    return Broth(T=T, T_jacket=tj, DO=DO, HCO3=hco3, dCO2=dco2)
