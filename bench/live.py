"""Latency and capacity of the live runtime over OPC UA, with baselines from the same run.

    .venv/bin/python -m bench.live [--twins N ...] [--quick]

A load server (``bench.live_load``: asyncua on 127.0.0.1, its own process) writes the virtual
plant's readings (``LivePlant(load_scenario("nominal"))``, member 0); this process runs the
``Runtime`` (one OPC UA source, historian in SQLite in a temporary folder, ``poll()`` every
``--poll-ms``). Wall-clock times (``time.time()``) of each server write, of each historian
commit (a sink wrapping the connector's) and of each poll give the figures.

1. Latency, one twin (``br01``: 200 members, a forecast every 6 h), ``--hours`` batch hours at
   ``--seconds-per-hour``. Latency of hour H = end of the ``poll()`` that stepped H (its belief
   is then stored) - write of the reading that completed H (the first reading at or past
   H + 0.1 h of the slowest online tag). Ingest latency = historian commit - write, against a
   bare asyncua subscription to the same nodes (receive - write) run alongside. Baseline: the
   same hours stepped by a ``LiveTwin`` alone, on a historian already holding their data.
2. Capacity: N assets BR01..BRnn (own tags, ``default_tags``), each with exactly 10 tags written
   once per wall second: the 6 online probes and 4 synthetic tags (agitator speed, jacket
   temperature, air flow, pressure; not read by the twin), plus the 8 laboratory results when
   due; the data's batch clock runs one batch minute per wall second (speed 60, the plant's
   one-minute sampling), so each twin steps one batch hour per wall minute. Twins of
   ``--members`` members. Batch starts are staggered so the N hour-1 steps fall evenly over
   the level (batches that started at different times; data due before the level are written
   at its start). A level keeps up when every due step was taken, every sample stored, and the
   p99 of both sample latency (write -> commit, after ``--warmup-s``) and step latency are
   under 1 s. The ramp stops at the first level that does not. Baseline: a LiveTwin of the
   same size stepping hours 1-6 alone, and hours ``--late-h``.. (the cost grows with the hour).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench.live_load import (
    PREFIX,
    SYNTHETIC,
    Feed,
    LoadPlan,
    Measured,
    Reading,
    run_phase,
    with_synthetic,
)
from pharmatwin.connectors.tagmap import TagMapping
from pharmatwin.equipment.bioreactor.live import LivePlant
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.equipment.bioreactor.sensors import ONLINE
from pharmatwin.historian.records import Batch, TagInfo, to_us
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import Asset, default_tags, load_asset
from pharmatwin.runtime.live_twin import LAG_H, LiveTwin

START = datetime(2026, 1, 5, 6, tzinfo=UTC)
"""Every batch's start (``live_load.START_UTC``)."""
LIMIT_S = 1.0
TARGET_TWINS = 50
HOUR_US, LAG_US = 3_600_000_000, round(LAG_H * 3_600_000_000)


@dataclass(frozen=True)
class Settings:
    hours: int
    seconds_per_hour: float
    levels: tuple[int, ...]
    level_s: float
    warmup_s: float
    members: int
    poll_s: float
    late_h: int
    folder: Path


def capacity_asset(name: str, members: int) -> Asset:
    """``br01`` renamed, its own tags plus the synthetic ones, ``members`` members."""
    base = load_asset("br01")
    extra = [
        TagMapping(source=f"{PREFIX}{name}.{s}", tag=f"{name}.{s}", unit=u, description=d)
        for s, u, d, _, _ in SYNTHETIC
    ]
    twin = base.twin.model_copy(update={"members": members})
    tags = default_tags(name, PREFIX) + extra
    return base.model_copy(update={"name": name, "tags": tags, "twin": twin})


