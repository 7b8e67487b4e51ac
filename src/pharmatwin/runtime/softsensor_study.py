"""The Raman soft sensor on the virtual bioreactor: calibration, validation, and its worth to
the twin.

1. Calibration campaign: nominal batches (independent plant realizations from the calibration
   seeds) sampled every ``calibration_sampling_h`` for the at-line glucose and lactate assays
   (denser than the routine daily plan, as calibration runs are); the spectrum taken at each
   sample time is paired with the assay result (the reference method, with its own 3 % error),
   and ``monitoring.soft_sensor.calibrate`` chooses the pre-processing and components by
   leave-one-batch-out cross-validation.
2. Validation on independent batches (other seeds; nominal and every fault scenario): RMSEP of
   the predictions from spectra every ``every_h`` against the truth, beside the at-line assay's
   own error at the same truth (3 % relative, ``sensors.AT_LINE``), and the share of spectra
   the domain check flags.
3. The twin: the in-domain predictions become laboratory-like results (``BR01.GLC.RAMAN``,
   ``BR01.LAC.RAMAN``) with the sensor's own uncertainty, assimilated hourly between the daily
   assays; out-of-domain ones are listed as rejected with the reason. The twin's glucose error
   (RMSE of the belief mean against the truth over the batch hours) is measured with and without
   them, on the same plant data and the same twin seed.

The soft sensor's errors are correlated in time (each batch has its own instrument drift and
its own departure from the calibration batches), which a Kalman filter takes for independent
information. The uncertainty it is given, RMSECV sqrt(1 + h), already exceeds the RMSEP on
independent batches (RMSECV carries the reference assay's error); ``sd_inflation`` scales it
further (observation error inflation for correlated observations, as in data assimilation:
Liu & Rabier 2002, Q. J. R. Meteorol. Soc. 128:1367). Inflating by 2 or 3 made the twin's
glucose worse on average than 1 in our runs, so the default is 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pharmatwin.core.recipe import Recipe
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.raman import RamanInstrument, broth_at, raman_spectra
from pharmatwin.equipment.bioreactor.records import PlantRun
from pharmatwin.equipment.bioreactor.scenario import Scenario, builtin_names, load_scenario
from pharmatwin.equipment.bioreactor.sensors import AT_LINE
from pharmatwin.monitoring.soft_sensor import DEFAULT_CANDIDATES, SoftSensor, calibrate
from pharmatwin.monitoring.spectra import Preprocessing
from pharmatwin.runtime.bioreactor_twin import BioreactorTwin, TwinSettings
from pharmatwin.runtime.plant_record import LabResult, PlantRecord, Rejected

ANALYTES = ("glucose", "lactate")
RAMAN_TAGS = {"glucose": "BR01.GLC.RAMAN", "lactate": "BR01.LAC.RAMAN"}
ASSAY_TAGS = {"glucose": "BR01.GLC.LAB", "lactate": "BR01.LAC.LAB"}
ASSAY_RELATIVE_SD = {a.source: a.relative_sd for a in AT_LINE if a.source in ANALYTES}
"""The at-line assays' relative error (3 % for both): the figure the RMSEP is set against."""


