"""What a freeze-drying cycle is run on: the vial, the product, heat transfer and the dryer.

Units are the freeze-drying literature's (see ``physics``): cm, cm², mL, cm²·Torr·h/g,
cal/(s·K·cm²), Torr, °C, kg/h. Every class is frozen and checks its values on construction;
a bad value raises ``ValueError`` naming the field, e.g. ``vial.area_cm2: must be positive``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer import physics

ArrayLike = float | FloatArray


def _check(owner: str, name: str, value: float, *, low: float, strict: bool = True) -> None:
    """Raise ``ValueError`` unless ``value`` is finite and above ``low`` (or at it, not strict)."""
    if not math.isfinite(value):
        raise ValueError(f"{owner}.{name}: must be a finite number, got {value}")
    if (strict and value <= low) or (not strict and value < low):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        word = "positive" if (strict and low == 0) else bound
        raise ValueError(f"{owner}.{name}: must be {word}, got {value:g}")


def _finite_floats(obj: object, owner: str) -> None:
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{owner}.{f.name}: must be a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{owner}.{f.name}: must be a finite number, got {value}")


@dataclass(frozen=True)
class Vial:
    """One vial and its fill.

    Attributes:
        area_cm2: outer cross-section Av over which the shelf heats the vial, cm².
        product_area_cm2: inner cross-section Ap of the product, cm² (at most ``area_cm2``).
        fill_ml: fill volume of the liquid formulation, mL.
    """

    area_cm2: float
    product_area_cm2: float
    fill_ml: float

    def __post_init__(self) -> None:
        _finite_floats(self, "vial")
        _check("vial", "area_cm2", self.area_cm2, low=0)
        _check("vial", "product_area_cm2", self.product_area_cm2, low=0)
        _check("vial", "fill_ml", self.fill_ml, low=0)
        if self.product_area_cm2 > self.area_cm2:
            raise ValueError(
                f"vial.product_area_cm2: {self.product_area_cm2:g} cm² is larger than the vial "
                f"area {self.area_cm2:g} cm²"
            )


@dataclass(frozen=True)
class Product:
    """The formulation and its dried-layer resistance Rp = R0 + A1·L / (1 + A2·L).

    Attributes:
        solids_fraction: mass fraction of solute in the liquid, 0 ≤ c < 1.
        r0: R0, cm²·Torr·h/g (> 0).
        a1: A1, cm·Torr·h/g (≥ 0).
        a2: A2, 1/cm (≥ 0).
        collapse_temperature_c: collapse (or eutectic) temperature, °C.
    """

    solids_fraction: float
    r0: float
    a1: float
    a2: float
    collapse_temperature_c: float

    def __post_init__(self) -> None:
        _finite_floats(self, "product")
        _check("product", "solids_fraction", self.solids_fraction, low=0, strict=False)
        if self.solids_fraction >= 1:
            raise ValueError(
                f"product.solids_fraction: must be below 1, got {self.solids_fraction}"
            )
        _check("product", "r0", self.r0, low=0)
        _check("product", "a1", self.a1, low=0, strict=False)
        _check("product", "a2", self.a2, low=0, strict=False)
        if self.collapse_temperature_c <= -physics.KELVIN:
            raise ValueError(
                f"product.collapse_temperature_c: below absolute zero, got "
                f"{self.collapse_temperature_c}"
            )

    def resistance(self, length_cm: ArrayLike) -> FloatArray:
        """Rp at dried-layer thickness ``length_cm``, cm²·Torr·h/g."""
        return physics.cake_resistance(length_cm, self.r0, self.a1, self.a2)


@dataclass(frozen=True)
class HeatTransfer:
    """Vial heat-transfer coefficient Kv(Pch) = KC + KP·Pch / (1 + KD·Pch) (Pikal 1984).

    Attributes:
        kc: KC, cal/(s·K·cm²) (> 0).
        kp: KP, cal/(s·K·cm²·Torr) (≥ 0).
        kd: KD, 1/Torr (≥ 0).
    """

    kc: float
    kp: float
    kd: float

    def __post_init__(self) -> None:
        _finite_floats(self, "heat_transfer")
        _check("heat_transfer", "kc", self.kc, low=0)
        _check("heat_transfer", "kp", self.kp, low=0, strict=False)
        _check("heat_transfer", "kd", self.kd, low=0, strict=False)

    def kv(self, pch: ArrayLike) -> FloatArray:
        """Kv at chamber pressure ``pch`` Torr, cal/(s·K·cm²)."""
        return physics.vial_heat_transfer(pch, self.kc, self.kp, self.kd)


@dataclass(frozen=True)
class Equipment:
    """The dryer: its sublimation capability a + b·Pch (kg/h, Pch in Torr) and the load.

    Attributes:
        a: intercept of the capability line, kg/h (may be negative).
        b: slope of the capability line, kg/(h·Torr).
        vials: number of vials on the shelves (≥ 1).
    """

    a: float
    b: float
    vials: int

    def __post_init__(self) -> None:
        for name in ("a", "b"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"equipment.{name}: must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"equipment.{name}: must be a finite number, got {value}")
        if isinstance(self.vials, bool) or not isinstance(self.vials, int | np.integer):
            raise ValueError(f"equipment.vials: must be an integer, got {self.vials!r}")
        if self.vials < 1:
            raise ValueError(f"equipment.vials: must be at least 1, got {self.vials}")

    def capability_kg_h(self, pch: ArrayLike) -> FloatArray:
        """Maximum total sublimation rate the condenser and duct can take at ``pch`` Torr, kg/h."""
        return np.asarray(self.a + self.b * np.asarray(pch, dtype=float), dtype=float)
