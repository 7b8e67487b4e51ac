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
from itertools import pairwise

import numpy as np

from pharmatwin.core.integrate import Tolerances, integrate
from pharmatwin.core.model import Model
from pharmatwin.core.schedule import Schedule, apply_event, compile_recipe, feed_input
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.control import PIBank, PILoop
from pharmatwin.equipment.bioreactor.culture import (
    CO2_MM_PER_ATM,
    Actuators,
    Broth,
    step_broth,
)
from pharmatwin.equipment.bioreactor.faults import Fault, magnitude_of
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.records import AtLineResult, PlantRun, Totals
from pharmatwin.equipment.bioreactor.scenario import Scenario
from pharmatwin.equipment.bioreactor.sensors import AT_LINE, ONLINE, SensorBank

LOOPS = PIBank(
    (
        PILoop("TIC101", gain=5.0, ti_h=1.0, low=5.0, high=50.0),  # jacket setpoint, degC
        PILoop("AIC301", gain=0.002, ti_h=0.3, low=0.0, high=1.0),  # O2 sparge, fraction
        PILoop("AIC201", gain=4.0, ti_h=1.0, low=-1.0, high=1.0),  # CO2 (+) / base (-) split
    )
)
PROBES = SensorBank(ONLINE)
CO2_MAX_FRACTION = 0.2
BASE_PUMP_MAX_L_PER_H = 2.0

Progress = Callable[[float], None]


class MemberStreams:
    """One random stream per realization (``SeedSequence.spawn``), so that a realization's
    data depend only on the seed and its index, not on how many run beside it."""

    def __init__(self, seed: int, members: int) -> None:
        children = np.random.SeedSequence(seed).spawn(members)
        self.generators = [np.random.default_rng(child) for child in children]

    def normal(self, shape: tuple[int, ...]) -> FloatArray:
        """Standard normal draws of ``shape`` per member, members on the last axis."""
        return np.stack([g.standard_normal(shape) for g in self.generators], axis=-1)


def draw_truth_parameters(
    model: Model, nominal: FloatArray, rng: np.random.Generator, members: int, mismatch: float
) -> FloatArray:
    """``nominal`` parameters perturbed lognormally by ``mismatch`` times each prior CV."""
    z = rng.standard_normal((members, len(model.parameters)))
    return perturb_parameters(model, nominal, z, mismatch)


def perturb_parameters(
    model: Model, nominal: FloatArray, z: FloatArray, mismatch: float
) -> FloatArray:
    """``nominal * exp(mismatch * cv * z)`` for standard normal ``z`` ``(members, n)``,
    clipped to the declared bounds."""
    cv = np.array([q.cv for q in model.parameters])
    lower, upper = model.parameter_bounds()
    return np.asarray(np.clip(nominal * np.exp(mismatch * cv * z), lower, upper), dtype=float)


def run_plant(scenario: Scenario, members: int = 1, progress: Progress | None = None) -> PlantRun:
    """Run one scenario to harvest for ``members`` independent plant realizations."""
    if members < 1:
        raise ValueError(f"members: must be at least 1, got {members}")
    batch = _Batch(scenario, members)
    grid = batch.grid
    batch.apply_events(0.0)
    batch.log(0)
    for i, (t0, t1) in enumerate(pairwise(grid)):
        batch.advance(float(t0), float(t1))
        batch.apply_events(float(t1))
        batch.log(i + 1)
        if progress is not None:
            progress(float(t1) / float(grid[-1]))
    batch.draw_sample(float(grid[-1]))  # the harvest sample
    return batch.result()


