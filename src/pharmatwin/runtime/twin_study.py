"""Validation study of the bioreactor twin on the virtual plant.

For every built-in fault scenario and for the nominal scenario, over many seeds (each seed draws
a different plant: model mismatch, probe calibration, noise), the plant is run to harvest, the
twin replays its data, and the twin's forecasts and alarms are scored against the truth:

* false alarm rate: share of the nominal batches that pass every specification on which the
  twin raised any unjustified alarm (also reported over every passing batch, faulty ones
  included: a fault that ends within specification after all was still worth a warning, but it
  is counted). A process alarm on a passing batch is always false. A sensor alarm is false when
  the probe was in fact within its calibration tolerance (twice the spread left after
  calibration, e.g. 0.04 pH) when it was raised: the virtual probes drift a few thousandths of
  a pH unit per day of their own accord, and one that has drifted 0.08 pH by day 12 needs
  recalibrating, fault scenario or not;
* timely detection: share of failing batches alarmed for a failing specification at least
  ``lead_h`` before its first violation (harvest, for end-of-batch CQAs), and the median lead;
* final-titre forecast error (median absolute percentage error) on nominal batches at days 3, 7
  and 10, and the coverage of its 90 % prediction interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.operator import apply_action
from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.records import PlantRun
from pharmatwin.equipment.bioreactor.scenario import Scenario, builtin_names, load_scenario
from pharmatwin.equipment.bioreactor.sensors import ONLINE
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.forecasting.alarms import Alarm
from pharmatwin.forecasting.whatif import Recommendation
from pharmatwin.runtime.bioreactor_twin import BioreactorTwin, TwinRun, TwinSettings
from pharmatwin.runtime.plant_record import PlantRecord

CHECK_DAYS = (3, 7, 10)


@dataclass(frozen=True)
class BatchScore:
    """One batch: what the truth did and what the twin said."""

    scenario: str
    seed: int
    failed: tuple[str, ...]
    first_violation_h: float
    alarm_h: float
    false_alarm: bool
    final_titre: float
    titre_forecasts: tuple[tuple[float, float, float, float], ...]  # (t, p05, p50, p95)
    recommended: str | None = None
    recovered: bool | None = None
    recoverable: bool | None = None


def score_batch(
    scenario_name: str, seed: int, settings: TwinSettings, check_recovery: bool = False
) -> BatchScore:
    """Run one plant batch and the twin over its data; score the twin. With
    ``check_recovery``, also carry out the twin's top recommendation on the plant."""
    scenario = load_scenario(scenario_name).model_copy(update={"seed": seed})
    run = run_plant(scenario)
    truth = run.assess(SPECIFICATIONS)
    failed = tuple(r.spec.name for r in truth if not r.passed[0])
    first = min((float(r.first_violation_h[0]) for r in truth if not r.passed[0]), default=math.nan)
    twin = BioreactorTwin(scenario.recipe, settings).replay(PlantRecord.from_run(run))
    relevant = [a for a in twin.alarms if a.kind == "sensor" or a.spec in failed]
    alarm_h = min((a.raised_at_h for a in relevant), default=math.nan)
    titre = tuple(_titre_quantiles(fc.t, fc.spec("titre").value_quantiles) for fc in twin.forecasts)
    recommended = recovered = recoverable = None
    answer = _answer_to_fault(twin, min((f.onset_h for f in scenario.faults), default=0.0))
    if check_recovery and failed and answer is not None:
        at_h, ranked = answer
        actions = {a.name: a for a in settings.actions}
        recommended = ranked[0].action
        recovered = _meets_specs(apply_action(scenario, actions[recommended], at_h))
        recoverable = recovered or any(
            _meets_specs(apply_action(scenario, actions[r.action], at_h)) for r in ranked[1:]
        )
    return BatchScore(
        recommended=recommended,
        recovered=recovered,
        recoverable=recoverable,
        scenario=scenario_name,
        seed=seed,
        failed=failed,
        first_violation_h=first,
        alarm_h=alarm_h,
        false_alarm=not failed and any(_false(a, run) for a in twin.alarms),
        final_titre=float(run.output("titre")[-1, 0]),
        titre_forecasts=titre,
    )


def run_study(
    seeds: int,
    nominal_seeds: int,
    settings: TwinSettings,
    *,
    workers: int = 1,
    progress: Callable[[BatchScore], None] | None = None,
    recovery_seeds: int = 0,
    seed_offset: int = 0,
) -> list[BatchScore]:
    """Every fault scenario x ``seeds`` and the nominal scenario x ``nominal_seeds``; the
    first ``recovery_seeds`` seeds of each fault also check the top recommendation. Nominal
    batches take seeds 1000, 1001, ... and faulty ones 2000, 2001, ..., each plus
    ``seed_offset`` (another offset gives another set of plants, e.g. to check on batches
    that played no part in choosing the twin's settings)."""
    jobs = [("nominal", 1000 + seed_offset + k, False) for k in range(nominal_seeds)]
    jobs += [
        (name, 2000 + seed_offset + k, k < recovery_seeds)
        for name in builtin_names()
        if name != "nominal"
        for k in range(seeds)
    ]
    scores: list[BatchScore] = []
    if workers <= 1:
        for name, seed, check in jobs:
            scores.append(score_batch(name, seed, settings, check))
            if progress:
                progress(scores[-1])
        return scores
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(score_batch, name, seed, settings, check) for name, seed, check in jobs
        ]
        for future in futures:
            scores.append(future.result())
            if progress:
                progress(scores[-1])
    return scores


