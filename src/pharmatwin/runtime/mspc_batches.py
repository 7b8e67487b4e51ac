"""Batches of the virtual bioreactor as data for multivariate batch monitoring.

Each batch becomes a matrix (hour of the batch x variable): hourly means of the online probes
(temperature, pH, DO, weight as volume), the hourly feed and base flows from their totalizers
(L/h), and the at-line results, each held from the time it became available until the next one
(a delayed, daily measurement seen as the operator sees it). The at-line results are needed:
three of the fault scenarios are (nearly) invisible online by design. A drifting pH probe is
followed by the pH loop, so the online pH stays at its setpoint and only the at-line pH shows the
culture going acidic; a weak feed bag changes no online signal beyond the normal spread; a
sudden loss of cells shows online only as a DO excursion in some batches. With the online
variables alone (``ONLINE_VARIABLES``) the study flags none of the first two and 4 in 10 of the
third.

Alignment: by batch time, in one-hour bins. The recipe of the virtual bioreactor is time-based
(temperature shift at 120 h, feed from 24 h, glucose shots at 144/192/240 h, harvest at 336 h),
so every batch passes each recipe event at the same hour and time is an exact maturity. A
process indicator (cumulative feed, or volume) would be wrong here: it is what some faults act
on — a stopped feed pump would stop the maturity clock and hide itself — and dynamic time
warping would likewise warp a faulty trajectory towards the good ones. Online and at-line data
are taken exactly as the twin receives them, so one hour's row can be scored as it completes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from pharmatwin.core.types import BoolArray, FloatArray, IndexArray
from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.records import PlantRun
from pharmatwin.equipment.bioreactor.scenario import Scenario, load_scenario
from pharmatwin.equipment.bioreactor.sensors import AT_LINE, ONLINE
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.forecasting.alarms import Alarm
from pharmatwin.monitoring.batch_align import bin_increments, bin_means, held_values
from pharmatwin.monitoring.batch_models import BatchEvolutionModel
from pharmatwin.monitoring.batch_online import BatchMonitor, OnlineSettings
from pharmatwin.runtime.plant_record import PlantRecord

Kind = Literal["mean", "rate", "lab"]

_TAG = {s.source: s.tag for s in ONLINE}


@dataclass(frozen=True)
class BatchVariable:
    """One column of a batch matrix.

    Attributes:
        tag: the historian tag it is computed from (also its name in contributions).
        kind: ``mean`` (hourly mean of an online probe), ``rate`` (hourly increase of a
            totalizer, per hour) or ``lab`` (latest available at-line result).
        unit: unit of the values (before any logarithm).
        log_floor: if set, the column is ``ln(max(value, log_floor))``: for concentrations
            whose assay error is relative and whose batch-to-batch spread is multiplicative
            (lognormal), so that both become additive; the floor is about the assay's
            quantitation limit (a nutrient that runs out reads 0).
        precision: the smallest deviation that means something, in the column's units (for a
            log column, relative): the instrument's accuracy after calibration or the assay's
            error (``equipment.bioreactor.sensors``). Tightly controlled loops hold a variable
            far closer to its setpoint than the probe can vouch for; a deviation below this is
            not taken as evidence.
    """

    tag: str
    kind: Kind
    unit: str
    precision: float
    log_floor: float | None = None

    @property
    def label(self) -> str:
        """Tag plus what was done to it, for people (``BR01.FQ502.PV rate``)."""
        return self.tag if self.kind != "rate" else f"{self.tag} rate"


def _online(source: str, kind: Kind, unit: str, precision: float | None = None) -> BatchVariable:
    sensor = next(s for s in ONLINE if s.source == source)
    floor = max(sensor.bias_sd, sensor.resolution) if precision is None else precision
    return BatchVariable(sensor.tag, kind, unit, floor)


TOTALIZER_RATE_PRECISION = 0.01
"""L/h: one count of a totalizer's 0.01 L resolution over an hour."""

ONLINE_VARIABLES: tuple[BatchVariable, ...] = (
    _online("T", "mean", "degC"),
    _online("pH", "mean", "pH"),
    _online("DO", "mean", "%"),
    _online("V", "mean", "L"),
    _online("base_total", "rate", "L/h", TOTALIZER_RATE_PRECISION),
    _online("feed_total", "rate", "L/h", TOTALIZER_RATE_PRECISION),
)
"""The online probes, as hourly means and flows; precision: the probe's calibration spread."""

