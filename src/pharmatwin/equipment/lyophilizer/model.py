"""Primary drying of one vial as a pharmatwin ``Model`` (the shelf model is in ``model_slots``).

Units (the freeze-drying literature's, as in ``physics``): °C, Torr, cm, cm², h, cal, g.

:class:`PrimaryDrying` is one vial: state the dried-cake thickness ``L``; inputs the shelf
temperature and the chamber pressure; the quasi-steady front balance of ``physics.solve_front``
gives dL/dt = rate · dL/dm until ``L`` reaches the frozen fill height L0, when drying stops and
the vial reads the shelf temperature.
"""

from __future__ import annotations

import numpy as np

from pharmatwin.core.model import Model
from pharmatwin.core.schedule import Schedule
from pharmatwin.core.types import BoolArray, FloatArray
from pharmatwin.core.variables import Input, Output, Parameter, State
from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.profiles import Profile

REFERENCE = "LyoPRONTO reference case (Shivkumar et al. 2019, AAPS PharmSciTech 20:328)"
KV_UNIT = "cal/(s K cm2)"
RP_UNIT = "cm2 Torr h/g"
DRY_SENTINEL_C = -100.0
"""``T_max`` when no vial holds ice any more, °C (below any collapse temperature)."""

INPUTS = (
    Input("T_shelf", "degC", "shelf temperature", -80.0, 100.0, default=-35.0),
    Input("P_chamber", "Torr", "chamber pressure (capacitance manometer)", 1e-4, 10.0, 0.15),
)

VIAL_PARAMETERS = (
    Parameter(
        "KC",
        "cal/(s K cm2)",
        "Kv contact and radiation term",
        1e-6,
        5e-3,
        default=2.75e-4,
        source=REFERENCE,
        cv=0.05,
    ),
    Parameter(
        "KP",
        "cal/(s K cm2 Torr)",
        "Kv gas-conduction term",
        0.0,
        1e-1,
        default=8.93e-4,
        source=REFERENCE,
    ),
    Parameter(
        "KD", "1/Torr", "Kv gas-conduction saturation", 0.0, 100.0, default=0.46, source=REFERENCE
    ),
    Parameter(
        "R0",
        RP_UNIT,
        "dried-layer resistance at L = 0",
        1e-3,
        100.0,
        default=1.4,
        source=REFERENCE,
        cv=0.3,
    ),
    Parameter(
        "A1",
        "cm Torr h/g",
        "dried-layer resistance growth",
        1e-3,
        1000.0,
        default=16.0,
        source=REFERENCE,
        cv=0.3,
    ),
    Parameter(
        "A2", "1/cm", "dried-layer resistance saturation", 0.0, 100.0, default=0.0, source=REFERENCE
    ),
    Parameter(
        "vial_area", "cm2", "vial outer cross-section Av", 0.1, 100.0, default=3.8, source=REFERENCE
    ),
    Parameter(
        "product_area",
        "cm2",
        "product cross-section Ap",
        0.1,
        100.0,
        default=3.14,
        source=REFERENCE,
    ),
    Parameter("fill", "mL", "fill volume", 0.01, 100.0, default=2.0, source=REFERENCE),
    Parameter("solids", "-", "solids mass fraction", 0.0, 0.9, default=0.05, source=REFERENCE),
)
"""Parameters of one vial and its product (defaults: the LyoPRONTO reference case)."""


class VialColumns:
    """Column positions of the vial parameters, shared by both models."""

    names = tuple(q.name for q in VIAL_PARAMETERS)

    @classmethod
    def columns(cls, p: FloatArray) -> dict[str, FloatArray]:
        """Each vial parameter as a ``(members, 1)`` column."""
        return {n: p[:, i : i + 1] for i, n in enumerate(cls.names)}


def front_state(
    x: FloatArray,
    u: FloatArray,
    q: dict[str, FloatArray],
    kv_mult: FloatArray,
    rp_mult: FloatArray,
) -> tuple[physics.FrontState, FloatArray, BoolArray]:
    """Front state of every slot, the fill height L0 ``(members, 1)`` and a wet mask."""
    t_shelf, pch = u[:, 0:1], u[:, 1:2]
    l0 = physics.fill_height(q["fill"], q["product_area"], q["solids"])
    kv = physics.vial_heat_transfer(pch, q["KC"], q["KP"], q["KD"]) * kv_mult
    rp = physics.cake_resistance(x, q["R0"], q["A1"], q["A2"]) * rp_mult
    frozen = np.maximum(l0 - x, 0.0)
    state = physics.solve_front(t_shelf, pch, kv, rp, frozen, q["vial_area"], q["product_area"])
    return state, l0, np.asarray(x < l0, dtype=bool)


class PrimaryDrying(Model):
    """One vial in primary drying (Pikal 1985; LyoPRONTO, Shivkumar et al. 2019).

    State ``L`` (cm); inputs ``T_shelf`` (°C), ``P_chamber`` (Torr); outputs the vial-bottom
    temperature a thermocouple reads (°C), the sublimation front temperature (°C), the
    sublimation rate (g/h) and the dried fraction L/L0.
    """

    states = (State("L", "cm", "dried-cake thickness", 0.0, 20.0, atol=1e-6, intensive=False),)
    inputs = INPUTS
    parameters = VIAL_PARAMETERS
    outputs = (
        Output("T_bottom", "degC", "vial-bottom (maximum) product temperature"),
        Output("T_sub", "degC", "sublimation-front temperature"),
        Output("rate", "g/h", "sublimation rate of the vial"),
        Output("dried_fraction", "-", "L / L0"),
    )

    def rhs(self, t: float | FloatArray, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        q = VialColumns.columns(p)
        state, _, wet = front_state(x, u, q, np.ones(1), np.ones(1))
        growth = physics.cake_growth_per_gram(q["product_area"], q["solids"])
        return np.asarray(np.where(wet, state.rate_g_h * growth, 0.0), dtype=float)

    def measure(self, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        q = VialColumns.columns(p)
        state, l0, wet = front_state(x, u, q, np.ones(1), np.ones(1))
        shelf = u[:, 0:1]
        y = np.concatenate(
            [
                np.where(wet, state.t_bot, shelf),
                np.where(wet, state.t_sub, shelf),
                np.where(wet, state.rate_g_h, 0.0),
                np.minimum(x / l0, 1.0),
            ],
            axis=1,
        )
        return np.asarray(y, dtype=float)


def cycle_schedule(shelf: Profile, pressure: Profile, end_h: float) -> Schedule:
    """The inputs (``T_shelf``, ``P_chamber``) of both models from two setpoint programmes,
    as a ``core.schedule.Schedule`` ending at ``end_h`` (the programmes' knots are its knots)."""
    if not end_h > 0:
        raise ValueError(f"end_h: must be positive, got {end_h}")
    knots = np.union1d(np.union1d(shelf.t_h, pressure.t_h), [end_h])
    knots = knots[knots <= end_h]
    start = knots[:-1]
    mid = 0.5 * (knots[:-1] + knots[1:])
    offset = np.stack([shelf.at(start), pressure.at(start)], axis=1)
    middle = np.stack([shelf.at(mid), pressure.at(mid)], axis=1)
    slope = (middle - offset) / (mid - start)[:, None]
    return Schedule(knots=knots, offset=offset, slope=slope, events=())