def step_alone(
    asset: Asset, readings: Sequence[Reading], hours: Sequence[int], db: Path
) -> dict[int, float]:
    """Seconds of ``LiveTwin.poll`` stepping each of ``hours`` (consecutive) alone: before
    each poll the historian gets the readings that complete the hour (earlier hours are
    stepped first, untimed)."""
    out: dict[int, float] = {}
    with open_historian(f"sqlite:///{db}") as store:
        maps = asset.tag_map("")
        store.ensure_tags([TagInfo(m.tag, m.unit, asset.name, m.description) for m in maps])
        batch = Batch(batch_id="alone", asset=asset.name, recipe=asset.recipe.name, start=START)
        store.start_batch(batch)
        twin = LiveTwin(asset, batch, store)
        tag_of = {m.signal or m.tag: m.tag for m in maps}
        synthetic = any(m.tag.endswith(SYNTHETIC[0][0]) for m in maps)
        readings = with_synthetic(readings) if synthetic else readings
        tag_of.update({f"BR01.{t[0]}": f"{asset.name}.{t[0]}" for t in SYNTHETIC})
        start_us, done = to_us(START), -1.0

        def put(until_h: float) -> None:
            nonlocal done
            rows = [r for r in readings if done < r[2] <= until_h and r[0] in tag_of]
            store.write_columns(
                np.array([tag_of[r[0]] for r in rows], dtype=object),
                np.array([start_us + round(r[1] * HOUR_US) for r in rows], dtype=np.int64),
                np.array([r[3] for r in rows], dtype=np.float64),
                available_us=np.array([start_us + round(r[2] * HOUR_US) for r in rows]),
            )
            done = until_h

        margin = LAG_H + 1.5 / 60  # a minute past the need: LiveTwin rounds in floating point
        if hours[0] > 1:
            put(hours[0] - 1 + margin)
            twin.poll()
        for hour in hours:
            put(hour + margin)
            began = time.perf_counter()
            stepped = [r.hour for r in twin.poll()]
            out[hour] = time.perf_counter() - began
            if stepped != [hour]:
                raise RuntimeError(f"alone: expected to step hour {hour}, stepped {stepped}")
    return out


def _written(m: Measured, since: float, until: float) -> dict[tuple[str, int], float]:
    """(node name, source us) -> wall time of the server's write, for writes in the span."""
    log = m.log
    pick = (log.wall >= since) & (log.wall <= until)
    rows = zip(log.index[pick], log.source_us[pick], log.wall[pick], strict=True)
    return {(log.names[k], int(t)): float(w) for k, t, w in rows}


def sample_latencies(m: Measured, since: float, until: float) -> tuple[NDArray[np.float64], int]:
    """Commit - write of every sample written in [since, until], and how many were never
    stored."""
    written = _written(m, since, until)
    out = []
    for samples, wall in m.stored:
        for sample in samples:
            w = written.pop((sample.tag.removeprefix(PREFIX), to_us(sample.time)), None)
            if w is not None:
                out.append(wall - w)
    return np.array(out), len(written)


def bare_latencies(m: Measured) -> NDArray[np.float64]:
    """Receive - write of every value the bare subscriber got."""
    written = _written(m, -np.inf, np.inf)
    return np.array([w - written[(n, t)] for n, t, w in m.bare if (n, t) in written])


def step_latencies(
    m: Measured, assets: Sequence[str], since: float, until: float
) -> tuple[dict[tuple[str, int], float], int]:
    """(asset, hour) -> step latency for every hour completed in [since, until], and how
    many of those hours were not stepped by the end."""
    log, start_us = m.log, to_us(START)
    order = np.argsort(log.index, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(log.index, minlength=len(log.names)))])
    rows = {name: order[bounds[k] : bounds[k + 1]] for k, name in enumerate(log.names)}
    out: dict[tuple[str, int], float] = {}
    missed = 0
    for asset in assets:
        tags = [rows[f"{asset}.{s.tag.split('.', 1)[1]}"] for s in ONLINE]
        hour = 1
        while True:
            need = start_us + hour * HOUR_US + LAG_US
            if any(len(r) == 0 or log.source_us[r[-1]] < need for r in tags):
                break
            firsts = [r[np.searchsorted(log.source_us[r], need)] for r in tags]
            completed = max(float(log.wall[i]) for i in firsts)
            if since <= completed <= until:
                stepped = m.steps.get((asset, float(hour)))
                if stepped is None:
                    missed += 1
                else:
                    out[(asset, hour)] = stepped - completed
            hour += 1
    return out, missed


def pct(values: Any, q: float) -> float:
    array = np.asarray(values, dtype=float)
    return float(np.percentile(array, q)) if array.size else float("nan")


def ms(values: Any) -> str:
    """``p50/p99`` in ms."""
    return f"{pct(values, 50) * 1e3:.0f}/{pct(values, 99) * 1e3:.0f}"


