"""Several vials of one shelf as one pharmatwin ``Model``: the freeze-drying twin's picture.

Each vial followed is a *slot* with its own dried-cake state and the physics of
``model.PrimaryDrying``: the typical (median) centre and edge vials, vials at the slow and at
the hot tail of the vial-to-vial spread, and the thermocouple vials. Edge vials get the Kv
factor ``edge_kv`` (extra radiation), thermocouple vials the Rp factor ``tc_rp`` and their own
random effects ``kv_<slot>``, ``rp_<slot>``; a tail slot sits ``z_<slot>`` standard deviations
out along a fixed direction of the (log Kv / sigma_kv, log Rp / sigma_rp) plane. Build one with
:func:`vial_slots_model`. Units as in ``model``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from pharmatwin.core.model import Model
from pharmatwin.core.types import FloatArray, IndexArray
from pharmatwin.core.variables import Output, Parameter, State
from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.model import (
    DRY_SENTINEL_C,
    INPUTS,
    VIAL_PARAMETERS,
    VialColumns,
    front_state,
)

SlotKind = Literal["typical", "tail", "thermocouple"]
Group = Literal["centre", "edge"]


@dataclass(frozen=True)
class Slot:
    """One vial the shelf model follows.

    Attributes:
        name: identifier (becomes ``L_<name>``, ``T_<name>``, ``f_<name>``).
        group: ``centre`` or ``edge``.
        kind: ``typical`` (the median vial), ``tail`` (``z_<name>`` standard deviations out
            along ``direction``) or ``thermocouple`` (random effects ``kv_``/``rp_<name>``).
        direction: unit vector in the plane of (log Kv / sigma_kv, log Rp / sigma_rp), tails only.
        z: default distance of a tail slot, in standard deviations.
        watch: ``slow`` (counts for the end of drying), ``hot`` (for the maximum temperature)
            or ``both``.
    """

    name: str
    group: Group
    kind: SlotKind = "typical"
    direction: tuple[float, float] = (0.0, 0.0)
    z: float = 0.0
    watch: Literal["slow", "hot", "both"] = "both"


@dataclass(frozen=True)
class ShelfPrior:
    """What is known about the shelf's vials (for :func:`vial_slots_model`).

    Attributes:
        centre_vials, edge_vials: number of vials of each group.
        sigma_kv, sigma_rp: vial-to-vial log-normal spread of Kv and Rp (centre and edge alike).
        edge_kv: prior mean of the edge vials' Kv factor; edge_kv_cv its prior CV.
        tc_rp: prior mean of the thermocouple vials' Rp factor; tc_rp_cv its prior CV.
    """

    centre_vials: int = 323
    edge_vials: int = 75
    sigma_kv: float = 0.04
    sigma_rp: float = 0.10
    edge_kv: float = 1.25
    edge_kv_cv: float = 0.12
    tc_rp: float = 0.8
    tc_rp_cv: float = 0.08


EDGE_SOURCE = (
    "edge-vial effect (Pikal, Roy & Shah 1984, J Pharm Sci 73:1224; Rambhatla & Pikal 2003, "
    "AAPS PharmSciTech 4:E14): edge vials receive 10-40 % more heat; 1.25 is mid-range"
)
TC_SOURCE = (
    "thermocouple vials supercool less and dry faster (Tang & Pikal 2004, Pharm Res 21:191); "
    "Rp falls with a warmer nucleation (Searles et al. 2001, J Pharm Sci 90:860)"
)
SPREAD_SOURCE = "vial-to-vial spread of the virtual dryer's population (dryer_config)"


class VialSlots(Model):
    """Several vials of one shelf in one state vector; see the module docstring.

    Concrete classes come from :func:`vial_slots_model` (declarations depend on the slots).
    Outputs per slot: ``T_<slot>`` (vial bottom, °C), ``f_<slot>`` (dried fraction); then
    ``T_max`` (hottest vial still holding ice, °C), ``f_last`` (least-dried slow slot) and
    ``rate_total`` (kg/h for the whole shelf, from the typical vials).
    """

    slots: ClassVar[tuple[Slot, ...]] = ()
    _edge: ClassVar[FloatArray]
    _tc: ClassVar[FloatArray]
    _du: ClassVar[FloatArray]
    _dv: ClassVar[FloatArray]
    _z_col: ClassVar[IndexArray]
    _kv_col: ClassVar[IndexArray]
    _rp_col: ClassVar[IndexArray]
    _hot: ClassVar[FloatArray]
    _slow: ClassVar[FloatArray]
    _typical: ClassVar[IndexArray]

    def _multipliers(self, p: FloatArray) -> tuple[FloatArray, FloatArray]:
        log_edge, log_tc = np.log(_column(p, "edge_kv")), np.log(_column(p, "tc_rp"))
        sk, sr = _column(p, "sigma_kv"), _column(p, "sigma_rp")
        z = p[:, self._z_col]
        log_kv = self._edge * log_edge + sk * z * self._du + self._tc * np.log(p[:, self._kv_col])
        log_rp = sr * z * self._dv + self._tc * (log_tc + np.log(p[:, self._rp_col]))
        return np.exp(log_kv), np.exp(log_rp)

    def rhs(self, t: float | FloatArray, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        q = VialColumns.columns(p)
        kv_mult, rp_mult = self._multipliers(p)
        state, _, wet = front_state(x, u, q, kv_mult, rp_mult)
        growth = physics.cake_growth_per_gram(q["product_area"], q["solids"])
        return np.asarray(np.where(wet, state.rate_g_h * growth, 0.0), dtype=float)

    def measure(self, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        q = VialColumns.columns(p)
        kv_mult, rp_mult = self._multipliers(p)
        state, l0, wet = front_state(x, u, q, kv_mult, rp_mult)
        t_bot = np.where(wet, state.t_bot, u[:, 0:1])
        fraction = np.minimum(x / l0, 1.0)
        hot = np.where(wet & (self._hot > 0), t_bot, DRY_SENTINEL_C)
        slow = np.where(self._slow > 0, fraction, np.inf)
        counts = np.concatenate([_column(p, "centre_vials"), _column(p, "edge_vials")], axis=1)
        rate = np.where(wet, state.rate_g_h, 0.0)[:, self._typical]
        total = np.sum(counts * rate, axis=1, keepdims=True) / 1000.0
        y = np.concatenate(
            [
                t_bot,
                fraction,
                hot.max(axis=1, keepdims=True),
                slow.min(axis=1, keepdims=True),
                total,
            ],
            axis=1,
        )
        return np.asarray(y, dtype=float)


_SHELF_PARAMETERS = ("edge_kv", "tc_rp", "sigma_kv", "sigma_rp", "centre_vials", "edge_vials")
"""Declared right after the vial parameters, in this order, by :func:`vial_slots_model`."""


def _column(p: FloatArray, name: str) -> FloatArray:
    j = len(VIAL_PARAMETERS) + _SHELF_PARAMETERS.index(name)
    return p[:, j : j + 1]


def expected_maximum(n: int) -> float:
    """Expected largest of ``n`` standard normal draws (Blom's approximation,
    Φ⁻¹((n − 0.375)/(n + 0.25)), Blom 1958)."""
    from statistics import NormalDist

    return float(NormalDist().inv_cdf((n - 0.375) / (n + 0.25))) if n > 1 else 0.0


def vial_slots_model(slots: Sequence[Slot], population: ShelfPrior | None = None) -> VialSlots:
    """A :class:`VialSlots` model following ``slots`` (names unique, typical centre and edge
    slots required for ``rate_total``)."""
    pop = population or ShelfPrior()
    names = [s.name for s in slots]
    if len(set(names)) != len(names):
        raise ValueError("slots: names must be unique")
    typical = {s.group: i for i, s in enumerate(slots) if s.kind == "typical"}
    if set(typical) != {"centre", "edge"}:
        raise ValueError("slots: need one typical centre slot and one typical edge slot")
    parameters = [
        *VIAL_PARAMETERS,
        Parameter(
            "edge_kv",
            "-",
            "Kv factor of edge vials",
            0.5,
            4.0,
            default=pop.edge_kv,
            source=EDGE_SOURCE,
            cv=pop.edge_kv_cv,
        ),
        Parameter(
            "tc_rp",
            "-",
            "Rp factor of thermocouple vials",
            0.2,
            2.0,
            default=pop.tc_rp,
            source=TC_SOURCE,
            cv=pop.tc_rp_cv,
        ),
        Parameter(
            "sigma_kv",
            "-",
            "vial-to-vial log spread of Kv",
            0.0,
            1.0,
            default=pop.sigma_kv,
            source=SPREAD_SOURCE,
        ),
        Parameter(
            "sigma_rp",
            "-",
            "vial-to-vial log spread of Rp",
            0.0,
            1.0,
            default=pop.sigma_rp,
            source=SPREAD_SOURCE,
        ),
        Parameter(
            "centre_vials",
            "vials",
            "centre vials on the shelf",
            0.0,
            1e6,
            default=float(pop.centre_vials),
            source="shelf layout",
        ),
        Parameter(
            "edge_vials",
            "vials",
            "edge vials on the shelf",
            0.0,
            1e6,
            default=float(pop.edge_vials),
            source="shelf layout",
        ),
    ]
    for s in slots:
        if s.kind == "tail":
            parameters.append(
                Parameter(
                    f"z_{s.name}",
                    "sd",
                    f"distance of the {s.name} tail vial",
                    0.0,
                    10.0,
                    default=s.z,
                    source="expected extreme of the group (Blom 1958)",
                )
            )
        elif s.kind == "thermocouple":
            parameters += [
                Parameter(
                    f"kv_{s.name}",
                    "-",
                    f"Kv random effect of vial {s.name}",
                    0.3,
                    3.0,
                    default=1.0,
                    source=SPREAD_SOURCE,
                    cv=pop.sigma_kv,
                ),
                Parameter(
                    f"rp_{s.name}",
                    "-",
                    f"Rp random effect of vial {s.name}",
                    0.2,
                    5.0,
                    default=1.0,
                    source=SPREAD_SOURCE,
                    cv=pop.sigma_rp,
                ),
            ]
    col = {q.name: j for j, q in enumerate(parameters)}
    namespace = {
        "states": tuple(
            State(
                f"L_{s.name}",
                "cm",
                f"dried cake of {s.name}",
                0.0,
                20.0,
                atol=1e-6,
                intensive=False,
            )
            for s in slots
        ),
        "inputs": INPUTS,
        "parameters": tuple(parameters),
        "outputs": tuple(Output(f"T_{n}", "degC", f"bottom temperature of {n}") for n in names)
        + tuple(Output(f"f_{n}", "-", f"dried fraction of {n}") for n in names)
        + (
            Output("T_max", "degC", "hottest vial still holding ice"),
            Output("f_last", "-", "dried fraction of the least-dried slow vial"),
            Output("rate_total", "kg/h", "sublimation rate of the shelf"),
        ),
        "slots": tuple(slots),
        "_edge": np.array([s.group == "edge" for s in slots], dtype=float),
        "_tc": np.array([s.kind == "thermocouple" for s in slots], dtype=float),
        "_du": np.array([s.direction[0] for s in slots]),
        "_dv": np.array([s.direction[1] for s in slots]),
        "_z_col": np.array([col.get(f"z_{s.name}", 0) for s in slots], dtype=np.intp),
        "_kv_col": np.array(
            [col.get(f"kv_{s.name}", col["edge_kv"]) for s in slots], dtype=np.intp
        ),
        "_rp_col": np.array(
            [col.get(f"rp_{s.name}", col["edge_kv"]) for s in slots], dtype=np.intp
        ),
        "_hot": np.array([s.watch in ("hot", "both") for s in slots], dtype=float),
        "_slow": np.array(
            [s.watch in ("slow", "both") and s.kind != "thermocouple" for s in slots], dtype=float
        ),
        "_typical": np.array([typical["centre"], typical["edge"]], dtype=np.intp),
    }
    cls = type("ShelfSlots", (VialSlots,), namespace)
    model: VialSlots = cls()
    return model
