"""The freeze-drying twin's picture of the shelf: which vials it follows and what it believes
about them before any data.

The twin follows the typical centre and edge vials, one vial at the *slow* tail and one at the
*hot* tail of each group, and every thermocouple vial (``model.VialSlots``). A tail vial stands
for the most extreme of the group's N vials: along the direction of the (log Kv, log Rp) plane in
which drying time (or the maximum product temperature) grows fastest — from the sensitivities of
one vial on the planned cycle — at a distance drawn, per ensemble member, from the distribution
of the largest of N standard normal values (P(max ≤ r) = Φ(r)^N). The spread of the forecast
then includes the luck of which vial turns out last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from pharmatwin.core.belief import Belief, prior
from pharmatwin.core.integrate import Tolerances
from pharmatwin.core.simulate import simulate
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer.dryer_config import DryerCycle
from pharmatwin.equipment.lyophilizer.model import PrimaryDrying, cycle_schedule
from pharmatwin.equipment.lyophilizer.model_slots import (
    Group,
    ShelfPrior,
    Slot,
    VialSlots,
    expected_maximum,
    vial_slots_model,
)

GROUPS = ("centre", "edge")
_STEP = 0.05
"""Relative perturbation of Kv and Rp for the sensitivities (log units)."""


def cycle_nominal(cycle: DryerCycle) -> dict[str, float]:
    """The vial parameters of ``cycle`` by model parameter name."""
    v, p, h = cycle.vial, cycle.product, cycle.heat
    return {
        "KC": h.kc,
        "KP": h.kp,
        "KD": h.kd,
        "R0": p.r0,
        "A1": p.a1,
        "A2": p.a2,
        "vial_area": v.area_cm2,
        "product_area": v.product_area_cm2,
        "fill": v.fill_ml,
        "solids": p.solids_fraction,
    }


def sensitivities(cycle: DryerCycle, edge_kv: float) -> dict[str, tuple[float, float]]:
    """d log(drying time) and d(max bottom temperature, °C) per unit log Kv and log Rp of one
    vial of each group on the planned cycle: ``{"centre_slow": (dKv, dRp), ...}``."""
    model = PrimaryDrying()
    nominal = cycle_nominal(cycle)
    rows = []
    for factor in (1.0, edge_kv):
        for dk, dr in ((0.0, 0.0), (_STEP, 0.0), (0.0, _STEP)):
            q = dict(nominal)
            q["KC"] *= factor * math.exp(dk)
            q["KP"] *= factor * math.exp(dk)
            q["R0"] *= math.exp(dr)
            q["A1"] *= math.exp(dr)
            rows.append([q[n] for n in model.parameter_names()])
    p = np.array(rows)
    horizon = 4.0 * max(cycle.planned_end_h, 1.0)
    schedule = cycle_schedule(cycle.shelf, cycle.pressure, horizon)
    times = np.linspace(0.0, horizon, 801)
    x = simulate(
        model,
        schedule,
        np.zeros((len(p), 1)),
        p,
        t_out=times,
        tol=Tolerances(rtol=1e-6, atol=model.state_atol()),
    ).x[:, :, 0]
    u = np.array([schedule.inputs_at(float(t)) for t in times])
    y = model.measure(x.reshape(-1, 1), np.repeat(u, len(p), axis=0), np.tile(p, (len(times), 1)))
    y = y.reshape(len(times), len(p), -1)
    wet = y[:, :, 3] < 1.0
    t_max = np.where(wet, y[:, :, 0], -np.inf).max(axis=0)
    end = crossing_times(times, y[:, :, 3])
    out = {}
    for g, base in zip(GROUPS, (0, 3), strict=True):
        log_t = np.log(end[base : base + 3])
        out[f"{g}_slow"] = ((log_t[1] - log_t[0]) / _STEP, (log_t[2] - log_t[0]) / _STEP)
        hot = t_max[base : base + 3]
        out[f"{g}_hot"] = ((hot[1] - hot[0]) / _STEP, (hot[2] - hot[0]) / _STEP)
    return out


def crossing_times(times: FloatArray, fraction: FloatArray) -> FloatArray:
    """First time each column of ``fraction`` ``(n_t, k)`` reaches 1, linearly interpolated
    between output times; inf where it never does."""
    done = fraction >= 1.0 - 1e-9
    first = np.argmax(done, axis=0)
    ever = done.any(axis=0)
    prev = np.maximum(first - 1, 0)
    cols = np.arange(fraction.shape[1])
    f0, f1 = fraction[prev, cols], fraction[first, cols]
    t0, t1 = times[prev], times[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(f1 > f0, (1.0 - f0) / (f1 - f0), 1.0)
    t = t0 + np.clip(frac, 0.0, 1.0) * (t1 - t0)
    return np.asarray(np.where(ever, np.where(first == 0, times[0], t), np.inf), dtype=float)


def _group(name: str) -> Group:
    if name == "centre":
        return "centre"
    if name == "edge":
        return "edge"
    raise ValueError(f"group: must be centre or edge, got {name!r}")


def build_slots(cycle: DryerCycle, thermocouples: Sequence[str], shelf: ShelfPrior) -> VialSlots:
    """The twin's model: typical and tail vials of both groups and the thermocouple vials."""
    for i, g in enumerate(thermocouples):
        if g not in GROUPS:
            raise ValueError(f"thermocouples.{i}: group must be centre or edge, got {g!r}")
    sens = sensitivities(cycle, shelf.edge_kv)
    counts = {"centre": shelf.centre_vials, "edge": shelf.edge_vials}
    slots = [Slot("centre", "centre"), Slot("edge", "edge")]
    for name, (dk, dr) in sens.items():
        group, watch = name.split("_")
        vec = np.array([dk * shelf.sigma_kv, dr * shelf.sigma_rp])
        norm = float(np.hypot(*vec))
        direction = (float(vec[0] / norm), float(vec[1] / norm)) if norm > 0 else (0.0, 0.0)
        slots.append(
            Slot(
                name,
                _group(group),
                "tail",
                direction,
                expected_maximum(counts[group]),
                "slow" if watch == "slow" else "hot",
            )
        )
    slots += [
        Slot(f"tc{i + 1}", _group(g), "thermocouple", watch="hot")
        for i, g in enumerate(thermocouples)
    ]
    return vial_slots_model(slots, shelf)