@dataclass(frozen=True)
class StudySettings:
    """How the study runs.

    Attributes:
        calibration_seeds: seeds of the calibration campaign's plant runs.
        members_per_seed: plant realizations per calibration seed (each an independent batch).
        calibration_sampling_h: at-line sampling interval of the calibration batches, h.
        test_seeds: seeds of the validation batches (one realization each).
        scenarios: scenarios validated on (nominal and faults).
        every_h: spectra interval of the validation batches, h.
        twin_members: ensemble size of the twin.
        sd_inflation: factor on the sensor's uncertainty when the twin assimilates it.
        candidates: pre-processings tried by the calibration.
        max_components: most PLS components tried.
        alpha: confidence level of the domain check.
        instrument: the Raman analyser.
        workers: processes for the validation batches.
    """

    calibration_seeds: tuple[int, ...] = (9101, 9102)
    members_per_seed: int = 5
    calibration_sampling_h: float = 8.0
    test_seeds: tuple[int, ...] = (9201, 9202, 9203, 9204, 9205)
    scenarios: tuple[str, ...] = field(default_factory=lambda: tuple(builtin_names()))
    every_h: float = 1.0
    twin_members: int = 100
    sd_inflation: float = 1.0
    candidates: tuple[Preprocessing, ...] = DEFAULT_CANDIDATES
    max_components: int = 10
    alpha: float = 0.99
    instrument: RamanInstrument = field(default_factory=RamanInstrument)
    workers: int = 1

    def __post_init__(self) -> None:
        if not self.calibration_seeds or self.members_per_seed < 1:
            raise ValueError("calibration_seeds: at least one seed with one member is needed")
        if len(self.calibration_seeds) * self.members_per_seed < 3:
            raise ValueError("calibration_seeds: at least 3 calibration batches are needed")
        if set(self.calibration_seeds) & set(self.test_seeds):
            raise ValueError("test_seeds: must differ from the calibration seeds")
        for name in ("calibration_sampling_h", "every_h", "sd_inflation"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        if self.twin_members < 2:
            raise ValueError(f"twin_members: must be at least 2, got {self.twin_members}")


def spectra_rng(seed: int, member: int = 0) -> np.random.Generator:
    """The analyser's random stream for one batch (independent of the plant's own streams)."""
    return np.random.default_rng([seed, member, 0x5241])


def calibration_recipe(recipe: Recipe, every_h: float) -> Recipe:
    """``recipe`` with at-line samples every ``every_h`` hours (a calibration campaign)."""
    if recipe.sampling is None:
        raise ValueError("recipe.sampling: a calibration batch needs a sampling plan")
    sampling = recipe.sampling.model_copy(update={"every_h": every_h})
    return recipe.model_copy(update={"sampling": sampling})


def calibration_runs(settings: StudySettings) -> list[tuple[int, PlantRun]]:
    """The calibration campaign's plant runs, with their seeds."""
    nominal = load_scenario("nominal")
    recipe = calibration_recipe(nominal.recipe, settings.calibration_sampling_h)
    return [
        (seed, run_plant(_with(nominal, seed, recipe), members=settings.members_per_seed))
        for seed in settings.calibration_seeds
    ]


def calibration_set(
    runs: Sequence[tuple[int, PlantRun]], instrument: RamanInstrument
) -> tuple[FloatArray, FloatArray, dict[str, FloatArray], FloatArray]:
    """Wavenumbers, spectra at the at-line sample times, the assay results as references, and
    the batch of each spectrum."""
    spectra, groups = [], []
    refs: dict[str, list[FloatArray]] = {a: [] for a in ANALYTES}
    wavenumbers = instrument.wavenumbers()
    batch = 0
    for seed, run in runs:
        sample_h, _, _ = run.at_line_series(ASSAY_TAGS["glucose"])
        for m in range(run.members):
            x = _spectra_at(run, m, sample_h, spectra_rng(seed, m), instrument)
            spectra.append(x)
            for a in ANALYTES:
                refs[a].append(run.at_line_series(ASSAY_TAGS[a])[2][:, m])
            groups.append(np.full(len(sample_h), batch, dtype=float))
            batch += 1
    return (
        wavenumbers,
        np.vstack(spectra),
        {a: np.concatenate(v) for a, v in refs.items()},
        np.concatenate(groups),
    )


def calibrate_sensor(settings: StudySettings) -> SoftSensor:
    """Run the calibration campaign and calibrate the soft sensor on it."""
    wn, x, refs, groups = calibration_set(calibration_runs(settings), settings.instrument)
    return calibrate(
        wn,
        x,
        refs,
        groups,
        units=dict.fromkeys(ANALYTES, "mM"),
        candidates=settings.candidates,
        max_components=settings.max_components,
        alpha=settings.alpha,
    )


def soft_sensor_results(
    sensor: SoftSensor, times: FloatArray, spectra: FloatArray, sd_inflation: float = 1.0
) -> tuple[list[LabResult], list[Rejected]]:
    """The sensor's predictions as laboratory-like results (available when the spectrum is
    complete); spectra outside the calibration's domain are rejected with the reason."""
    p = sensor.predict(spectra)
    results: list[LabResult] = []
    rejected: list[Rejected] = []
    t2_lim, spe_lim = np.array(sensor.t2_limits), np.array(sensor.spe_limits)
    worst = np.argmax(np.maximum(p.t2 / t2_lim, p.spe / spe_lim), axis=1)
    for name in ANALYTES:
        j = sensor.names.index(name)
        tag = RAMAN_TAGS[name]
        for k, t in enumerate(times):
            value, sd = float(p.values[k, j]), float(p.sd[k, j])
            if p.in_domain[k]:
                results.append(LabResult(tag, float(t), float(t), value, sd * sd_inflation))
                continue
            w = int(worst[k])
            reason = (
                f"spectrum outside the calibration ({sensor.names[w]} model: T2 "
                f"{p.t2[k, w]:.3g}, limit {t2_lim[w]:.3g}; SPE {p.spe[k, w]:.3g}, limit "
                f"{spe_lim[w]:.3g})"
                if p.in_range[k]
                else "prediction outside the calibrated range (an extrapolation)"
            )
            rejected.append(Rejected(tag, float(t), value, reason))
    return results, rejected


def with_soft_sensor(
    record: PlantRecord, results: Sequence[LabResult], rejected: Sequence[Rejected] = ()
) -> PlantRecord:
    """A copy of ``record`` with the soft-sensor results among its laboratory results."""
    lab = sorted([*record.lab, *results], key=lambda r: (r.available_h, r.sample_h, r.tag))
    return PlantRecord(
        online=record.online,
        lab=lab,
        rejected=[*record.rejected, *rejected],
        start_utc=record.start_utc,
    )


def twin_glucose_error(
    run: PlantRun, record: PlantRecord, recipe: Recipe, settings: TwinSettings
) -> float:
    """RMSE (mM) of the twin's belief-mean glucose against the truth over the batch hours."""
    twin = BioreactorTwin(recipe, settings)
    session = twin.session()
    k = twin.model.state_index("Glc")
    hours, estimate = [], []
    for hour in session.hours():
        session.step(hour, record)
        hours.append(hour)
        estimate.append(float(session.tracker.belief.mean_state()[k]))
    truth = broth_at(run, np.array(hours))["glucose"][:, 0]
    return float(np.sqrt(np.mean((np.array(estimate) - truth) ** 2)))


@dataclass(frozen=True)
class BatchResult:
    """One validation batch.

    Attributes:
        scenario, seed: which batch.
        rmsep: RMSEP against the truth over every spectrum, mM, per analyte.
        rmsep_in_domain: the same over the spectra within the calibration's domain.
        assay_error: RMS error the at-line assay (3 %) would have at the same truth, mM.
        flagged: share of spectra outside the calibration's domain.
        twin_without, twin_with: the twin's glucose RMSE without and with the soft sensor, mM.
    """

    scenario: str
    seed: int
    rmsep: dict[str, float]
    rmsep_in_domain: dict[str, float]
    assay_error: dict[str, float]
    flagged: float
    twin_without: float
    twin_with: float


def evaluate_batch(
    sensor: SoftSensor, scenario_name: str, seed: int, settings: StudySettings
) -> BatchResult:
    """Run one validation batch: the sensor against the truth, and the twin without and with
    the sensor's results."""
    scenario = _with(load_scenario(scenario_name), seed)
    run = run_plant(scenario)
    times, _, spectra = raman_spectra(run, settings.every_h, spectra_rng(seed), settings.instrument)
    x = spectra[:, 0]
    truth = broth_at(run, times)
    p = sensor.predict(x)
    inside = p.in_domain
    rmsep, inner, assay = {}, {}, {}
    for name in ANALYTES:
        err = p.of(name)[0] - truth[name][:, 0]
        rmsep[name] = _rms(err)
        inner[name] = _rms(err[inside]) if inside.any() else float("nan")
        assay[name] = _rms(ASSAY_RELATIVE_SD[name] * truth[name][:, 0])
    twin_settings = TwinSettings(members=settings.twin_members, seed=seed)
    plain = PlantRecord.from_run(run)
    results, rejected = soft_sensor_results(sensor, times, x, settings.sd_inflation)
    fed = with_soft_sensor(plain, results, rejected)
    return BatchResult(
        scenario=scenario_name,
        seed=seed,
        rmsep=rmsep,
        rmsep_in_domain=inner,
        assay_error=assay,
        flagged=float(1.0 - inside.mean()),
        twin_without=twin_glucose_error(run, plain, scenario.recipe, twin_settings),
        twin_with=twin_glucose_error(run, fed, scenario.recipe, twin_settings),
    )


@dataclass(frozen=True)
class StudyResult:
    """The calibration and every validation batch."""

    sensor: SoftSensor
    batches: tuple[BatchResult, ...]

    def calibration(self) -> dict[str, Any]:
        s = self.sensor
        return {
            "preprocessing": s.preprocessing.to_dict(),
            "analytes": {
                a.name: {
                    "components": a.model.n_components,
                    "rmsecv": a.rmsecv,
                    "rmsec": a.rmsec,
                    "spectra": a.model.n_train,
                }
                for a in s.analytes
            },
        }

    def by_scenario(self) -> dict[str, dict[str, float]]:
        """Means over the seeds of each scenario (mM; ``flagged`` a fraction)."""
        out: dict[str, dict[str, float]] = {}
        for name in dict.fromkeys(b.scenario for b in self.batches):
            rows = [b for b in self.batches if b.scenario == name]
            figures: dict[str, float] = {}
            for a in ANALYTES:
                figures[f"rmsep_{a}"] = _rms(np.array([b.rmsep[a] for b in rows]))
                figures[f"assay_error_{a}"] = _rms(np.array([b.assay_error[a] for b in rows]))
            figures["flagged"] = float(np.mean([b.flagged for b in rows]))
            figures["twin_glucose_without"] = float(np.mean([b.twin_without for b in rows]))
            figures["twin_glucose_with"] = float(np.mean([b.twin_with for b in rows]))
            figures["twin_improved_share"] = float(
                np.mean([b.twin_with < b.twin_without for b in rows])
            )
            out[name] = figures
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibration": self.calibration(),
            "scenarios": self.by_scenario(),
            "batches": [asdict(b) for b in self.batches],
        }


