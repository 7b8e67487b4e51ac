"""The bioreactor twin: the CHO model kept in step with plant data, forecasting to harvest.

Each hour of the batch the twin
1. takes the inputs as they were run: hourly means of the online temperature, pH (corrected by
   the bias of the probe once the pH check has found it faulty) and DO, and the feed and base
   flows from their totalizers; the recipe supplies the rest (media, boluses, samples);
2. assimilates the laboratory results that arrived during the hour, at their sample times
   (ensemble Kalman filter over states and uncertain kinetic parameters);
3. checks the online pH probe against the at-line pH;
4. every ``forecast_every_h``, forecasts to harvest and passes the forecast to the alarm policy;
   when a process alarm is raised or a sensor fault found (and every ``RERANK_H`` while an alarm
   is active), ranks the candidate corrective actions on the current belief.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from pharmatwin.core.actions import Action
from pharmatwin.core.belief import Belief, prior
from pharmatwin.core.recipe import Recipe
from pharmatwin.core.schedule import (
    Schedule,
    compile_recipe,
    medium_vector,
    with_bolus,
    with_measured,
    with_persisted,
)
from pharmatwin.core.specs import Specification
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.estimation.enkf import EnKFSettings, EnsembleKalmanFilter
from pharmatwin.estimation.measurements import Measurement
from pharmatwin.estimation.particle import ParticleFilter
from pharmatwin.estimation.propagate import schedule_propagator
from pharmatwin.estimation.sensor_check import ProbeCheck, SensorFault
from pharmatwin.estimation.tracker import Tracker
from pharmatwin.forecasting.alarms import Alarm, AlarmPolicy, AlarmSettings
from pharmatwin.forecasting.forecast import Forecast, forecast
from pharmatwin.forecasting.whatif import Recommendation, evaluate
from pharmatwin.runtime.plant_record import LAB_BY_TAG, LabResult, PlantRecord

if TYPE_CHECKING:
    from pharmatwin.runtime.mspc_batches import TwinMonitor

ESTIMATED = ("mu_max", "Y_X_glc", "m_glc", "Y_X_gln", "Y_lac_glc", "q_mab", "kd_min", "kd_max")
"""Kinetic parameters learnt from data: those with the largest effect on the CQAs."""

PERSIST_H = 3
"""Hours of recent deviation from the plan that a forecast carries forward."""

RERANK_H = 24.0
"""While a process alarm is active, candidate actions are ranked again this often (h)."""

PH_PROBE = "BR01.AT201.PV"
PH_LAB = "BR01.PH.LAB"


@dataclass(frozen=True)
class TwinSettings:
    """How the twin runs.

    Attributes:
        members: ensemble size.
        forecast_every_h: hours between forecasts.
        seed: seed of the prior and of the filter's perturbations.
        prior_spread: prior parameter spread, in units of each parameter's declared CV.
        alarms: alarm policy thresholds.
        estimator: ``enkf`` (ensemble Kalman filter) or ``pf`` (particle filter).
        actions: candidate corrective actions, ranked whenever a process alarm is raised.
        ph_bias_threshold: smallest pH probe bias declared a sensor fault, pH units (4 sd of
            the calibration spread of the virtual probes, 0.02 pH).
        monitor: optional multivariate batch monitor (a batch evolution model trained on good
            batches, ``runtime.mspc_study.twin_monitor``) that scores each hour's data beside
            the estimator; its alarms join the timeline with kind ``multivariate``.
    """

    members: int = 200
    forecast_every_h: float = 6.0
    seed: int = 0
    prior_spread: float = 1.0
    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    enkf: EnKFSettings = field(default_factory=EnKFSettings)
    estimator: Literal["enkf", "pf"] = "enkf"
    actions: tuple[Action, ...] = ()
    ph_bias_threshold: float = 0.08
    monitor: TwinMonitor | None = None


@dataclass
class TwinRun:
    """What the twin produced over a replay."""

    forecasts: list[Forecast] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    sensor_faults: list[SensorFault] = field(default_factory=list)
    belief: Belief | None = None
    rejected_measurements: list[tuple[float, str, str]] = field(default_factory=list)
    recommendations: list[tuple[float, list[Recommendation]]] = field(default_factory=list)


class BioreactorTwin:
    """Replays plant data through the CHO model, the EnKF, the forecaster and the alarms."""

    def __init__(
        self,
        recipe: Recipe,
        settings: TwinSettings | None = None,
        specs: Sequence[Specification] = SPECIFICATIONS,
        parameters: Mapping[str, float] | None = None,
    ) -> None:
        self.model = ChoFedBatch()
        self.nominal = self.model.parameter_vector(parameters or {})[0]
        self.recipe = recipe
        self.settings = settings or TwinSettings()
        self.specs = tuple(specs)
        self.plan = compile_recipe(self.model, recipe)
        self.names = self.model.input_names()

    def replay(self, record: PlantRecord, until_h: float | None = None) -> TwinRun:
        """Run the twin over ``record`` up to ``until_h`` (default: harvest)."""
        session = self.session(until_h)
        for hour in session.hours():
            session.step(hour, record)
        return session.result()

    def session(self, until_h: float | None = None) -> TwinSession:
        """A twin that is stepped hour by hour as the data arrive (live operation)."""
        return TwinSession(self, until_h)

    def _measurements(self, results: list[LabResult]) -> list[Measurement]:
        """Laboratory and soft-sensor results as measurements of model outputs; a result's own
        sd (a soft sensor's prediction uncertainty) takes precedence over the assay's figure."""
        out = []
        for r in results:
            assay = LAB_BY_TAG.get(r.tag)
            if assay is None or assay.source not in self.model.output_names():
                continue  # e.g. the at-line pH: an input, checked against the probe instead
            own = r.sd if r.sd is not None and r.sd > 0 else None
            sd = own or max(assay.relative_sd * abs(r.value) + assay.absolute_sd, 1e-3)
            out.append(Measurement(r.sample_h, assay.source, r.value, sd, r.tag, r.available_h))
        return out

    @staticmethod
    def _check_probe(
        check: ProbeCheck,
        measured: _MeasuredInputs,
        arrived: list[LabResult],
        run: TwinRun,
        policy: AlarmPolicy,
    ) -> bool:
        """Pairs the at-line pH results with the probe; True when a fault was found."""
        found = False
        for r in arrived:
            if r.tag != PH_LAB:
                continue
            online = measured.reading_at("pH", r.sample_h)
            fault = check.add(online, r.value, r.sample_h, r.available_h)
            if fault is not None:
                found = True
                run.sensor_faults.append(fault)
                policy.record(
                    Alarm(
                        spec=fault.tag,
                        kind="sensor",
                        raised_at_h=r.available_h,
                        probability=1.0,
                        predicted_violation_h=float("nan"),
                        evidence=[
                            "online pH minus at-line pH: "
                            + ", ".join(f"{e:+.3f}" for e in fault.evidence),
                            f"estimated probe bias {fault.bias:+.3f} pH, drifting "
                            f"{fault.drift_per_day:+.3f} pH/day; readings corrected",
                        ],
                    )
                )
        return found


@dataclass
class StepResult:
    """What one hour of the twin produced."""

    hour: float
    forecast: Forecast | None = None
    alarms: list[Alarm] = field(default_factory=list)
    sensor_faults: list[SensorFault] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)


class TwinSession:
    """The twin's state between hours: belief, probe check, alarm policy, what it produced.

    ``step(hour, record)`` needs the record to hold the data up to ``hour`` (laboratory results
    that arrive later than their hour are taken at the next step); stepping the hours of a
    complete record one after the other is exactly ``BioreactorTwin.replay``.
    """

    def __init__(self, twin: BioreactorTwin, until_h: float | None = None) -> None:
        s = twin.settings
        self.twin = twin
        self.end = twin.plan.t_end if until_h is None else min(until_h, twin.plan.t_end)
        rng = np.random.default_rng(s.seed)
        start = prior(
            twin.model,
            twin.recipe.initial_state,
            s.members,
            rng,
            parameter_spread=s.prior_spread,
            nominal=twin.nominal,
        )
        self.current = _AsRun(twin.model, twin.plan)
        self.tracker = Tracker(
            estimator=(
                EnsembleKalmanFilter(twin.model, ESTIMATED, s.enkf)
                if s.estimator == "enkf"
                else ParticleFilter(twin.model, ESTIMATED)
            ),
            propagate=self.current.propagate,
            inputs_at=self.current.inputs_at,
            belief=start,
            seed=s.seed,
        )
        self.ph_check = ProbeCheck(
            PH_PROBE, lab_sd=LAB_BY_TAG[PH_LAB].absolute_sd, threshold=s.ph_bias_threshold
        )
        self.policy = AlarmPolicy(s.alarms)
        self.run = TwinRun()
        self.hour = 0.0
        self.consumed: set[tuple[str, float]] = set()
        self.next_forecast = s.forecast_every_h
        self.last_ranking = -np.inf
        self.sensor_fault_found = False
        self.monitor = s.monitor.start() if s.monitor is not None else None

    def hours(self) -> list[float]:
        """The whole hours still to step, up to the end of the batch."""
        return [float(h) for h in np.arange(self.hour + 1.0, np.floor(self.end) + 1.0)]

    @property
    def finished(self) -> bool:
        return bool(self.hour >= np.floor(self.end))

    def step(self, hour: float, record: PlantRecord) -> StepResult:
        """Advance the twin to whole batch hour ``hour`` (the next one) with ``record``."""
        if hour != self.hour + 1.0:
            raise ValueError(f"hour: expected {self.hour + 1.0:g}, got {hour:g}")
        twin, s = self.twin, self.twin.settings
        out = StepResult(hour)
        measured = _MeasuredInputs(twin.names, record, twin.plan, twin.recipe)
        arrived = [
            r
            for r in sorted(record.lab, key=lambda r: (r.available_h, r.sample_h, r.tag))
            if r.available_h <= hour and (r.tag, r.sample_h) not in self.consumed
        ]
        self.consumed.update((r.tag, r.sample_h) for r in arrived)
        faults_before = len(self.run.sensor_faults)
        alarms_before = len(self.policy.timeline)
        self.sensor_fault_found |= twin._check_probe(
            self.ph_check, measured, arrived, self.run, self.policy
        )
        out.sensor_faults = self.run.sensor_faults[faults_before:]
        for alarm in self.monitor.step(hour, record) if self.monitor is not None else []:
            self.policy.record(alarm)
        ph_correction = self.ph_check.correction_at(measured.edges[: int(hour)] + 0.5)
        self.current.schedule = measured.schedule(hour, ph_correction)
        belief = self.tracker.assimilate(hour, twin._measurements(arrived))
        if hour + 1e-9 >= self.next_forecast or hour == np.floor(self.end):
            fc = forecast(twin.model, self.current.schedule, belief, twin.specs)
            self.run.forecasts.append(fc)
            out.forecast = fc
            evidence = _evidence(self.tracker, hour - s.forecast_every_h)
            raised = self.policy.observe(fc, evidence)
            due = (
                self.sensor_fault_found
                or any(a.kind == "process" for a in raised)
                or (self.policy.active and hour >= self.last_ranking + RERANK_H)
            )
            if due and s.actions:
                self.last_ranking = hour
                self.sensor_fault_found = False
                candidates = {a.name: measured.schedule(hour, ph_correction, a) for a in s.actions}
                ranked = evaluate(twin.model, belief, twin.specs, fc, candidates, rank_by="titre")
                self.run.recommendations.append((hour, ranked))
                out.recommendations = ranked
            self.next_forecast += s.forecast_every_h
        out.alarms = self.policy.timeline[alarms_before:]
        self.hour = hour
        return out

    def candidate_schedule(self, record: PlantRecord, action: Action) -> Schedule:
        """The schedule with ``action`` carried out from the current hour, built as the twin
        builds its own candidates (inputs measured so far, recent deviations carried on)."""
        twin = self.twin
        measured = _MeasuredInputs(twin.names, record, twin.plan, twin.recipe)
        correction = self.ph_check.correction_at(measured.edges[: int(self.hour)] + 0.5)
        return measured.schedule(self.hour, correction, action)

    def result(self) -> TwinRun:
        """What the twin produced so far."""
        run = self.run
        run.alarms = self.policy.timeline
        run.belief = self.tracker.belief
        run.rejected_measurements = [
            (v.measurement.time_h, v.measurement.tag, v.reason)
            for v in self.tracker.verdicts
            if not v.used
        ]
        return run


class _AsRun:
    """The schedule the twin currently believes was run (updated every hour)."""

    def __init__(self, model: ChoFedBatch, schedule: Schedule) -> None:
        self.model = model
        self.schedule = schedule

    def propagate(self, belief: Belief, t1: float) -> Belief:
        return schedule_propagator(self.model, self.schedule)(belief, t1)

    def inputs_at(self, t: float) -> FloatArray:
        return self.schedule.inputs_at(t)


class _MeasuredInputs:
    """Hourly inputs as run, from the record's online series and totalizers."""

    def __init__(
        self, names: tuple[str, ...], record: PlantRecord, plan: Schedule, recipe: Recipe
    ) -> None:
        self.names = names
        self.plan = plan
        self.recipe = recipe
        self.record = record
        hours = np.arange(0.0, np.ceil(plan.t_end) + 1.0)
        self.edges = hours
        self.means = {k: _hourly_mean(record, k, hours) for k in ("T", "pH", "DO")}
        self.flows = {k: _hourly_rate(record, k, hours) for k in ("feed_total", "base_total")}

    def reading_at(self, source: str, t: float) -> float:
        times, values = self.record.series(source)
        k = np.searchsorted(times, t)
        window = values[max(k - 15, 0) : k + 15]
        return float(np.median(window)) if window.size else float("nan")

    def schedule(
        self, now: float, ph_correction: FloatArray, action: Action | None = None
    ) -> Schedule:
        """The recipe with the inputs measured up to ``now`` (h), and from then on the plan
        with the deviations seen over the last ``PERSIST_H`` hours carried forward; with
        ``action``, the plan and the deviations as the action would change them."""
        k = int(now)
        plan = self.plan
        if action is not None and action.kind == "harvest_shift" and action.value is not None:
            harvest = max(self.recipe.harvest_h + action.value, now + 1.0)
            plan = compile_recipe(ChoFedBatch, self.recipe.harvested_at(harvest))
        if action is not None and action.kind == "bolus" and action.medium and action.volume_L:
            medium = medium_vector(ChoFedBatch, self.recipe, action.medium)
            plan = with_bolus(plan, float(k), action.volume_L, medium)
        if action is not None and action.kind == "setpoint" and action.input:
            row = np.full((1, len(self.names)), np.nan)
            row[0, self.names.index(action.input)] = action.value
            plan = with_measured(plan, np.array([float(k), plan.t_end]), row)
        values = np.full((k, len(self.names)), np.nan)
        for name in ("T", "DO"):
            values[:, self.names.index(name)] = self.means[name][:k]
        values[:, self.names.index("pH")] = self.means["pH"][:k] - ph_correction
        values[:, self.names.index("F_feed")] = self.flows["feed_total"][:k]
        values[:, self.names.index("F_base")] = self.flows["base_total"][:k]
        as_run = with_measured(plan, self.edges[: k + 1], values)
        offset, factor = self._persisted(values, k)
        if action is not None and action.kind == "restore" and action.input:
            j = self.names.index(action.input)
            offset[j], factor[j] = 0.0, 1.0
        return with_persisted(as_run, float(k), offset, factor)

    def _persisted(self, values: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
        """Recent deviation of each measured input from the plan: offsets for the culture
        conditions and a ratio for the feed flow. Base addition is left at the plan's zero: it
        follows the acid the cells make, and a recent rate carried forward would only dilute the
        forecast."""
        offset = np.zeros(len(self.names))
        factor = np.ones(len(self.names))
        recent = slice(max(k - PERSIST_H, 0), k)
        if k == 0:
            return offset, factor
        hours = self.edges[recent] + 0.5
        plan = np.array([self.plan.inputs_at(float(h)) for h in hours])
        for name in ("T", "pH", "DO"):
            j = self.names.index(name)
            gap = values[recent, j] - plan[:, j]
            offset[j] = float(np.nanmean(gap)) if np.isfinite(gap).any() else 0.0
        j = self.names.index("F_feed")
        planned = float(np.sum(plan[:, j]))
        if planned > 0 and np.isfinite(values[recent, j]).all():
            factor[j] = float(np.clip(np.sum(values[recent, j]) / planned, 0.0, 2.0))
        return offset, factor


def _hourly_mean(record: PlantRecord, source: str, hours: FloatArray) -> FloatArray:
    times, values = record.series(source)
    idx = np.searchsorted(hours, times, side="right") - 1
    ok = (idx >= 0) & (idx < len(hours) - 1)
    sums = np.bincount(idx[ok], weights=values[ok], minlength=len(hours) - 1)
    counts = np.bincount(idx[ok], minlength=len(hours) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _hourly_rate(record: PlantRecord, source: str, hours: FloatArray) -> FloatArray:
    """Flow (L/h) over each hour from a totalizer (L)."""
    times, values = record.series(source)
    if len(times) < 2:
        return np.full(len(hours) - 1, np.nan)
    at = np.interp(hours, times, values)
    return np.maximum(np.diff(at), 0.0)


def _evidence(tracker: Tracker, since_h: float) -> list[str]:
    recent = [v for v in tracker.verdicts if v.used and v.measurement.time_h > since_h]
    recent.sort(key=lambda v: -abs(v.innovation_sd))
    return [
        f"{v.measurement.tag} at {v.measurement.time_h:.0f} h: {v.measurement.value:.3g} "
        f"({v.innovation_sd:+.1f} sd from the twin's prediction)"
        for v in recent[:3]
    ]