LOG_FLOORS = {
    "BR01.VCD.LAB": 0.01,
    "BR01.GLC.LAB": 0.1,
    "BR01.GLN.LAB": 0.05,
    "BR01.LAC.LAB": 0.1,
    "BR01.NH4.LAB": 0.05,
    "BR01.TITRE.LAB": 0.01,
}
"""Concentrations monitored on a log scale, with their floors (about each assay's limit of
quantitation: 1e4 cells/mL, 0.1 mM glucose and lactate, 0.05 mM glutamine and ammonia, 0.01 g/L
titre — typical analyser figures, assumed)."""

LAB_VARIABLES: tuple[BatchVariable, ...] = tuple(
    BatchVariable(
        a.tag,
        "lab",
        a.unit,
        a.relative_sd if a.tag in LOG_FLOORS else a.absolute_sd,
        LOG_FLOORS.get(a.tag),
    )
    for a in AT_LINE
)
"""The at-line assays (daily samples), each held from its availability; precision: the assay
error (relative, on the log scale)."""

ALL_VARIABLES = ONLINE_VARIABLES + LAB_VARIABLES

ACTS_ON: dict[str, tuple[str, ...]] = {
    "ph_probe_drift": (_TAG["pH"], _TAG["base_total"], "BR01.PH.LAB"),
    "temperature_control_failure": (_TAG["T"],),
    "feed_pump_failure": (_TAG["feed_total"], _TAG["V"]),
    "wrong_feed_concentration": ("BR01.GLC.LAB", "BR01.GLN.LAB"),
    "aeration_failure": (_TAG["DO"],),
    "viability_loss": ("BR01.VIAB.LAB", "BR01.VCD.LAB", _TAG["DO"]),
}
"""Variables each kind of fault acts on directly (see ``equipment.bioreactor.faults``):
the drifting pH probe, the pH loop's base pump it steers and the at-line pH that shows the true
pH; the temperature the stuck jacket drives; the feed flow and the volume it fills; the
glucose and glutamine a weak feed under-delivers; the DO the sparger holds; the cell count and
viability of the extra death, and the DO, which reads the oxygen uptake of the viable cells at
once (the only online measure of them). Only these direct effects: not what follows through the
cells' metabolism (lactate, ammonia, titre)."""

QUALITY = tuple(s.name for s in SPECIFICATIONS)
"""End-of-batch quality attributes: each specification's value (at harvest, or the worst
value over the batch for a path constraint)."""


def hour_edges(harvest_h: float) -> FloatArray:
    """Edges of the one-hour bins from 0 to the last whole hour before ``harvest_h``."""
    return np.arange(0.0, np.floor(harvest_h) + 1.0)


def batch_matrix(
    online: Mapping[str, tuple[FloatArray, FloatArray]],
    lab: Mapping[str, tuple[FloatArray, FloatArray]],
    edges: FloatArray,
    variables: Sequence[BatchVariable] = ALL_VARIABLES,
) -> FloatArray:
    """Batch matrices ``(n_hours, members, n_variables)`` from online series ``tag -> (times,
    values (n, members))`` and at-line results ``tag -> (available_h, values (n, members))``
    (in order of availability). A missing tag gives a NaN column."""
    widths = np.diff(edges)
    members = _members(online, lab)
    out = np.full((len(edges) - 1, members, len(variables)), np.nan)
    for j, v in enumerate(variables):
        if v.kind == "lab":
            if v.tag in lab:
                available, values = lab[v.tag]
                out[:, :, j] = held_values(available, values, edges)
        elif v.tag in online and len(online[v.tag][0]) >= 2:
            times, values = online[v.tag]
            if v.kind == "mean":
                out[:, :, j] = bin_means(times, values, edges)
            else:
                out[:, :, j] = bin_increments(times, values, edges) / widths[:, None]
        if v.log_floor is not None:
            out[:, :, j] = np.log(np.maximum(out[:, :, j], v.log_floor))
    return out


def _members(*series: Mapping[str, tuple[FloatArray, FloatArray]]) -> int:
    for mapping in series:
        for _, values in mapping.values():
            return int(np.asarray(values).reshape(len(values), -1).shape[1])
    raise ValueError("batch data: no online series and no laboratory results")


