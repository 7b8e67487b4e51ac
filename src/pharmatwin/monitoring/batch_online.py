"""Online monitoring of a running batch with a batch evolution model.

Each new observation (one maturity bin of the running batch) is scored against the BEM's limits
for its bin. A statistic alarms when it has stayed above its limit for ``consecutive`` points in
a row (a run rule, as in Western Electric / Nelson rules: a single point over a 99.9 % limit is
expected now and then over a long batch; a run of them is not), and the alarm clears after as
many points back within the limit. At the alarm, the contribution of each variable to the
statistic that alarmed points to the cause; variables are ranked by their contribution relative
to the good batches' mean contribution at that bin (contributions compared with their normal
level, as with contribution limits: Westerhuis, Gurden & Smilde 2000, Chemom. Intell. Lab.
Syst. 51:95), so that a variable that always scatters is not blamed for every alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pharmatwin.core.types import BoolArray, FloatArray
from pharmatwin.monitoring.batch_models import BatchEvolutionModel, BatchStatistics, Statistic
from pharmatwin.monitoring.scaling import MonitoringInputError

STATISTIC_NAMES: dict[str, str] = {"t2": "T²", "spe": "SPE"}


@dataclass(frozen=True)
class OnlineSettings:
    """How the online monitor alarms.

    Attributes:
        consecutive: points in a row above the limit that raise an alarm (and within it that
            clear it); 6 (hourly points) is what the bioreactor study validated
            (``runtime.mspc_study``).
        statistics: which statistics may alarm.
        top: how many variables to name as evidence.
    """

    consecutive: int = 6
    statistics: tuple[Statistic, ...] = ("t2", "spe")
    top: int = 3

    def __post_init__(self) -> None:
        if self.consecutive < 1:
            raise MonitoringInputError(f"consecutive: must be >= 1, got {self.consecutive}")
        if not self.statistics or any(s not in STATISTIC_NAMES for s in self.statistics):
            raise MonitoringInputError(f"statistics: choose from {', '.join(STATISTIC_NAMES)}")
        if self.top < 1:
            raise MonitoringInputError(f"top: must be >= 1, got {self.top}")


@dataclass(frozen=True)
class Contribution:
    """One variable's part in a statistic at one bin.

    Attributes:
        variable: its name.
        share: its contribution as a fraction of the statistic (T² contributions can be
            negative: the complete decomposition).
        relative: its absolute contribution over the good batches' mean at that bin.
    """

    variable: str
    share: float
    relative: float


@dataclass(frozen=True)
class BatchAlarm:
    """A statistic that stayed above its limit for the required run of points.

    Attributes:
        statistic: ``t2`` or ``spe``.
        bin: the bin at which the run was complete (the alarm's time); maturity: its maturity.
        value, limit: the statistic and its limit there.
        contributions: every variable, largest relative contribution first.
    """

    statistic: Statistic
    bin: int
    maturity: float
    value: float
    limit: float
    contributions: tuple[Contribution, ...]

    @property
    def top(self) -> str:
        """The variable with the largest relative contribution."""
        return self.contributions[0].variable

    def evidence(self, count: int = 3, name: str | None = None) -> list[str]:
        """Sentences for people: the top variables with their share of the statistic
        (``name``: how to call the statistic, default ``T²`` / ``SPE``)."""
        name = name or STATISTIC_NAMES[self.statistic]
        return [
            f"{c.variable} contributes {c.share:.0%} of {name} ({_times(c.relative)} its usual "
            "contribution at this point of the batch)"
            for c in self.contributions[:count]
        ]


def _times(ratio: float) -> str:
    return "over 1000 x" if ratio >= 1000 else f"{ratio:.3g} x"


def ranked_contributions(
    model: BatchEvolutionModel, stats: BatchStatistics, index: tuple[int, ...], statistic: Statistic
) -> tuple[Contribution, ...]:
    """Contributions of every variable at one observation (``index`` into the statistics'
    leading axes), largest relative contribution first."""
    c = stats.contributions(statistic)[index]
    value = float((stats.t2 if statistic == "t2" else stats.spe)[index])
    rel = stats.relative(statistic)[index]
    share = c / value if value > 0 else np.zeros_like(c)
    order = np.argsort(-rel, kind="stable")
    return tuple(Contribution(model.variables[j], float(share[j]), float(rel[j])) for j in order)


def run_lengths(flags: BoolArray) -> FloatArray:
    """Length of the run of True ending at each point along the last axis."""
    f = np.asarray(flags, dtype=bool)
    out = np.zeros(f.shape, dtype=float)
    run = np.zeros(f.shape[:-1])
    for k in range(f.shape[-1]):
        run = np.where(f[..., k], run + 1.0, 0.0)
        out[..., k] = run
    return out


def first_alarm(
    model: BatchEvolutionModel,
    batch: FloatArray,
    settings: OnlineSettings | None = None,
    start: int = 0,
) -> BatchAlarm | None:
    """The first alarm over a complete batch ``(n_bins, n_vars)``, counting runs from bin
    ``start`` on (e.g. a fault's onset, to score detection), or None."""
    s = settings or OnlineSettings()
    stats = model.evaluate(batch)
    best: tuple[int, Statistic] | None = None
    exceeded = stats.exceeded()
    for name in s.statistics:
        runs = run_lengths(exceeded[name][start:])
        hits = np.flatnonzero(runs >= s.consecutive)
        if hits.size and (best is None or hits[0] + start < best[0]):
            best = (int(hits[0]) + start, name)
    if best is None:
        return None
    k, name = best
    return _alarm(model, stats, k, (k,), name)


def _alarm(
    model: BatchEvolutionModel,
    stats: BatchStatistics,
    k: int,
    index: tuple[int, ...],
    name: Statistic,
) -> BatchAlarm:
    value = stats.t2[index] if name == "t2" else stats.spe[index]
    limit = stats.t2_limit[index] if name == "t2" else stats.spe_limit[index]
    return BatchAlarm(
        statistic=name,
        bin=k,
        maturity=float(model.maturity[k]),
        value=float(value),
        limit=float(limit),
        contributions=ranked_contributions(model, stats, index, name),
    )


@dataclass
class Observation:
    """What one new point of a running batch gave."""

    bin: int
    statistics: BatchStatistics
    above: dict[str, bool]
    raised: list[BatchAlarm] = field(default_factory=list)
    cleared: list[Statistic] = field(default_factory=list)


class BatchMonitor:
    """Scores a running batch point by point and keeps the run counters between points."""

    def __init__(self, model: BatchEvolutionModel, settings: OnlineSettings | None = None):
        self.model = model
        self.settings = settings or OnlineSettings()
        self.above = {s: 0 for s in self.settings.statistics}
        self.within = {s: 0 for s in self.settings.statistics}
        self.active: dict[Statistic, BatchAlarm] = {}
        self.last_bin = -1

    def observe(self, bin: int, x: FloatArray) -> Observation:
        """Score the observation ``x`` ``(n_vars,)`` of bin ``bin`` (bins in order)."""
        if bin <= self.last_bin:
            raise MonitoringInputError(f"bin: {bin} is not after the last one ({self.last_bin})")
        if not 0 <= bin < self.model.n_bins:
            raise MonitoringInputError(f"bin: {bin} is outside 0..{self.model.n_bins - 1}")
        row = np.asarray(x, dtype=float).reshape(1, -1)
        stats = self.model.evaluate(row, np.array([bin]))
        flags = stats.exceeded()
        out = Observation(bin, stats, {s: bool(flags[s][0]) for s in self.settings.statistics})
        n = self.settings.consecutive
        for name in self.settings.statistics:
            if out.above[name]:
                self.above[name] += 1
                self.within[name] = 0
            else:
                self.within[name] += 1
                self.above[name] = 0
            if name not in self.active and self.above[name] >= n:
                alarm = _alarm(self.model, stats, bin, (0,), name)
                self.active[name] = alarm
                out.raised.append(alarm)
            elif name in self.active and self.within[name] >= n:
                del self.active[name]
                out.cleared.append(name)
        self.last_bin = bin
        return out
