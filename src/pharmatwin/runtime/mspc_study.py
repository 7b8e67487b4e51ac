"""Validation study of multivariate batch monitoring on the virtual bioreactor.

A batch evolution model (``monitoring.batch_models``) is trained on good batches (nominal
batches of seed ``train_seed`` that met every specification), its limits from them alone. It
then watches, hour by hour as it would online, good test batches of another seed and the
batches of every built-in fault scenario (``seeds`` realizations each, seed ``fault_seed``
plus the scenario's index, so that no two scenarios share plants; realization ``i`` of a seed
has its own random stream, as a different seed would):

* flagged: a fault batch alarmed at or after its fault's onset (runs counted from the onset's
  hour); an alarm before the onset is a false alarm and is counted apart (``early``);
* delay: hours from the onset to the end of the hour whose data completed the alarm;
* contribution hit: the variable with the largest relative contribution at the alarm is one
  the fault acts on (``mspc_batches.ACTS_ON``, declared from the fault definitions);
* false flags: good test batches with any alarm. Good batches are nominal batches that met
  every specification (training and test alike); the nominal batches that failed one are
  scored apart (an alarm on them is not false).

A batch level model (multiway PLS) trained on the same good batches predicts the end-of-batch
quality; its error on the good test batches is reported beside the spread of the quality.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pharmatwin.equipment.bioreactor.scenario import builtin_names
from pharmatwin.monitoring.batch_models import (
    BatchEvolutionModel,
    BatchLevelModel,
    Residuals,
    fit_bem,
    fit_blm,
)
from pharmatwin.monitoring.batch_online import BatchAlarm, OnlineSettings, first_alarm
from pharmatwin.runtime.mspc_batches import (
    ALL_VARIABLES,
    QUALITY,
    BatchSet,
    BatchVariable,
    TwinMonitor,
    good_batches,
    simulate_batches,
)


@dataclass(frozen=True)
class StudySettings:
    """The study's design.

    Attributes:
        train: good batches the models learn from.
        seeds: realizations of each fault scenario.
        good: nominal test batches (default ``5 * seeds``, at least 25); those that meet every
            specification are the good test batches.
        n_components, alpha, window, residuals, precision: of the batch evolution model
            (``precision``: use each variable's declared precision).
        consecutive: points in a row above a limit that raise an alarm.
        variables: columns of the batch matrices.
        train_seed, good_seed, fault_seed: scenario seeds of the three sets.
        scenarios: fault scenarios (default: every built-in one but ``nominal``).
        control_step_min: overrides the plant's control and probe period (None: as the
            scenarios say, 1 min).
        blm_components: components of the batch level model (None: cross-validated).
    """

    train: int = 30
    seeds: int = 10
    good: int | None = None
    n_components: int = 2
    alpha: float = 0.99
    window: int = 24
    residuals: Residuals = "hawkins"
    precision: bool = True
    consecutive: int = 6
    variables: tuple[BatchVariable, ...] = ALL_VARIABLES
    train_seed: int = 1000
    good_seed: int = 2000
    fault_seed: int = 3000
    scenarios: tuple[str, ...] | None = None
    control_step_min: float | None = None
    blm_components: int | None = None

    @property
    def nominal_batches(self) -> int:
        """Nominal test batches run; those that meet every specification are the good test
        batches (about 4 in 5), the others are reported apart."""
        return self.good if self.good is not None else max(25, 5 * self.seeds)

    @property
    def fault_scenarios(self) -> tuple[str, ...]:
        if self.scenarios is not None:
            return self.scenarios
        return tuple(n for n in builtin_names() if n != "nominal")


def _share(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else math.nan


@dataclass(frozen=True)
class BatchOutcome:
    """One test batch as the monitor saw it."""

    index: int
    alarm: BatchAlarm | None
    early: BatchAlarm | None
    delay_h: float
    hit: bool | None


@dataclass(frozen=True)
class ScenarioResult:
    """The monitor over the batches of one scenario."""

    scenario: str
    onset_h: float
    acts_on: tuple[str, ...]
    outcomes: tuple[BatchOutcome, ...]

    @property
    def flagged(self) -> float:
        """Share of the batches alarmed (at or after the onset, for a fault); NaN if none."""
        return _share([o.alarm is not None for o in self.outcomes])

    @property
    def early(self) -> float:
        """Share of the batches alarmed before their fault's onset."""
        return _share([o.early is not None for o in self.outcomes])

    @property
    def mean_delay_h(self) -> float:
        delays = [o.delay_h for o in self.outcomes if o.alarm is not None]
        return float(np.mean(delays)) if delays and not math.isnan(self.onset_h) else math.nan

    @property
    def hit_rate(self) -> float:
        """Share of the flagged batches whose top contribution names a variable the fault
        acts on."""
        return _share([o.hit for o in self.outcomes if o.hit is not None])

    def top_variables(self) -> dict[str, int]:
        return dict(Counter(o.alarm.top for o in self.outcomes if o.alarm is not None))