def run_study(
    settings: StudySettings, progress: Callable[[BatchResult], None] | None = None
) -> StudyResult:
    """Calibrate, then validate on every scenario and test seed."""
    sensor = calibrate_sensor(settings)
    jobs = [(name, seed) for name in settings.scenarios for seed in settings.test_seeds]
    batches: list[BatchResult] = []
    if settings.workers <= 1:
        for name, seed in jobs:
            batches.append(evaluate_batch(sensor, name, seed, settings))
            if progress:
                progress(batches[-1])
    else:
        with ProcessPoolExecutor(max_workers=settings.workers) as pool:
            futures = [pool.submit(evaluate_batch, sensor, n, s, settings) for n, s in jobs]
            for future in futures:
                batches.append(future.result())
                if progress:
                    progress(batches[-1])
    return StudyResult(sensor, tuple(batches))


def _with(scenario: Scenario, seed: int, recipe: Recipe | None = None) -> Scenario:
    update: dict[str, Any] = {"seed": seed}
    if recipe is not None:
        update["recipe"] = recipe
    return scenario.model_copy(update=update)


def _spectra_at(
    run: PlantRun,
    member: int,
    times: FloatArray,
    rng: np.random.Generator,
    instrument: RamanInstrument,
) -> FloatArray:
    """Spectra of one member at ``times`` (the instrument drifts as over the whole batch)."""
    from pharmatwin.equipment.bioreactor.raman import synthesize

    drivers = {k: v[:, member : member + 1] for k, v in broth_at(run, times).items()}
    return synthesize(times, drivers, rng, instrument)[:, 0]


def _rms(values: FloatArray) -> float:
    return float(np.sqrt(np.mean(np.square(values))))
