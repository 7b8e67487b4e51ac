"""Speed of the audit trail: appending records and verifying a long chain, against baselines
measured in the same run.

    .venv/bin/python -m bench.audit [--quick] [--pg] [--appends N] [--chain N]

a. Append ``--appends`` records (default 10,000; 1,000 with ``--quick``) through
   ``AuditTrail.append``, one transaction each (as the service does). Baseline: plain INSERTs of
   the same rows, one transaction each, into a table with the same columns and no hashing, no
   chain head lookup, no checks.
b. Verify a chain of ``--chain`` records (default 1,000,000; 100,000 with ``--quick``) with
   ``AuditTrail.verify`` (streamed in chunks of 10,000). Baseline: a bare SELECT streaming the
   same rows in seq order without checking them. The chain is built beforehand in bulk (its
   hashes computed as ``append`` computes them); that time is shown but not compared.

SQLite file in a temporary folder (WAL, synchronous=NORMAL, as the historian); with ``--pg``
also a throwaway PostgreSQL server with its default, durable settings. Times are the best of
``--repeats``, ours and the baseline run in turn; the ratios, measured side by side, are what
to compare on a noisy machine.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.audit_schema import AUDIT_COLUMNS, GENESIS_HASH, StoredRow, record_hash

START_US = 1_767_592_800_000_000  # 2026-01-05T06:00:00Z
_INSERT = f"INSERT INTO audit_trail ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_BASELINE_TABLE = """CREATE TABLE plain (
    seq BIGINT, at_us BIGINT, user_name TEXT, action TEXT, record_type TEXT, record_id TEXT,
    old_value TEXT, new_value TEXT, reason TEXT, previous_hash TEXT, hash TEXT)"""
_PLAIN_INSERT = "INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_USERS = ("alice", "bob", "carol", "dave")


def fields(k: int) -> dict[str, object]:
    """The content of the ``k``-th synthetic record (a setpoint change of one of 1,000
    recipes by one of 4 users)."""
    return {
        "user": _USERS[k % 4],
        "action": "change",
        "record_type": "recipe",
        "record_id": f"recipe-{k % 1000:04d}",
        "old": {"phase": "growth", "T_degC": 36.5, "step": k},
        "new": {"phase": "growth", "T_degC": 37.0, "step": k},
        "reason": f"deviation DV-{k:07d}: temperature setpoint corrected",
    }


def chain_rows(n: int) -> Iterator[tuple[object, ...]]:
    """``n`` chained rows as ``append`` would store them, one a second from ``START_US``."""
    previous = GENESIS_HASH
    for k in range(n):
        seq = k + 1
        f = fields(k)
        old = f'{{"T_degC":36.5,"phase":"growth","step":{k}}}'
        new = f'{{"T_degC":37.0,"phase":"growth","step":{k}}}'
        row: StoredRow = (
            seq,
            START_US + k * 1_000_000,
            str(f["user"]),
            "change",
            "recipe",
            str(f["record_id"]),
            old,
            new,
            str(f["reason"]),
            previous,
        )
        digest = record_hash(row)
        yield (*row, digest)
        previous = digest


def time_appends(url: str, n: int) -> float:
    """Seconds to append ``n`` records through ``AuditTrail.append``."""
    with AuditTrail(url) as trail:
        start = time.perf_counter()
        for k in range(n):
            trail.append(**fields(k))  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        assert trail.verify().checked == n
    return seconds


def time_plain_sqlite(path: Path, n: int) -> float:
    """Seconds for plain INSERTs of the same rows, one transaction each."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(_BASELINE_TABLE)
    rows = list(chain_rows(n))
    start = time.perf_counter()
    for row in rows:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(_PLAIN_INSERT, row)
        connection.execute("COMMIT")
    seconds = time.perf_counter() - start
    connection.close()
    return seconds


def build_sqlite_chain(url: str, path: Path, n: int) -> float:
    """Create the trail's tables, then bulk-insert an ``n``-record chain; seconds taken."""
    AuditTrail(url).close()
    start = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN")
    connection.executemany(_INSERT, chain_rows(n))
    connection.execute("COMMIT")
    connection.close()
    return time.perf_counter() - start


def time_verify(url: str, n: int) -> float:
    """Seconds for ``AuditTrail.verify`` over the chain (checked to be intact, ``n`` long)."""
    with AuditTrail(url) as trail:
        start = time.perf_counter()
        result = trail.verify()
        seconds = time.perf_counter() - start
    assert result.ok and result.checked == n, result
    return seconds


def time_select_sqlite(path: Path, n: int) -> float:
    """Seconds for a bare SELECT streaming the same rows in seq order."""
    connection = sqlite3.connect(path)
    start = time.perf_counter()
    cursor = connection.execute(f"SELECT {AUDIT_COLUMNS} FROM audit_trail ORDER BY seq")
    count = 0
    while rows := cursor.fetchmany(10_000):
        count += len(rows)
    seconds = time.perf_counter() - start
    connection.close()
    assert count == n
    return seconds