def run_matrices(
    run: PlantRun, edges: FloatArray, variables: Sequence[BatchVariable] = ALL_VARIABLES
) -> FloatArray:
    """Every member of a plant run as batch matrices ``(members, n_hours, n_variables)``."""
    online = {
        tag: (run.online_t, run.online[:, q, :]) for q, (tag, _) in enumerate(run.online_tags)
    }
    lab = {}
    for a in AT_LINE:
        _, available, values = run.at_line_series(a.tag)
        order = np.argsort(available, kind="stable")
        lab[a.tag] = (available[order], values[order])
    return np.transpose(batch_matrix(online, lab, edges, variables), (1, 0, 2))


def record_matrix(
    record: PlantRecord, edges: FloatArray, variables: Sequence[BatchVariable] = ALL_VARIABLES
) -> FloatArray:
    """One batch's record (as the twin reads it) as a batch matrix ``(n_hours, n_variables)``."""
    online = {tag: (t, v[:, None]) for tag, (t, v) in record.online.items()}
    lab: dict[str, tuple[FloatArray, FloatArray]] = {}
    for tag in {r.tag for r in record.lab}:
        rows = sorted((r for r in record.lab if r.tag == tag), key=lambda r: r.available_h)
        lab[tag] = (
            np.array([r.available_h for r in rows]),
            np.array([[r.value] for r in rows]),
        )
    return batch_matrix(online, lab, edges, variables)[:, 0, :]


@dataclass(frozen=True)
class BatchSet:
    """Batches of one scenario: their matrices, end-of-batch quality and what went wrong.

    Attributes:
        scenario: scenario name.
        seed: the scenario seed; batch ``i`` is realization ``i`` of that seed (its own
            random stream: plant parameters, probe calibration, noise).
        edges: hour bin edges, h, ``(n_hours + 1,)``.
        data: ``(n_batches, n_hours, n_variables)``.
        variables: the columns.
        quality: true end-of-batch quality ``(n_batches, len(QUALITY))``.
        passed: whether each batch met every specification (``SPECIFICATIONS``).
        onset_h: earliest fault onset, h (NaN: no fault).
        acts_on: tags of the variables the scenario's faults act on.
        ids: each batch's name, ``scenario/seed/member``.
    """

    scenario: str
    seed: int
    edges: FloatArray
    data: FloatArray
    variables: tuple[BatchVariable, ...]
    quality: FloatArray
    passed: BoolArray
    onset_h: float
    acts_on: tuple[str, ...]
    ids: tuple[str, ...]

    @property
    def size(self) -> int:
        return int(self.data.shape[0])

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(v.tag for v in self.variables)

    def select(self, mask: BoolArray | IndexArray) -> BatchSet:
        """The batches picked by a boolean mask or an index array."""
        return replace(
            self,
            data=self.data[mask],
            quality=self.quality[mask],
            passed=self.passed[mask],
            ids=tuple(np.asarray(self.ids, dtype=object)[mask]),
        )


def fault_targets(scenario: Scenario) -> tuple[str, ...]:
    """Tags of the variables the scenario's faults act on (``ACTS_ON``), in order, unique."""
    tags = [t for f in scenario.faults for t in ACTS_ON[f.kind]]
    return tuple(dict.fromkeys(tags))


def simulate_batches(
    scenario: str | Scenario,
    seed: int,
    batches: int,
    variables: Sequence[BatchVariable] = ALL_VARIABLES,
    control_step_min: float | None = None,
) -> BatchSet:
    """Run ``batches`` realizations of a scenario (one vectorized plant run) as a BatchSet;
    ``control_step_min`` overrides the scenario's control and probe period (a coarser plant
    runs faster: the reduced study in the tests)."""
    if batches < 1:
        raise ValueError(f"batches: need at least 1, got {batches}")
    base = load_scenario(scenario) if isinstance(scenario, str) else scenario
    update: dict[str, float] = {"seed": seed}
    if control_step_min is not None:
        update["control_step_min"] = control_step_min
    sc = Scenario.model_validate(base.model_dump() | update)
    run = run_plant(sc, members=batches)
    edges = hour_edges(sc.recipe.harvest_h)
    assessed = run.assess(SPECIFICATIONS)
    quality = np.stack([r.value for r in assessed], axis=1)
    passed = np.logical_and.reduce([r.passed for r in assessed])
    onset = min((f.onset_h for f in sc.faults), default=float("nan"))
    return BatchSet(
        scenario=sc.name,
        seed=seed,
        edges=edges,
        data=run_matrices(run, edges, variables),
        variables=tuple(variables),
        quality=np.asarray(quality, dtype=float),
        passed=np.asarray(passed, dtype=bool),
        onset_h=float(onset),
        acts_on=fault_targets(sc),
        ids=tuple(f"{sc.name}/{seed}/{m}" for m in range(batches)),
    )


