"""Insert throughput of the historian, against a bare sqlite3 baseline in the same run.

    .venv/bin/python -m bench.historian [--rows N] [--batch N] [--pg]

Writes ``--rows`` samples (100 tags, one value a second each) through
``Historian.write_columns`` in batches of ``--batch``, one transaction each, into a SQLite file
in a temporary folder (and, with ``--pg``, into a throwaway PostgreSQL server with its default,
durable settings). The baseline is a plain ``sqlite3`` ``executemany`` of the same rows into a
table with the same columns and no key, no checks, one commit per batch. It also times writing
the same batches again (all duplicates: the idempotency check). Runs alternate and the best of
each is reported; the ratios, measured side by side, are what to compare on a noisy machine.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pharmatwin.historian.store import Historian
from pharmatwin.historian.urls import open_historian

TARGET = 200_000
"""Samples per second into SQLite."""

Batch = tuple[NDArray[np.object_], NDArray[np.int64], NDArray[np.float64]]


def make_batches(rows: int, size: int, tags: int = 100) -> list[Batch]:
    """Blocks of ``size`` samples: ``tags`` tags, one value a second each, from 2026-01-05."""
    names = np.array([f"BR1.TAG{k:03d}.PV" for k in range(tags)], dtype=object)
    rng = np.random.default_rng(0)
    start = 1_767_571_200_000_000
    out = []
    for first in range(0, rows, size):
        index = np.arange(first, min(first + size, rows))
        times = start + (index // tags) * 1_000_000
        out.append((names[index % tags], times, rng.normal(7.0, 0.1, len(index))))
    return out


def time_historian(url: str, batches: list[Batch]) -> tuple[float, float]:
    """Seconds to write every batch into an empty historian, then to write them again."""
    with open_historian(url) as historian:
        first = _timed(historian, batches)
        again = _timed(historian, batches)
        assert historian.count() == sum(len(b[1]) for b in batches)
    return first, again


def _timed(historian: Historian, batches: list[Batch]) -> float:
    start = time.perf_counter()
    for tags, times, values in batches:
        historian.write_columns(tags, times, values)
    return time.perf_counter() - start


def time_baseline(path: Path, batches: list[Batch]) -> float:
    """Seconds for a bare ``executemany`` of the same rows (WAL, synchronous=NORMAL)."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        "CREATE TABLE samples (tag TEXT, time_us INTEGER, value REAL, quality INTEGER, "
        "available_us INTEGER)"
    )
    start = time.perf_counter()
    for tags, times, values in batches:
        n = len(times)
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO samples VALUES (?, ?, ?, ?, ?)",
            zip(tags.tolist(), times.tolist(), values.tolist(), [192] * n, [None] * n, strict=True),
        )
        connection.execute("COMMIT")
    seconds = time.perf_counter() - start
    connection.close()
    return seconds


def best_of(repeats: int, run: Callable[[int], tuple[float, ...]]) -> tuple[float, ...]:
    """The smallest time of each column over ``repeats`` runs."""
    results = [run(k) for k in range(repeats)]
    return tuple(min(column) for column in zip(*results, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--pg", action="store_true", help="also PostgreSQL (throwaway server)")
    args = parser.parse_args()
    batches = make_batches(args.rows, args.batch)
    with tempfile.TemporaryDirectory(prefix="pharmatwin-bench-") as folder:
        root = Path(folder)

        def sqlite_round(k: int) -> tuple[float, float, float]:
            ours, again = time_historian(f"sqlite:///{root / f'historian-{k}.db'}", batches)
            return ours, again, time_baseline(root / f"baseline-{k}.db", batches)

        ours, again, baseline = best_of(args.repeats, sqlite_round)
        rows = [
            ("sqlite3 executemany, bare table (baseline)", baseline),
            ("historian, SQLite", ours),
            ("historian, SQLite, same rows again (dups)", again),
        ]
        if args.pg:
            from pharmatwin.historian.pgserver import running_server

            with running_server() as server:
                pg, pg_again = best_of(args.repeats, lambda k: _pg_round(server.url, batches))
            rows += [
                ("historian, PostgreSQL", pg),
                ("historian, PostgreSQL, same rows again", pg_again),
            ]
    print(f"{args.rows:,} samples in batches of {args.batch:,}, best of {args.repeats}\n")
    print(f"{'run':<46}{'seconds':>9}{'samples/s':>13}{'vs baseline':>13}")
    for name, seconds in rows:
        rate = args.rows / seconds
        print(f"{name:<46}{seconds:>9.2f}{rate:>13,.0f}{baseline / seconds:>12.2f}x")
    rate = args.rows / ours
    verdict = "met" if rate >= TARGET else "NOT met"
    print(f"\ntarget: >= {TARGET:,} samples/s into SQLite -> {rate:,.0f} ({verdict})")


def _pg_round(url: str, batches: list[Batch]) -> tuple[float, float]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS samples, tags CASCADE")
        connection.execute("DROP TABLE IF EXISTS schema_version, batches, events CASCADE")
        connection.execute("DROP TABLE IF EXISTS quarantine, twin_outputs, checkpoints")
    return time_historian(url, batches)


if __name__ == "__main__":
    main()