def best_of(
    repeats: int, ours: Callable[[int], float], base: Callable[[int], float]
) -> tuple[float, float]:
    """The smallest of ``repeats`` timings of each, the two run in turn (so that a slow spell
    of the shared machine falls on both)."""
    runs = [(ours(k), base(k)) for k in range(repeats)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


Result = tuple[str, int, float, float]  # name, records, seconds, baseline seconds


def sqlite_results(root: Path, appends: int, chain: int, repeats: int) -> list[Result]:
    """Appends and verification on SQLite files under ``root``."""
    ours, plain = best_of(
        repeats,
        lambda k: time_appends(f"sqlite:///{root / f'a{k}.db'}", appends),
        lambda k: time_plain_sqlite(root / f"p{k}.db", appends),
    )
    path = root / "chain.db"
    built = build_sqlite_chain(f"sqlite:///{path}", path, chain)
    print(f"(built a {chain:,}-record SQLite chain in {built:.1f} s)")
    check, scan = best_of(
        repeats,
        lambda k: time_verify(f"sqlite:///{path}", chain),
        lambda k: time_select_sqlite(path, chain),
    )
    return [
        ("SQLite: append (vs plain INSERTs)", appends, ours, plain),
        ("SQLite: verify (vs bare SELECT)", chain, check, scan),
    ]


def pg_results(appends: int, chain: int, repeats: int) -> list[Result]:
    """Appends and verification on a throwaway PostgreSQL server (durable settings)."""
    import psycopg

    from pharmatwin.historian.pgserver import running_server

    with running_server() as server:
        url = server.url

        def reset() -> None:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("DROP TABLE IF EXISTS audit_trail, e_signatures, plain")

        def appended(k: int) -> float:
            reset()
            return time_appends(url, appends)

        def plain(k: int) -> float:
            reset()
            rows = list(chain_rows(appends))
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(_BASELINE_TABLE)
                start = time.perf_counter()
                for row in rows:
                    with connection.transaction():
                        connection.execute(_PLAIN_INSERT.replace("?", "%s"), row)
                return time.perf_counter() - start

        ours, base = best_of(repeats, appended, plain)
        reset()
        AuditTrail(url).close()
        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as connection, connection.cursor() as cur:
            with cur.copy(f"COPY audit_trail ({AUDIT_COLUMNS}) FROM STDIN") as copy:
                for row in chain_rows(chain):
                    copy.write_row(row)
            cur.execute("VACUUM ANALYZE audit_trail")
        print(f"(built a {chain:,}-record PostgreSQL chain in {time.perf_counter() - start:.1f} s)")

        def scan(k: int) -> float:
            with psycopg.connect(url) as connection:
                start = time.perf_counter()
                with connection.cursor(name="scan") as cursor:
                    cursor.itersize = 10_000
                    cursor.execute(f"SELECT {AUDIT_COLUMNS} FROM audit_trail ORDER BY seq")
                    count = sum(1 for _ in cursor)
                seconds = time.perf_counter() - start
            assert count == chain
            return seconds

        check, select = best_of(repeats, lambda k: time_verify(url, chain), scan)
    return [
        ("PostgreSQL: append (vs plain INSERTs)", appends, ours, base),
        ("PostgreSQL: verify (vs bare SELECT)", chain, check, select),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 appends, 100,000 chain")
    parser.add_argument("--appends", type=int, default=None)
    parser.add_argument("--chain", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--pg", action="store_true", help="also PostgreSQL (throwaway server)")
    args = parser.parse_args()
    appends = args.appends or (1_000 if args.quick else 10_000)
    chain = args.chain or (100_000 if args.quick else 1_000_000)
    repeats = args.repeats or (1 if args.quick else 2)
    with tempfile.TemporaryDirectory(prefix="pharmatwin-bench-") as folder:
        results = sqlite_results(Path(folder), appends, chain, repeats)
    if args.pg:
        results += pg_results(appends, chain, repeats)
    print(f"\nbest of {repeats}\n")
    header = f"{'run':<40}{'records':>11}{'seconds':>9}{'records/s':>12}"
    print(f"{header}{'baseline s':>12}{'baseline/s':>12}{'ratio':>8}")
    for name, n, seconds, baseline in results:
        print(
            f"{name:<40}{n:>11,}{seconds:>9.2f}{n / seconds:>12,.0f}{baseline:>12.2f}"
            f"{n / baseline:>12,.0f}{seconds / baseline:>7.1f}x"
        )
    print("\nratio: our time / baseline time (how many times slower than the bare operation)")


if __name__ == "__main__":
    main()