@dataclass(frozen=True)
class StudySummary:
    """The study's figures (shares as fractions, times in h)."""

    batches: int
    passing: int
    failing: int
    false_alarm_rate: float
    false_alarm_rate_all_passing: float
    timely_detection: float
    median_lead_h: float
    titre_mape: dict[int, float]
    coverage_90: float
    by_scenario: dict[str, dict[str, float]]
    recoverable: int = 0
    recovered_share: float = math.nan


def summarize(scores: list[BatchScore], lead_h: float = 24.0) -> StudySummary:
    passing = [s for s in scores if not s.failed]
    failing = [s for s in scores if s.failed]
    timely = [s for s in failing if s.alarm_h <= s.first_violation_h - lead_h]
    leads = [s.first_violation_h - s.alarm_h for s in failing if not math.isnan(s.alarm_h)]
    nominal = [s for s in scores if s.scenario == "nominal"]
    mape: dict[int, float] = {}
    inside = []
    for day in CHECK_DAYS:
        errors = []
        for s in nominal:
            _, p05, p50, p95 = _forecast_at(s, 24.0 * day)
            errors.append(abs(p50 / s.final_titre - 1))
            inside.append(p05 <= s.final_titre <= p95)
        mape[day] = float(np.median(errors)) if errors else math.nan
    by_scenario: dict[str, dict[str, float]] = {}
    for name in sorted({s.scenario for s in scores}):
        group = [s for s in scores if s.scenario == name]
        fails = [s for s in group if s.failed]
        by_scenario[name] = {
            "batches": len(group),
            "failing": len(fails),
            "alarmed_in_time": int(sum(s.alarm_h <= s.first_violation_h - lead_h for s in fails)),
            "false_alarms": int(sum(s.false_alarm for s in group)),
        }
    return StudySummary(
        batches=len(scores),
        passing=len(passing),
        failing=len(failing),
        false_alarm_rate=_share(
            sum(s.false_alarm for s in passing if s.scenario == "nominal"),
            sum(s.scenario == "nominal" for s in passing),
        ),
        false_alarm_rate_all_passing=_share(sum(s.false_alarm for s in passing), len(passing)),
        timely_detection=_share(len(timely), len(failing)),
        median_lead_h=float(np.median(leads)) if leads else math.nan,
        titre_mape=mape,
        coverage_90=_share(sum(inside), len(inside)),
        by_scenario=by_scenario,
        recoverable=sum(bool(s.recoverable) for s in scores),
        recovered_share=_share(
            sum(bool(s.recovered) for s in scores if s.recoverable),
            sum(bool(s.recoverable) for s in scores),
        ),
    )


def _answer_to_fault(twin: TwinRun, onset_h: float) -> tuple[float, list[Recommendation]] | None:
    """The twin's ranking in answer to a fault: the first one made when or after the twin first
    raised an alarm after the fault's onset (a ranking made on the schedule of an older alarm,
    before the twin had seen anything of the fault, is not an answer to it); without such an
    alarm, the first ranking after the onset."""
    raised = [a.raised_at_h for a in twin.alarms if a.raised_at_h > onset_h]
    since = min(raised, default=onset_h)
    answers = [r for r in twin.recommendations if r[0] > onset_h and r[0] >= since]
    return answers[0] if answers else None


def _meets_specs(scenario: Scenario) -> bool:
    run = run_plant(scenario)
    return all(bool(r.passed[0]) for r in run.assess(SPECIFICATIONS))


def _false(alarm: Alarm, run: PlantRun) -> bool:
    """On a batch that meets its specifications, a process alarm is false; a sensor alarm is
    false only if the probe was within its calibration tolerance when it was raised."""
    if alarm.kind != "sensor":
        return True
    sensor = next(s for s in ONLINE if s.tag == alarm.spec)
    return abs(probe_error(run, alarm.spec, alarm.raised_at_h)) < 2.0 * sensor.bias_sd


def probe_error(run: PlantRun, tag: str, t: float, window_h: float = 1.0) -> float:
    """What an online probe of the first realization got wrong over the ``window_h`` before
    ``t``: median of reading minus the true value of what it reads (its own unit)."""
    sensor = next(s for s in ONLINE if s.tag == tag)
    column = [name for name, _ in run.online_tags].index(tag)
    inside = (run.online_t > t - window_h) & (run.online_t <= t)
    truth = np.interp(run.online_t[inside], run.t, run.broth[sensor.source][:, 0])
    return float(np.median(run.online[inside, column, 0] - truth))


def _titre_quantiles(t: float, q: FloatArray) -> tuple[float, float, float, float]:
    return (t, float(q[0]), float(q[1]), float(q[2]))


def _forecast_at(score: BatchScore, t: float) -> tuple[float, float, float, float]:
    """The last forecast made at or before ``t``."""
    before = [f for f in score.titre_forecasts if f[0] <= t + 1e-9]
    return before[-1] if before else score.titre_forecasts[0]


def _share(count: int, total: int) -> float:
    return count / total if total else math.nan
