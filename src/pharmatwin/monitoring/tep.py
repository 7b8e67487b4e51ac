"""The Tennessee Eastman monitoring study: static PCA, dynamic PCA and CVA on the Braatz data.

Data as distributed by Chiang, Russell & Braatz (2000): ``d00.dat`` normal operation for training
(stored transposed, 52 x 500), ``d00_te.dat`` normal test run, ``dNN_te.dat`` test runs with fault
NN introduced after sample 160 (960 samples of 3 min). Variables: XMEAS 1-22 and XMV 1-11
(33, the usual setup; Yin et al. 2012, J. Process Control 22:1567). Every scaling, model choice
(components, lags, states) and control limit comes from ``d00`` alone; the test runs are only
scored. False alarm rate: share of ``d00_te`` samples above the limit; detection rate: share of
the samples from 161 on (index 160) of each faulty run above it.

Models: static PCA (components by cross-validation), dynamic PCA (lags by AIC, components by
cross-validation) with F / Box limits; CVA (lags and states by AIC) with out-of-fold KDE limits
(see ``pharmatwin.monitoring.cva``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring.crossval import choose_components
from pharmatwin.monitoring.cva import STATISTICS, fit_cva
from pharmatwin.monitoring.dynamic import fit_dpca
from pharmatwin.monitoring.pca import fit_pca
from pharmatwin.monitoring.scaling import MonitoringInputError

COLUMNS: tuple[int, ...] = (*range(22), *range(41, 52))
"""Zero-based columns of XMEAS(1..22) and XMV(1..11) in the 52-column files."""
VARIABLES: tuple[str, ...] = tuple(
    [f"XMEAS({i})" for i in range(1, 23)] + [f"XMV({i})" for i in range(1, 12)]
)
FAULTS: tuple[int, ...] = tuple(range(1, 22))
UNDETECTABLE: tuple[int, ...] = (3, 9, 15)
"""Faults known to be practically invisible in these data (Chiang et al. 2000)."""
ONSET = 160
"""Index of the first faulty sample (sample 161) in the test runs."""
N_COLUMNS = 52


class TEPDataError(MonitoringInputError):
    """A data file is missing or has the wrong shape; the message names it."""


def read_run(path: Path) -> FloatArray:
    """One whitespace-separated data file as (samples, 52); a 52-row file is transposed."""
    if not path.is_file():
        raise TEPDataError(f"{path.name}: not found in {path.parent}")
    try:
        a = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise TEPDataError(f"{path.name}: not a numeric table ({exc})") from None
    if a.shape[1] != N_COLUMNS and a.shape[0] == N_COLUMNS:
        a = a.T
    if a.shape[1] != N_COLUMNS:
        raise TEPDataError(f"{path.name}: {a.shape[1]} columns, expected {N_COLUMNS}")
    if not np.isfinite(a).all():
        raise TEPDataError(f"{path.name}: non-finite values")
    return a


@dataclass(frozen=True)
class TEPData:
    """The 33 monitored variables of the training run, the normal test run and each fault."""

    train: FloatArray
    normal: FloatArray
    faults: dict[int, FloatArray]


def load_tep(folder: Path, faults: tuple[int, ...] = FAULTS) -> TEPData:
    """Read ``d00.dat``, ``d00_te.dat`` and ``dNN_te.dat`` from ``folder``."""
    if not folder.is_dir():
        raise TEPDataError(f"data: {folder} is not a folder")
    cols = list(COLUMNS)
    train = read_run(folder / "d00.dat")[:, cols]
    normal = read_run(folder / "d00_te.dat")[:, cols]
    runs = {f: read_run(folder / f"d{f:02d}_te.dat")[:, cols] for f in faults}
    short = [f for f, run in runs.items() if run.shape[0] <= ONSET]
    if short:
        raise TEPDataError(f"d{short[0]:02d}_te.dat: no samples after the fault onset {ONSET}")
    return TEPData(train, normal, runs)


@dataclass(frozen=True)
class Rates:
    """False alarm rate on the normal test run and detection rate of each fault (fractions)."""

    false_alarm_rate: float
    detection_rate: dict[int, float]

    def mean_detection(self, exclude: tuple[int, ...] = UNDETECTABLE) -> float:
        kept = [v for f, v in self.detection_rate.items() if f not in exclude]
        return float(np.mean(kept))

    def to_json(self) -> dict[str, object]:
        return {
            "false_alarm_rate": self.false_alarm_rate,
            "detection_rate": {str(f): v for f, v in sorted(self.detection_rate.items())},
        }


def _share_above(values: FloatArray, limit: float) -> float:
    v = values[np.isfinite(values)]
    return float(np.mean(v > limit)) if v.size else float("nan")


def rates(values: dict[int, FloatArray], limit: float) -> Rates:
    """Rates of one statistic from its per-sample values on each run (key 0 = normal test)."""
    detection = {f: _share_above(v[ONSET:], limit) for f, v in values.items() if f != 0}
    return Rates(_share_above(values[0], limit), detection)


def _runs(data: TEPData) -> dict[int, FloatArray]:
    return {0: data.normal, **data.faults}


@dataclass(frozen=True)
class StudySettings:
    """What was chosen from the training data (reported beside the rates)."""

    pca_components: int
    dpca_lags: int
    dpca_components: int
    cva_lags: int
    cva_states: int


def run_study(data: TEPData, alpha: float = 0.99) -> tuple[dict[str, Rates], StudySettings]:
    """Every method and statistic of the study, keyed ``pca-T2``, ``pca-SPE``, ``dpca-T2``,
    ``dpca-SPE``, ``cva-T2``, ``cva-Tr``, ``cva-Q``; limits at confidence ``alpha``."""
    out: dict[str, Rates] = {}
    runs = _runs(data)
    pca = fit_pca(data.train, choose_components(data.train))
    out["pca-T2"] = rates({f: pca.t2(r) for f, r in runs.items()}, pca.t2_limit(alpha))
    out["pca-SPE"] = rates({f: pca.spe(r) for f, r in runs.items()}, pca.spe_limit(alpha))
    dpca = fit_dpca(data.train)
    out["dpca-T2"] = rates({f: dpca.t2(r) for f, r in runs.items()}, dpca.t2_limit(alpha))
    out["dpca-SPE"] = rates({f: dpca.spe(r) for f, r in runs.items()}, dpca.spe_limit(alpha))
    cva = fit_cva(data.train)
    stats = {f: cva.statistics(r) for f, r in runs.items()}
    for name in STATISTICS:
        values = {f: s.get(name) for f, s in stats.items()}
        out[f"cva-{name}"] = rates(values, cva.limit(name, alpha))
    settings = StudySettings(
        pca.n_components, dpca.lags, dpca.pca.n_components, cva.lags, cva.n_states
    )
    return out, settings


def study_json(results: dict[str, Rates]) -> dict[str, dict[str, object]]:
    """``{METHOD: {"false_alarm_rate": f, "detection_rate": {"1": f, ..., "21": f}}}``."""
    return {name: r.to_json() for name, r in results.items()}