def latency_run(s: Settings, readings: tuple[Reading, ...]) -> dict[str, Any]:
    """Part 1: one twin, OPC UA value change -> belief stored."""
    asset = load_asset("br01")
    speed = 3600.0 / s.seconds_per_hour
    until_s = (s.hours + LAG_H + 2 / 60) * s.seconds_per_hour
    kept = tuple(r for r in readings if r[2] <= s.hours + 0.5)
    alone = step_alone(asset, kept, range(1, s.hours + 1), s.folder / "alone-200.db")
    plan = LoadPlan((Feed(asset.name, to_us(START), 0.0),), kept, speed, until_s)
    m = run_phase(plan, [asset], s.folder / "latency.db", poll_s=s.poll_s, bare=True, tail_s=3.0)
    steps, missed = step_latencies(m, [asset.name], m.go, m.go + until_s)
    ingest, lost = sample_latencies(m, m.go, m.end - 1.0)
    bare = bare_latencies(m)
    lat = np.array(list(steps.values()))
    cost = np.array([alone[h] for _, h in steps])
    print(
        f"\n1. OPC UA -> belief, one twin ({asset.twin.members} members, forecast every "
        f"{asset.twin.forecast_every_h:g} h), {s.hours} batch hours at {s.seconds_per_hour:g} "
        f"s/h (speed {speed:g}), poll every {s.poll_s * 1e3:g} ms"
    )
    print(f"   {'ms':<46}{'p50':>8}{'p99':>8}{'max':>8}{'n':>7}")
    for label, values in (
        ("OPC UA write -> belief stored (step latency)", lat),
        ("  baseline: LiveTwin step alone, same hours", cost),
        ("OPC UA write -> historian commit (ingest)", ingest),
        ("  baseline: bare asyncua subscription", bare),
    ):
        top = float(np.max(values)) * 1e3 if len(values) else float("nan")
        print(
            f"   {label:<46}{pct(values, 50) * 1e3:>8.0f}{pct(values, 99) * 1e3:>8.0f}"
            f"{top:>8.0f}{len(values):>7}"
        )
    print(
        f"   ratios (p50): step latency / step alone {pct(lat, 50) / pct(cost, 50):.1f}x, "
        f"ingest / bare {pct(ingest, 50) / pct(bare, 50):.1f}x; hours not stepped: {missed}, "
        f"samples not stored: {lost}; runtime CPU {m.cpu * 100:.0f} % of a core "
        f"(with the bare subscriber); errors: {len(m.errors)}"
    )
    slow = sorted(steps.items(), key=lambda kv: -kv[1])[:3]
    print("   slowest hours: " + ", ".join(f"{h} h {v * 1e3:.0f} ms" for (_, h), v in slow))
    return {"p50": pct(lat, 50), "p99": pct(lat, 99), "n": len(lat), "ingest": ingest}


@dataclass(frozen=True)
class Level:
    n: int
    rate: float
    samples: NDArray[np.float64]
    lost: int
    steps: NDArray[np.float64]
    due: int
    missed: int
    polls: list[float]
    cpu: float
    server_cpu: float
    server_lag: float
    errors: int

    @property
    def kept_up(self) -> bool:
        return (
            self.missed == 0
            and self.lost == 0
            and self.errors == 0
            and self.due == self.n
            and pct(self.samples, 99) < LIMIT_S
            and pct(self.steps, 99) < LIMIT_S
        )


def run_level(n: int, s: Settings, readings: tuple[Reading, ...]) -> Level:
    """N twins, 10 tags each at 1 Hz, speed 60; hour-1 steps spread over the level."""
    assets = [capacity_asset(f"BR{k + 1:02d}", s.members) for k in range(n)]
    first, last = s.warmup_s + 2.0, s.level_s - 5.0  # when the hour-1 steps fall due
    to_hour_1 = (1.0 + LAG_H) * 60.0  # wall s from batch time 0 to hour 1's last reading
    feeds = tuple(
        Feed(a.name, to_us(START), first - to_hour_1 + (last - first) * k / n)
        for k, a in enumerate(assets)
    )
    kept = tuple(r for r in readings if r[2] <= (s.level_s + to_hour_1) / 60.0 + 0.1)
    plan = LoadPlan(feeds, kept, 60.0, s.level_s, synthetic=True)
    m = run_phase(plan, assets, s.folder / f"level-{n}.db", poll_s=s.poll_s, bare=False, tail_s=0.0)
    since = m.go + s.warmup_s
    samples, lost = sample_latencies(m, since, m.end - 1.0)
    steps, missed = step_latencies(m, [a.name for a in assets], since, m.end - 1.0)
    stored = sum(len(b) for b, wall in m.stored if since <= wall <= m.end)
    late = m.log.lag[m.log.wall >= since]
    return Level(
        n,
        stored / (m.end - since),
        samples,
        lost,
        np.array(list(steps.values())),
        len(steps) + missed,
        missed,
        m.polls,
        m.cpu,
        m.log.cpu_s / max(m.log.span_s, 1e-9),
        pct(late, 99),
        len(m.errors),
    )


