"""The virtual bioreactor: the CHO model run as truth, with control loops, sensors and faults.

Every ``control_step_min`` the loops read the online probes and move the jacket, the O2 sparge,
the CO2 in the inlet gas and the base pump; the broth's temperature, DO and pH respond (see
``culture.py``). Every ``coupling_h`` the cell model advances over the interval with the broth's
averaged conditions (operator splitting: cells change over hours, the broth over minutes), and the
recipe's boluses and samples are applied. The truth's parameters are drawn away from the nominal
ones (model mismatch). The whole batch is vectorized over ``members`` independent realizations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pharmatwin.core.integrate import Tolerances, integrate
from pharmatwin.core.model import Model
from pharmatwin.core.schedule import Schedule, apply_event, compile_recipe
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.control import PIController
from pharmatwin.equipment.bioreactor.culture import Actuators, Broth, step_broth
from pharmatwin.equipment.bioreactor.faults import Fault, magnitude_of
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.records import AtLineResult, PlantRun, Totals
from pharmatwin.equipment.bioreactor.scenario import Scenario
from pharmatwin.equipment.bioreactor.sensors import AT_LINE, ONLINE

TEMPERATURE_LOOP = PIController(gain=5.0, ti_h=1.0, low=5.0, high=50.0)
DO_LOOP = PIController(gain=0.02, ti_h=0.5, low=0.0, high=1.0)
PH_LOOP = PIController(gain=4.0, ti_h=1.0, low=-1.0, high=1.0)
CO2_MAX_FRACTION = 0.2
BASE_PUMP_MAX_L_PER_H = 2.0

Progress = Callable[[float], None]


def draw_truth_parameters(
    model: Model, nominal: FloatArray, rng: np.random.Generator, members: int, mismatch: float
) -> FloatArray:
    """``nominal`` parameters perturbed lognormally by ``mismatch`` times each prior CV."""
    cv = np.array([q.cv for q in model.parameters])
    z = rng.standard_normal((members, len(cv)))
    p = nominal * np.exp(mismatch * cv * z)
    lower, upper = model.parameter_bounds()
    return np.asarray(np.clip(p, lower, upper), dtype=float)


class _Loops:
    """Integral states of the three loops, one value per member."""

    def __init__(self, members: int) -> None:
        self.T = np.zeros(members)
        self.DO = np.zeros(members)
        self.pH = np.zeros(members)


def run_plant(scenario: Scenario, members: int = 1, progress: Progress | None = None) -> PlantRun:
    """Run one scenario to harvest for ``members`` independent plant realizations."""
    if members < 1:
        raise ValueError(f"members: must be at least 1, got {members}")
    model = ChoFedBatch()
    rng = np.random.default_rng(scenario.seed)
    schedule = compile_recipe(model, scenario.recipe)
    wrong_feed = compile_recipe(model, scenario.recipe, feed_scale=_feed_scale(scenario.faults))
    nominal = model.parameter_vector(scenario.parameters)
    p = draw_truth_parameters(model, nominal, rng, members, scenario.mismatch)
    x = model.state_vector(scenario.recipe.initial_state, members)
    u0 = schedule.inputs_at(0.0)
    idx = {n: model.input_index(n) for n in model.input_names()}
    broth = Broth.start(members, T=u0[idx["T"]], DO=u0[idx["DO"]], pH=u0[idx["pH"]])
    grid = _coupling_grid(scenario, schedule)
    dt = scenario.control_step_min / 60.0
    n_online = int(sum(max(1, int(np.ceil((b - a) / dt - 1e-9))) for a, b in zip(grid, grid[1:])))
    online = np.empty((n_online, len(ONLINE), members))
    online_t = np.empty(n_online)
    xs, ys = [np.empty((len(grid), members, k)) for k in (len(model.states), len(model.outputs))]
    broth_log = {k: np.empty((len(grid), members)) for k in ("T", "pH", "DO")}
    totals = Totals(*(np.zeros(members) for _ in range(4)))
    at_line: list[AtLineResult] = []
    loops = _Loops(members)
    events = list(schedule.events)
    tol = Tolerances(rtol=1e-6, atol=model.state_atol())
    lower, _ = model.state_bounds()
    u = np.tile(u0, (members, 1))
    x = _events_at(model, x, events, 0.0, u, p, broth, rng, at_line, totals)
    _log(xs, ys, broth_log, 0, model, x, u, p, broth)
    h: float | None = None
    k_online = 0
    for i, (t0, t1) in enumerate(zip(grid[:-1], grid[1:], strict=True)):
        t0, t1 = float(t0), float(t1)
        mid = 0.5 * (t0 + t1)
        p_eff = _faulted_parameters(model, p, scenario.faults, mid)
        u_plan = wrong_feed.inputs_at(mid) if _feed_scale(scenario.faults, mid) != 1.0 else schedule.inputs_at(mid)
        u_plan = u_plan.copy()
        pump = magnitude_of(scenario.faults, "feed_pump_failure", mid)
        if pump is not None:
            u_plan[idx["F_feed"]] *= 1.0 - pump
        rates = model.measure(x, u, p_eff)
        our, acid = rates[:, model.output_index("OUR")], rates[:, model.output_index("acid_rate")]
        n_sub = max(1, int(np.ceil((t1 - t0) / dt - 1e-9)))
        sub = (t1 - t0) / n_sub
        noise = rng.standard_normal((n_sub, len(ONLINE), members))
        sums = np.zeros((4, members))
        inflow = np.zeros(members)
        for j in range(n_sub):
            t = t0 + j * sub
            u_sp = schedule.inputs_at(t)
            volume = x[:, model.state_index("V")] + inflow
            truth = {
                "T": broth.T, "pH": broth.pH, "DO": broth.DO, "V": volume,
                "base_total": totals.base, "feed_total": totals.feed,
            }
            drift = _ph_drift(scenario.faults, t)
            readings = np.stack(
                [s.read(truth[s.source], t, noise[j, q], drift if s.source == "pH" else 0.0)
                 for q, s in enumerate(ONLINE)]
            )
            online[k_online], online_t[k_online] = readings, t
            k_online += 1
            act = _control(loops, readings, u_sp, idx, scenario.faults, t, sub)
            flow = u_plan[idx["F_feed"]] + act.base_flow
            broth = step_broth(broth, act, volume, our, acid, flow / volume, sub)
            inflow += flow * sub
            totals.feed += u_plan[idx["F_feed"]] * sub
            totals.base += act.base_flow * sub
            sums += np.stack([broth.T, broth.pH, broth.DO, act.base_flow])
        means = sums / n_sub
        u = np.tile(u_plan, (members, 1))
        u[:, idx["T"]], u[:, idx["pH"]], u[:, idx["DO"]], u[:, idx["F_base"]] = means

        def rhs(tt: float, xx: FloatArray, uu: FloatArray = u, pp: FloatArray = p_eff) -> FloatArray:
            return model.rhs(tt, xx, uu, pp)

        x, h, _ = integrate(rhs, t0, t1, x, tol, lower, h)
        x = _events_at(model, x, events, t1, u, p_eff, broth, rng, at_line, totals)
        _log(xs, ys, broth_log, i + 1, model, x, u, p_eff, broth)
        if progress is not None:
            progress(t1 / grid[-1])
    _harvest_sample(model, x, u, p, broth, rng, at_line, float(grid[-1]))
    return PlantRun(
        model=model, t=grid, x=xs, y=ys, broth=broth_log, p=p,
        online_t=online_t[:k_online], online=online[:k_online],
        online_tags=tuple((s.tag, s.unit) for s in ONLINE), at_line=at_line, totals=totals,
    )


def _coupling_grid(scenario: Scenario, schedule: Schedule) -> FloatArray:
    t_end = schedule.t_end
    regular = np.arange(0.0, t_end, scenario.coupling_h)
    faults = [b for f in scenario.faults for b in f.boundaries() if b < t_end]
    return np.unique(np.concatenate([regular, schedule.stops(), faults, [t_end]]))


def _feed_scale(faults: list[Fault], t: float | None = None) -> float:
    """Concentration factor of the continuous feed (at ``t``; or of any such fault if None)."""
    for f in faults:
        if f.kind == "wrong_feed_concentration" and (t is None or f.active(t)):
            return f.magnitude
    return 1.0


def _ph_drift(faults: list[Fault], t: float) -> float:
    rate = magnitude_of(faults, "ph_probe_drift", t)
    if rate is None:
        return 0.0
    onset = next(f.onset_h for f in faults if f.kind == "ph_probe_drift" and f.active(t))
    return rate * (t - onset) / 24.0


def _faulted_parameters(model: Model, p: FloatArray, faults: list[Fault], t: float) -> FloatArray:
    extra = magnitude_of(faults, "viability_loss", t)
    if extra is None:
        return p
    p = p.copy()
    p[:, model.parameter_index("kd_min")] += extra
    return p


def _control(
    loops: _Loops,
    readings: FloatArray,
    u_sp: FloatArray,
    idx: dict[str, int],
    faults: list[Fault],
    t: float,
    dt: float,
) -> Actuators:
    T_meas, pH_meas, DO_meas = readings[0], readings[1], readings[2]
    T_sp = float(u_sp[idx["T"]])
    jacket, loops.T = TEMPERATURE_LOOP.step(T_sp - T_meas, loops.T, dt, bias=T_sp)
    stuck = magnitude_of(faults, "temperature_control_failure", t)
    if stuck is not None:
        jacket = np.full_like(jacket, stuck)
    lost = magnitude_of(faults, "aeration_failure", t) or 0.0
    sparge, loops.DO = DO_LOOP.step(u_sp[idx["DO"]] - DO_meas, loops.DO, dt)
    split, loops.pH = PH_LOOP.step(pH_meas - u_sp[idx["pH"]], loops.pH, dt)
    return Actuators(
        jacket_setpoint=jacket,
        o2_sparge=np.minimum(sparge, 1.0 - lost),
        co2_fraction=CO2_MAX_FRACTION * np.maximum(split, 0.0),
        base_flow=BASE_PUMP_MAX_L_PER_H * np.maximum(-split, 0.0),
    )


def _truth_for_assays(
    model: Model, x: FloatArray, u: FloatArray, p: FloatArray, broth: Broth
) -> dict[str, FloatArray]:
    y = model.measure(x, u, p)
    truth = {name: y[:, j] for j, name in enumerate(model.output_names())}
    truth["pH"] = broth.pH
    return truth


def _draw_sample(
    model: Model, x: FloatArray, u: FloatArray, p: FloatArray, broth: Broth,
    rng: np.random.Generator, at_line: list[AtLineResult], t: float,
) -> None:
    truth = _truth_for_assays(model, x, u, p, broth)
    noise = rng.standard_normal((len(AT_LINE), x.shape[0]))
    for q, assay in enumerate(AT_LINE):
        values = assay.result(truth[assay.source], noise[q])
        at_line.append(AtLineResult(assay.tag, assay.unit, t, t + assay.delay_h, values))


def _events_at(
    model: Model, x: FloatArray, events: list, t: float, u: FloatArray, p: FloatArray,  # type: ignore[type-arg]
    broth: Broth, rng: np.random.Generator, at_line: list[AtLineResult], totals: Totals,
) -> FloatArray:
    while events and events[0].time_h <= t + 1e-9:
        event = events.pop(0)
        if event.kind == "sample":
            _draw_sample(model, x, u, p, broth, rng, at_line, t)
            totals.samples += event.volume_L
        else:
            totals.bolus += event.volume_L
        x = apply_event(model, x, event)
    return x


def _harvest_sample(
    model: Model, x: FloatArray, u: FloatArray, p: FloatArray, broth: Broth,
    rng: np.random.Generator, at_line: list[AtLineResult], t_end: float,
) -> None:
    _draw_sample(model, x, u, p, broth, rng, at_line, t_end)


def _log(
    xs: FloatArray, ys: FloatArray, broth_log: dict[str, FloatArray], i: int, model: Model,
    x: FloatArray, u: FloatArray, p: FloatArray, broth: Broth,
) -> None:
    xs[i] = x
    ys[i] = model.measure(x, u, p)
    broth_log["T"][i], broth_log["pH"][i], broth_log["DO"][i] = broth.T, broth.pH, broth.DO