@dataclass
class StudyResult:
    """Everything the study measured."""

    settings: StudySettings
    good: ScenarioResult
    failed: ScenarioResult
    faults: list[ScenarioResult]
    bem: BatchEvolutionModel
    blm: BatchLevelModel
    quality_rmsep: dict[str, float] = field(default_factory=dict)
    quality_sd: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def fit_monitor(train: BatchSet, settings: StudySettings | None = None) -> BatchEvolutionModel:
    """The batch evolution model of the study's design, fitted on good batches."""
    s = settings or StudySettings()
    precision = np.array([v.precision for v in train.variables]) if s.precision else None
    return fit_bem(
        train.data,
        s.n_components,
        maturity=0.5 * (train.edges[:-1] + train.edges[1:]),
        variables=train.tags,
        alpha=s.alpha,
        window=s.window,
        residuals=s.residuals,
        precision=precision,
    )


def train_models(
    train: BatchSet, settings: StudySettings
) -> tuple[BatchEvolutionModel, BatchLevelModel]:
    """The BEM and the BLM fitted on good batches."""
    blm = fit_blm(
        train.data,
        train.quality,
        settings.blm_components,
        variables=train.tags,
        quality_names=QUALITY,
    )
    return fit_monitor(train, settings), blm


def twin_monitor(train: BatchSet, settings: StudySettings | None = None) -> TwinMonitor:
    """A monitor for ``TwinSettings.monitor``: the BEM trained on good batches, with the
    study's alarm rule."""
    s = settings or StudySettings()
    return TwinMonitor(
        fit_monitor(train, s), train.variables, OnlineSettings(consecutive=s.consecutive)
    )


def score_set(
    bem: BatchEvolutionModel, batches: BatchSet, online: OnlineSettings
) -> ScenarioResult:
    """Run the monitor over every batch of a set."""
    faulty = not math.isnan(batches.onset_h)
    start = int(np.searchsorted(batches.edges, batches.onset_h, side="right")) - 1 if faulty else 0
    outcomes = []
    for i in range(batches.size):
        x = batches.data[i]
        alarm = first_alarm(bem, x, online, start=max(start, 0))
        early = first_alarm(bem, x[:start], online) if faulty and start > 0 else None
        delay = math.nan
        hit: bool | None = None
        if alarm is not None and faulty:
            delay = float(batches.edges[alarm.bin + 1] - batches.onset_h)
            hit = alarm.top in batches.acts_on
        outcomes.append(BatchOutcome(i, alarm, early, delay, hit))
    return ScenarioResult(batches.scenario, batches.onset_h, batches.acts_on, tuple(outcomes))


def run_study(settings: StudySettings | None = None) -> StudyResult:
    """Simulate the batches, train on the good ones, score every test set."""
    s = settings or StudySettings()
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    step = s.control_step_min
    train = good_batches(s.train_seed, s.train, s.variables, step)
    nominal = simulate_batches("nominal", s.good_seed, s.nominal_batches, s.variables, step)
    good = nominal.select(np.flatnonzero(nominal.passed))
    faults = [
        simulate_batches(name, s.fault_seed + i, s.seeds, s.variables, step)
        for i, name in enumerate(s.fault_scenarios)
    ]
    seconds["simulate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    bem, blm = train_models(train, s)
    seconds["train"] = time.perf_counter() - clock
    clock = time.perf_counter()
    online = OnlineSettings(consecutive=s.consecutive)
    result = StudyResult(
        settings=s,
        good=score_set(bem, good, online),
        failed=score_set(bem, nominal.select(np.flatnonzero(~nominal.passed)), online),
        faults=[score_set(bem, f, online) for f in faults],
        bem=bem,
        blm=blm,
    )
    predicted = blm.predict(good.data)
    for j, name in enumerate(QUALITY):
        err = predicted[:, j] - good.quality[:, j]
        result.quality_rmsep[name] = float(np.sqrt(np.mean(err**2)))
        result.quality_sd[name] = float(np.std(good.quality[:, j], ddof=1))
    seconds["score"] = time.perf_counter() - clock
    result.seconds = seconds
    return result


def _number(value: float, digits: int = 4) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def study_document(result: StudyResult) -> dict[str, Any]:
    """The study's figures as a JSON-ready document."""
    s = result.settings
    return {
        "settings": {
            "train": s.train,
            "seeds": s.seeds,
            "nominal_test_batches": s.nominal_batches,
            "n_components": s.n_components,
            "residuals": s.residuals,
            "alpha": s.alpha,
            "window": s.window,
            "consecutive": s.consecutive,
            "variables": [v.tag for v in s.variables],
        },
        "good": {
            "batches": len(result.good.outcomes),
            "false_flag_fraction": _number(result.good.flagged),
        },
        "nominal_failing_specs": {
            "batches": len(result.failed.outcomes),
            "flagged_fraction": _number(result.failed.flagged),
        },
        "scenarios": {
            r.scenario: {
                "onset_h": r.onset_h,
                "acts_on": list(r.acts_on),
                "flagged_fraction": _number(r.flagged),
                "mean_delay_h": _number(r.mean_delay_h, 2),
                "top_contribution_hit_rate": _number(r.hit_rate),
                "early_alarm_fraction": _number(r.early),
                "top_variables": r.top_variables(),
            }
            for r in result.faults
        },
        "quality": {
            name: {
                "rmsep": _number(result.quality_rmsep[name]),
                "sd": _number(result.quality_sd[name]),
            }
            for name in result.quality_rmsep
        },
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
    }