GOOD_SHARE = 0.7
"""Share of nominal batches assumed to pass every specification when sizing a run (about
0.8 on the virtual plant; a run that falls short is topped up)."""


def good_batches(
    seed: int,
    count: int,
    variables: Sequence[BatchVariable] = ALL_VARIABLES,
    control_step_min: float | None = None,
) -> BatchSet:
    """``count`` good batches: nominal batches that met every specification, in realization
    order (a nominal batch can fail: the plant's parameters are drawn around the nominal ones).
    Realizations of ``seed`` first, then of ``seed + 1``, ... until there are enough."""
    if count < 1:
        raise ValueError(f"count: need at least 1, got {count}")
    parts: list[BatchSet] = []
    have = 0
    for extra in range(10):
        size = int(np.ceil((count - have) / GOOD_SHARE)) + 2
        batches = simulate_batches("nominal", seed + extra, size, variables, control_step_min)
        picked = batches.select(np.flatnonzero(batches.passed)[: count - have])
        parts.append(picked)
        have += picked.size
        if have >= count:
            break
    else:
        raise RuntimeError(f"good batches: only {have} of {count} nominal batches passed")
    first = parts[0]
    return replace(
        first,
        data=np.concatenate([p.data for p in parts]),
        quality=np.concatenate([p.quality for p in parts]),
        passed=np.concatenate([p.passed for p in parts]),
        ids=tuple(i for p in parts for i in p.ids),
    )


@dataclass(frozen=True)
class TwinMonitor:
    """A batch evolution model trained on good batches, and how a twin feeds it
    (``TwinSettings.monitor``): the columns it was trained on and the alarm rule."""

    model: BatchEvolutionModel
    variables: tuple[BatchVariable, ...] = ALL_VARIABLES
    online: OnlineSettings = field(default_factory=OnlineSettings)

    def __post_init__(self) -> None:
        tags = tuple(v.tag for v in self.variables)
        if tags != self.model.variables:
            raise ValueError(
                f"variables: {', '.join(tags)} do not match the model's "
                f"{', '.join(self.model.variables)}"
            )

    def start(self) -> RecordMonitor:
        """A fresh monitor for one batch."""
        return RecordMonitor(self)


class RecordMonitor:
    """Scores each completed hour of a running batch's record (the twin's data) with the BEM
    and turns its alarms into ``Alarm`` s of kind ``multivariate`` on the twin's timeline."""

    def __init__(self, spec: TwinMonitor) -> None:
        self.spec = spec
        self.monitor = BatchMonitor(spec.model, spec.online)
        self.raised: dict[str, Alarm] = {}

    def step(self, hour: float, record: PlantRecord) -> list[Alarm]:
        """Score the hour ``[hour - 1, hour)``; returns the alarms raised by it (an alarm
        that clears gets its ``cleared_at_h``)."""
        k = round(hour) - 1
        if not 0 <= k < self.spec.model.n_bins:
            return []
        row = record_matrix(record, np.array([k, k + 1.0]), self.spec.variables)[0]
        seen = self.monitor.observe(k, row)
        for name in seen.cleared:
            alarm = self.raised.pop(name, None)
            if alarm is not None:
                alarm.cleared_at_h = hour
        out = []
        for found in seen.raised:
            statistic = self.spec.model.statistic_name(found.statistic)
            alarm = Alarm(
                spec=f"batch evolution {statistic}",
                kind="multivariate",
                raised_at_h=hour,
                probability=1.0,
                predicted_violation_h=float("nan"),
                evidence=[
                    f"{statistic} {found.value:.3g} above its limit {found.limit:.3g} for "
                    f"{self.spec.online.consecutive} h",
                    *found.evidence(self.spec.online.top, statistic),
                ],
            )
            self.raised[found.statistic] = alarm
            out.append(alarm)
        return out