def capacity_run(s: Settings, readings: tuple[Reading, ...]) -> list[Level]:
    """Part 2: ramp the number of twins until one level does not keep up."""
    alone_asset = capacity_asset("BR01", s.members)
    early = step_alone(alone_asset, readings, range(1, 7), s.folder / "alone-early.db")
    late = (
        step_alone(alone_asset, readings, range(s.late_h, s.late_h + 6), s.folder / "late.db")
        if s.late_h
        else {}
    )
    print(
        f"\n2. capacity: N assets x 10 tags written at 1 Hz (6 online + 4 synthetic; plus lab "
        f"results when due), batch clock 1 min per wall s (speed 60), twins of {s.members} "
        f"members, poll every {s.poll_s * 1e3:g} ms, {s.level_s:g} s per level, latencies "
        f"after {s.warmup_s:g} s"
    )
    for label, costs in (("hours 1-6", early), (f"hours {s.late_h}-{s.late_h + 5}", late)):
        if costs:
            mean = float(np.mean(list(costs.values())))
            print(
                f"   baseline, LiveTwin step alone, {label}: "
                + " ".join(f"{v * 1e3:.0f}" for v in costs.values())
                + f" ms; mean {mean * 1e3:.0f} ms -> {60.0 / mean:.0f} twins per core at one "
                "step a minute"
            )
    hour_1 = early[1]
    print(
        f"   {'N':>4}{'samples/s':>11}{'sample ms':>11}{'steps':>8}{'step ms':>10}"
        f"{'/alone':>8}{'poll ms':>9}{'CPU %':>7}{'server':>8}{'lag ms':>8}  kept up"
    )
    print(f"   {'':>4}{'':>11}{'p50/p99':>11}{'':>8}{'p50/p99':>10}{'p50':>8}{'p50/p99':>9}")
    print(
        "   (/alone: step latency over the hour-1 step alone; CPU: this process, 100 % = one "
        "core; server: the load server's CPU; lag: its p99 lateness on its schedule)"
    )
    levels: list[Level] = []
    for n in s.levels:
        level = run_level(n, s, readings)
        levels.append(level)
        print(
            f"   {n:>4}{level.rate:>11.0f}{ms(level.samples):>11}"
            f"{f'{level.due - level.missed}/{level.due}':>8}{ms(level.steps):>10}"
            f"{pct(level.steps, 50) / hour_1:>7.1f}x{ms(level.polls):>9}{level.cpu * 100:>7.0f}"
            f"{level.server_cpu * 100:>7.0f}%{level.server_lag * 1e3:>8.0f}  "
            f"{'yes' if level.kept_up else 'NO'}"
            + (f" ({level.lost} samples not stored)" if level.lost else "")
            + (f" ({level.errors} poll errors)" if level.errors else ""),
            flush=True,
        )
        if not level.kept_up:
            break
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--twins", type=int, nargs="+", help="capacity levels (N twins)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (~1 min)")
    parser.add_argument("--hours", type=int, help="batch hours of the latency run")
    parser.add_argument("--seconds-per-hour", type=float, help="latency run's pace")
    parser.add_argument("--members", type=int, default=50, help="twin members, capacity")
    parser.add_argument("--level-s", type=float, help="seconds per capacity level")
    parser.add_argument("--warmup-s", type=float, help="first seconds of a level not counted")
    parser.add_argument("--poll-ms", type=float, default=50.0)
    parser.add_argument("--late-h", type=int, help="late hours of the baseline (0: none)")
    args = parser.parse_args()
    quick = args.quick
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pharmatwin-bench-live-") as folder:
        s = Settings(
            hours=args.hours or (6 if quick else 24),
            seconds_per_hour=args.seconds_per_hour or (1.0 if quick else 2.5),
            levels=tuple(args.twins or ((5, 10) if quick else (10, 25, 50, 75, 100))),
            level_s=args.level_s or (15.0 if quick else 70.0),
            warmup_s=args.warmup_s or (3.0 if quick else 10.0),
            members=args.members,
            poll_s=args.poll_ms / 1e3,
            late_h=(0 if quick else 120) if args.late_h is None else args.late_h,
            folder=Path(folder),
        )
        until_h = max(s.hours + 1, s.late_h + 7, 4)
        plant = LivePlant(load_scenario("nominal"))
        readings = tuple(
            (r.tag, r.time_h, r.available_h, r.value) for r in plant.readings_between(-1, until_h)
        )
        latency = latency_run(s, readings)
        levels = capacity_run(s, readings)
    kept = [lv.n for lv in levels if lv.kept_up]
    best = max(kept) if kept else 0
    print(f"\nsummary ({time.monotonic() - began:.0f} s)")
    print(
        f"  OPC UA value change -> twin belief stored: p50 {latency['p50'] * 1e3:.0f} ms, "
        f"p99 {latency['p99'] * 1e3:.0f} ms ({latency['n']} hour steps; ingest p50/p99 "
        f"{ms(latency['ingest'])} ms)"
    )
    verdict = "met" if best >= TARGET_TWINS else "NOT met"
    if best == max(s.levels) < TARGET_TWINS:
        verdict = "not reached by these levels"
    if best == max(s.levels):
        verdict += "; every level kept up: the limit is above the last"
    print(
        f"  max twins with p99 < {LIMIT_S:g} s: {best} (levels "
        f"{', '.join(map(str, s.levels))}; target >= {TARGET_TWINS}: {verdict})"
    )


if __name__ == "__main__":
    main()
