"""Plant data as the bioreactor twin reads it: online series and laboratory results.

A record comes from a virtual-plant run (one member) or from a historian-style file (the
``--out`` of ``pharmatwin simulate``). Reading a file screens the data: a sample that is NaN,
duplicated, out of time order, stuck (the same value for hours while the process moves) or off
by a unit factor is not used, and is listed with its reason instead.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pharmatwin.core.types import BoolArray, FloatArray
from pharmatwin.core.utc import parse_utc
from pharmatwin.equipment.bioreactor.records import PlantRun
from pharmatwin.equipment.bioreactor.sensors import AT_LINE, ONLINE, AtLineAssay

ONLINE_TAGS = {s.source: s.tag for s in ONLINE}

SOFT_SENSORS: tuple[AtLineAssay, ...] = (
    AtLineAssay("BR01.GLC.RAMAN", "glucose", "mM", absolute_sd=2.0, delay_h=0.0),
    AtLineAssay("BR01.LAC.RAMAN", "lactate", "mM", absolute_sd=2.0, delay_h=0.0),
)
"""Soft-sensor signals (Raman + PLS) read like laboratory results. Each result normally carries
its own sd (the calibration's prediction uncertainty); ``absolute_sd`` is used when it does not
(e.g. read back from a file): a conservative 2 mM, above the RMSEP of the Raman soft sensor."""

LAB_BY_TAG = {a.tag: a for a in (*AT_LINE, *SOFT_SENSORS)}


@dataclass(frozen=True)
class LabResult:
    """One laboratory value: tag, sample time, availability time (h) and value; ``sd`` is its
    own standard uncertainty when it has one (soft sensors), else None (the assay's figure)."""

    tag: str
    sample_h: float
    available_h: float
    value: float
    sd: float | None = None


@dataclass(frozen=True)
class Rejected:
    """A sample that was not used, and why."""

    tag: str
    time_h: float
    value: float
    reason: str


@dataclass
class PlantRecord:
    """Online series (one array per tag on its own time base) and laboratory results."""

    online: dict[str, tuple[FloatArray, FloatArray]]
    lab: list[LabResult]
    rejected: list[Rejected] = field(default_factory=list)
    start_utc: str = ""

    @classmethod
    def from_run(cls, run: PlantRun, member: int = 0) -> PlantRecord:
        online = {
            tag: (run.online_t, run.online[:, q, member].copy())
            for q, (tag, _) in enumerate(run.online_tags)
        }
        lab = [
            LabResult(r.tag, r.sample_h, r.available_h, float(r.values[member]))
            for r in run.at_line
        ]
        return cls(online=online, lab=lab)

    @classmethod
    def from_csv(cls, path: Path) -> PlantRecord:
        """Read the historian CSV written by ``pharmatwin simulate --out`` (one batch)."""
        rows: dict[str, list[tuple[float, float, float]]] = {}
        start = ""
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"batch_h", "tag", "value", "available_utc", "time_utc"} - set(
                reader.fieldnames or []
            )
            if missing:
                raise ValueError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
            first_time = None
            for line in reader:
                t = float(line["batch_h"])
                if first_time is None:
                    first_time, start = t, line["time_utc"]
                available = t + _hours_between(line["time_utc"], line["available_utc"])
                value = float(line["value"]) if line["value"] not in ("", "nan", "NaN") else np.nan
                rows.setdefault(line["tag"], []).append((t, available, value))
        return cls.from_rows(rows, start)

    @classmethod
    def from_rows(
        cls, rows: dict[str, list[tuple[float, float, float]]], start_utc: str = ""
    ) -> PlantRecord:
        """Screen rows ``tag -> [(time_h, available_h, value)]`` in file order."""
        record = cls(online={}, lab=[], start_utc=start_utc)
        for tag, samples in rows.items():
            kept = _screen(tag, samples, record.rejected)
            if tag in LAB_BY_TAG:
                record.lab += [LabResult(tag, t, a, v) for t, a, v in kept]
            else:
                times = np.array([t for t, _, _ in kept])
                values = np.array([v for _, _, v in kept])
                record.online[tag] = _screen_online(tag, times, values, record.rejected)
        record.lab.sort(key=lambda r: (r.available_h, r.sample_h, r.tag))
        return record

    def series(self, source: str) -> tuple[FloatArray, FloatArray]:
        """Times and values of the online probe reading ``source`` (``T``, ``pH``, ...)."""
        tag = ONLINE_TAGS[source]
        if tag not in self.online:
            raise KeyError(f"the record has no online tag {tag} ({source})")
        return self.online[tag]


def _hours_between(start: str, end: str) -> float:
    return (parse_utc(end) - parse_utc(start)).total_seconds() / 3600.0


def _screen(
    tag: str, samples: list[tuple[float, float, float]], rejected: list[Rejected]
) -> list[tuple[float, float, float]]:
    """Drop NaN, duplicated and out-of-order samples, recording why."""
    kept: list[tuple[float, float, float]] = []
    seen: dict[float, float] = {}
    last = -np.inf
    for t, a, v in samples:
        if not np.isfinite(v):
            rejected.append(Rejected(tag, t, v, "not a number"))
        elif t in seen:
            same = seen[t] == v
            reason = "duplicate timestamp" + ("" if same else f" with another value ({seen[t]:g})")
            rejected.append(Rejected(tag, t, v, reason))
        elif t < last:
            rejected.append(Rejected(tag, t, v, f"out of time order (after {last:g} h)"))
        else:
            kept.append((t, a, v))
            seen[t] = v
            last = t
    return kept


STUCK_HOURS = 2.0
"""A noisy probe that repeats one value for this long has stopped reading (h)."""

UNIT_FACTORS = (10.0, 1000.0)


def _screen_online(
    tag: str, times: FloatArray, values: FloatArray, rejected: list[Rejected]
) -> tuple[FloatArray, FloatArray]:
    """Flag stuck stretches and values off by a unit factor against their neighbourhood."""
    if len(values) < 5:
        return times, values
    keep = np.ones(len(values), dtype=bool)
    median = _rolling_median(values, 31)
    for factor in UNIT_FACTORS:
        for scale, word in ((factor, "high"), (1 / factor, "low")):
            off = np.isclose(values, median * scale, rtol=0.2) & (np.abs(median) > 0)
            for i in np.flatnonzero(off & keep):
                rejected.append(
                    Rejected(
                        tag,
                        float(times[i]),
                        float(values[i]),
                        f"{word} by a factor {factor:g}: wrong unit?",
                    )
                )
            keep &= np.logical_not(off)
    keep &= np.logical_not(_stuck(tag, times, values, rejected))
    return times[keep], values[keep]


def _stuck(tag: str, times: FloatArray, values: FloatArray, rejected: list[Rejected]) -> BoolArray:
    sensor = next((s for s in ONLINE if s.tag == tag), None)
    stuck = np.zeros(len(values), dtype=bool)
    if sensor is None or sensor.noise_sd == 0:
        return stuck  # totalizers legitimately hold still
    change = np.flatnonzero(np.diff(values) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(values)]])
    for a, b in zip(starts, ends, strict=True):
        if times[b - 1] - times[a] >= STUCK_HOURS:
            stuck[a:b] = True
            rejected.append(
                Rejected(
                    tag,
                    float(times[a]),
                    float(values[a]),
                    f"stuck at {values[a]:g} for {times[b - 1] - times[a]:.1f} h",
                )
            )
    return stuck


def _rolling_median(values: FloatArray, width: int) -> FloatArray:
    pad = width // 2
    padded = np.pad(values, pad, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    return np.asarray(np.median(windows, axis=1), dtype=float)
