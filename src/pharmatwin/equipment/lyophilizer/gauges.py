"""The virtual freeze dryer's instruments: thermocouples, shelf RTD, manometer and Pirani.

* **Capacitance manometer**: measures the true (absolute) pressure, whatever the gas; accuracy
  0.25 % of reading (typical data sheets, e.g. MKS Baratron), here a calibration error and a
  smaller noise.
* **Pirani gauge**: infers pressure from the gas's thermal conductivity and is calibrated in
  nitrogen; water vapour conducts heat better, so in pure vapour it reads about 1.6 times the
  true pressure (Patel, Doen & Pikal 2010, AAPS PharmSciTech 11:73). It reads
  P · (1 + (g − 1) · y), y the water mole fraction. When sublimation ends the vapour is gone and
  the Pirani / manometer ratio falls to 1: the comparative-pressure end point of primary drying.
* **Product thermocouples** (type T, special limits ±0.5 °C, ASTM E230): read the vial-bottom
  temperature with a fixed offset and noise while the vial holds ice; once it is dry the
  reading rises to the shelf temperature with the time constant ``thermocouple_dry_tau_h``.
* **Shelf RTD**: the shelf (heat-transfer fluid) temperature with noise.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from pharmatwin.core.recipe import StrictData
from pharmatwin.core.types import FloatArray


class GaugeSettings(StrictData):
    """Accuracy of the instruments (standard deviations; relative ones are fractions)."""

    thermocouple_noise_c: float = Field(default=0.1, ge=0)
    thermocouple_offset_sd_c: float = Field(default=0.25, ge=0)
    """Type T special limits ±0.5 °C (ASTM E230) read as two standard deviations."""
    thermocouple_dry_tau_h: float = Field(default=0.15, gt=0)
    shelf_noise_c: float = Field(default=0.1, ge=0)
    manometer_calibration_sd: float = Field(default=0.00125, ge=0)
    manometer_noise_sd: float = Field(default=0.001, ge=0)
    pirani_noise_sd: float = Field(default=0.003, ge=0)
    pirani_water_factor: float = Field(default=1.6, gt=1)
    """Pirani reading over true pressure in pure water vapour (Patel et al. 2010)."""
    pirani_water_factor_sd: float = Field(default=0.03, ge=0)
    """Gauge-to-gauge spread of that factor."""


def pirani_reading(p_torr: FloatArray, vapour_fraction: FloatArray, factor: float) -> FloatArray:
    """What a nitrogen-calibrated Pirani shows, Torr, at true pressure ``p_torr`` with water
    mole fraction ``vapour_fraction`` (linear mixing of the gas factors)."""
    return np.asarray(p_torr * (1.0 + (factor - 1.0) * vapour_fraction), dtype=float)


def thermocouple_after_drying(
    shelf_c: FloatArray, last_wet_c: FloatArray, since_h: FloatArray, tau_h: float
) -> FloatArray:
    """Reading of a thermocouple in a vial dry for ``since_h`` hours: from the last bottom
    temperature with ice towards the shelf temperature, first order with ``tau_h``."""
    return np.asarray(shelf_c - (shelf_c - last_wet_c) * np.exp(-since_h / tau_h), dtype=float)


def noisy(values: FloatArray, sd: float, rng: np.random.Generator) -> FloatArray:
    """``values`` with independent normal noise of ``sd``."""
    return np.asarray(values + sd * rng.standard_normal(np.shape(values)), dtype=float)