def prior_belief(
    model: VialSlots,
    cycle: DryerCycle,
    members: int,
    rng: np.random.Generator,
    shelf: ShelfPrior,
) -> Belief:
    """The twin's belief before data: parameters around the cycle's nominal values with their
    declared prior CVs, and each tail vial's distance drawn from the law of the group maximum."""
    nominal = model.parameter_vector(cycle_nominal(cycle))[0]
    start = {s.name: 0.0 for s in model.states}
    belief = prior(model, start, members, rng, state_cv=0.0, nominal=nominal)
    p = belief.p.copy()
    counts = {"centre": shelf.centre_vials, "edge": shelf.edge_vials}
    normal = NormalDist()
    for s in model.slots:
        if s.kind == "tail":
            u = rng.uniform(1e-12, 1.0 - 1e-12, members) ** (1.0 / max(counts[s.group], 1))
            p[:, model.parameter_index(f"z_{s.name}")] = [normal.inv_cdf(float(v)) for v in u]
    return belief.with_(p=p)


def estimated_parameters(model: VialSlots) -> tuple[str, ...]:
    """Every uncertain parameter: group Kv and Rp, the edge and thermocouple factors and the
    thermocouple vials' random effects (what a vial's end of drying corrects)."""
    return tuple(q.name for q in model.parameters if q.cv > 0)


def temperature_parameters(model: VialSlots) -> tuple[str, ...]:
    """What a temperature corrects: Rp (R0, A1, each thermocouple vial's factor) and the edge
    factor — not Kv, which it cannot tell from Rp (see ``lyo_filter``)."""
    return tuple(
        n
        for n in estimated_parameters(model)
        if n in ("R0", "A1", "edge_kv") or n.startswith("rp_")
    )