class _Batch:
    """Mutable state of one plant run; every array carries the member axis."""

    def __init__(self, scenario: Scenario, members: int) -> None:
        self.model = model = ChoFedBatch()
        self.faults = scenario.faults
        self.streams = MemberStreams(scenario.seed, members)
        self.schedule = compile_recipe(model, scenario.recipe)
        compositions = {feed_input(state) for state in model.state_names()}
        self.feed_composition = [
            j for j, name in enumerate(model.input_names()) if name in compositions
        ]
        nominal = model.parameter_vector(scenario.parameters)
        z = self.streams.normal((len(model.parameters),)).T
        self.p = perturb_parameters(model, nominal, z, scenario.mismatch)
        self.calibration = PROBES.calibrate(self.streams.normal((2, len(ONLINE))))
        self.x = model.state_vector(scenario.recipe.initial_state, members)
        self.idx = {n: model.input_index(n) for n in model.input_names()}
        u0 = self.schedule.inputs_at(0.0)
        self.u = np.tile(u0, (members, 1))
        self.broth = Broth.start(
            members, T=u0[self.idx["T"]], DO=u0[self.idx["DO"]], pH=u0[self.idx["pH"]]
        )
        self.grid = _coupling_grid(scenario, self.schedule)
        self.dt = scenario.control_step_min / 60.0
        n_online = sum(self._substeps(a, b)[0] for a, b in pairwise(self.grid))
        self.online = np.empty((n_online, len(ONLINE), members))
        self.online_t = np.empty(n_online)
        self.k_online = 0
        n_t = len(self.grid)
        self.xs = np.empty((n_t, members, len(model.states)))
        self.ys = np.empty((n_t, members, len(model.outputs)))
        self.broth_log = {k: np.empty((n_t, members)) for k in ("T", "pH", "DO")}
        self.totals = Totals(*(np.zeros(members) for _ in range(4)))
        self.at_line: list[AtLineResult] = []
        self.integrals = np.zeros((len(LOOPS.loops), members))
        # bumpless start: the CO2 share that holds the initial pH against the initial broth
        ph_loop = LOOPS.loops[2]
        co2_share = self.broth.dCO2 / (CO2_MM_PER_ATM * CO2_MAX_FRACTION)
        self.integrals[2] = np.clip(co2_share, 0.0, 1.0) * ph_loop.ti_h / ph_loop.gain
        self.events = list(self.schedule.events)
        self.tol = Tolerances(rtol=1e-6, atol=model.state_atol())
        self.lower = model.state_bounds()[0]
        self.h: float | None = None

    def _substeps(self, t0: float, t1: float) -> tuple[int, float]:
        n = max(1, int(np.ceil((t1 - t0) / self.dt - 1e-9)))
        return n, (t1 - t0) / n

    def advance(self, t0: float, t1: float) -> None:
        """Fast loops every control step over ``[t0, t1]``, then the cells over the interval."""
        model, idx = self.model, self.idx
        mid = 0.5 * (t0 + t1)
        p_eff = self._faulted_parameters(mid)
        plan = self._planned_inputs(mid)
        rates = model.measure(self.x, self.u, p_eff)
        our = rates[:, model.output_index("OUR")]
        acid = rates[:, model.output_index("acid_rate")]
        n_sub, sub = self._substeps(t0, t1)
        noise = self.streams.normal((n_sub, len(ONLINE)))
        sums = np.zeros((4, self.x.shape[0]))
        inflow = np.zeros(self.x.shape[0])
        for j in range(n_sub):
            t = t0 + j * sub
            volume = self.x[:, model.state_index("V")] + inflow
            act = self._control(t, noise[j], volume, self.schedule.inputs_at(t), sub)
            flow = plan[idx["F_feed"]] + act.base_flow
            self.broth = step_broth(
                self.broth,
                act,
                volume_L=volume,
                our=our,
                acid_rate=acid,
                dilution=flow / volume,
                dt_h=sub,
            )
            inflow += flow * sub
            self.totals.feed += plan[idx["F_feed"]] * sub
            self.totals.base += act.base_flow * sub
            sums += np.stack([self.broth.T, self.broth.pH, self.broth.DO, act.base_flow])
        self.u = np.tile(plan, (self.x.shape[0], 1))
        for k, name in enumerate(("T", "pH", "DO", "F_base")):
            self.u[:, idx[name]] = sums[k] / n_sub

        def rhs(t: float, x: FloatArray, u: FloatArray = self.u) -> FloatArray:
            return model.rhs(t, x, u, p_eff)

        self.x, self.h, _ = integrate(rhs, t0, t1, self.x, self.tol, lower=self.lower, h0=self.h)

    def _control(
        self, t: float, noise: FloatArray, volume: FloatArray, setpoints: FloatArray, dt: float
    ) -> Actuators:
        """Read the probes (recording the readings) and step the loops."""
        idx = self.idx
        truth = {
            "T": self.broth.T,
            "pH": self.broth.pH,
            "DO": self.broth.DO,
            "V": volume,
            "base_total": self.totals.base,
            "feed_total": self.totals.feed,
        }
        offsets = np.zeros((len(ONLINE), 1))
        offsets[PROBES.index("pH")] = _ph_drift(self.faults, t)
        readings = PROBES.read(
            np.stack([truth[s.source] for s in ONLINE]), t, noise, self.calibration, offsets
        )
        self.online[self.k_online], self.online_t[self.k_online] = readings, t
        self.k_online += 1
        T_sp, DO_sp, pH_sp = (setpoints[idx[k]] for k in ("T", "DO", "pH"))
        errors = np.stack(
            [
                T_sp - readings[PROBES.index("T")],
                DO_sp - readings[PROBES.index("DO")],
                readings[PROBES.index("pH")] - pH_sp,
            ]
        )
        bias = np.array([[T_sp], [0.0], [0.0]])
        outputs, self.integrals = LOOPS.step(errors, self.integrals, bias, dt)
        return _actuate(outputs, self.faults, t)

    def _planned_inputs(self, t: float) -> FloatArray:
        """Recipe inputs at ``t`` as the faulty equipment delivers them."""
        plan = self.schedule.inputs_at(t).copy()
        strength = magnitude_of(self.faults, "wrong_feed_concentration", t)
        if strength is not None:
            plan[self.feed_composition] *= strength
        pump = magnitude_of(self.faults, "feed_pump_failure", t)
        if pump is not None:
            plan[self.idx["F_feed"]] *= 1.0 - pump
        return plan

    def _faulted_parameters(self, t: float) -> FloatArray:
        extra = magnitude_of(self.faults, "viability_loss", t)
        if extra is None:
            return self.p
        p = self.p.copy()
        p[:, self.model.parameter_index("kd_extra")] += extra
        return p

    def apply_events(self, t: float) -> None:
        """Samples (drawn for the lab first) and boluses due at ``t``."""
        while self.events and self.events[0].time_h <= t + 1e-9:
            event = self.events.pop(0)
            if event.kind == "sample":
                self.draw_sample(t)
                self.totals.samples += event.volume_L
            else:
                self.totals.bolus += event.volume_L
            self.x = apply_event(self.model, self.x, event)

    def draw_sample(self, t: float) -> None:
        """At-line results of a sample drawn at ``t``, each with its assay error and delay."""
        y = self.model.measure(self.x, self.u, self.p)
        truth = {name: y[:, j] for j, name in enumerate(self.model.output_names())}
        truth["pH"] = self.broth.pH
        noise = self.streams.normal((len(AT_LINE),))
        for q, assay in enumerate(AT_LINE):
            values = assay.result(truth[assay.source], noise[q])
            self.at_line.append(AtLineResult(assay.tag, assay.unit, t, t + assay.delay_h, values))

    def log(self, i: int) -> None:
        self.xs[i] = self.x
        self.ys[i] = self.model.measure(self.x, self.u, self.p)
        for name in ("T", "pH", "DO"):
            self.broth_log[name][i] = getattr(self.broth, name)

    def result(self) -> PlantRun:
        return PlantRun(
            model=self.model,
            t=self.grid,
            x=self.xs,
            y=self.ys,
            broth=self.broth_log,
            p=self.p,
            online_t=self.online_t[: self.k_online],
            online=self.online[: self.k_online],
            online_tags=tuple((s.tag, s.unit) for s in ONLINE),
            at_line=self.at_line,
            totals=self.totals,
        )


def _coupling_grid(scenario: Scenario, schedule: Schedule) -> FloatArray:
    t_end = schedule.t_end
    regular = np.arange(0.0, t_end, scenario.coupling_h)
    faults = [b for f in scenario.faults for b in f.boundaries() if b < t_end]
    return np.unique(np.concatenate([regular, schedule.stops(), faults, [t_end]]))


def _ph_drift(faults: list[Fault], t: float) -> float:
    """Offset of the online pH probe at ``t`` from an active drift fault, pH units."""
    for f in faults:
        if f.kind == "ph_probe_drift" and f.active(t):
            return f.magnitude * (t - f.onset_h) / 24.0
    return 0.0


def _actuate(outputs: FloatArray, faults: list[Fault], t: float) -> Actuators:
    """Loop outputs to actuators, through the faults that act on the equipment."""
    jacket, sparge, split = outputs
    stuck = magnitude_of(faults, "temperature_control_failure", t)
    if stuck is not None:
        jacket = np.full_like(jacket, stuck)
    lost = magnitude_of(faults, "aeration_failure", t) or 0.0
    return Actuators(
        jacket_setpoint=jacket,
        o2_sparge=np.minimum(sparge, 1.0 - lost),
        co2_fraction=CO2_MAX_FRACTION * np.maximum(split, 0.0),
        base_flow=BASE_PUMP_MAX_L_PER_H * np.maximum(-split, 0.0),
    )
