"""SQLite backend: the embedded default (WAL journal, synchronous=NORMAL).

A committed write survives a crash of the process (WAL, SQLite "Write-Ahead Logging"); with
synchronous=NORMAL a power loss may roll back the last commits but never corrupts the file.
One connection per ``Historian``, shared between threads under a lock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pharmatwin.historian.backend import Backend, Conflict, Row, SampleRows, T, Tx
from pharmatwin.historian.errors import HistorianBusy, HistorianError, HistorianFull
from pharmatwin.historian.schema import SQLITE, create_schema

MEMORY = ":memory:"
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_FULL = 13

_INSERT = (
    "INSERT INTO samples (tag_id, time_us, value, quality, available_us) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_PROBE = """CREATE TEMP TABLE IF NOT EXISTS probe (
    seq INTEGER PRIMARY KEY, tag_id INTEGER, time_us INTEGER, value REAL, quality INTEGER)"""
_CONFLICTS = """SELECT p.seq, s.value, s.quality FROM temp.probe AS p
    JOIN samples AS s ON s.tag_id = p.tag_id AND s.time_us = p.time_us
    WHERE s.value <> p.value OR s.quality <> p.quality ORDER BY p.seq"""


class _Tx:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def run(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._connection.execute(sql, params).fetchall()

    def run_many(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        before = self._connection.total_changes
        self._connection.executemany(sql, rows)
        return self._connection.total_changes - before


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


class SqliteBackend(Backend):
    """A SQLite database file (or ``:memory:``).

    Args:
        path: the database file; its folder must exist.
        busy_timeout_s: how long one attempt waits for another writer's lock (s).
        retries: further attempts after a timed-out one, with doubling pauses from 0.05 s.
        max_pages: optional cap on the file size in pages (``PRAGMA max_page_count``).
    """

    dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        busy_timeout_s: float = 5.0,
        retries: int = 3,
        max_pages: int | None = None,
    ) -> None:
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s
        self.retries = retries
        self._lock = threading.RLock()
        try:
            self._connection = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.OperationalError as exc:
            raise ValueError(f"--db: cannot open the SQLite database {self.path}: {exc}") from exc
        try:
            self._pragmas(max_pages)
            self.write(lambda tx: create_schema(tx, SQLITE, self.label))
        except BaseException:
            self._connection.close()
            raise

    def _pragmas(self, max_pages: int | None) -> None:
        def run() -> None:
            if self.path != MEMORY:
                self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA synchronous = NORMAL")
            if max_pages is not None:
                self._connection.execute(f"PRAGMA max_page_count = {int(max_pages)}")

        self._retrying(run)

    @property
    def label(self) -> str:
        return f"SQLite database {self.path}"

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._lock:
            return self._retrying(lambda: self._connection.execute(sql, params).fetchall())

    def write(self, work: Callable[[Tx], T]) -> T:
        def attempt() -> T:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(_Tx(connection))
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result

        with self._lock:
            return self._retrying(attempt)

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt``, retrying a locked database; map SQLite errors to ours."""
        started = time.monotonic()
        for k in range(self.retries + 1):
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if _code(exc) not in (_SQLITE_BUSY, _SQLITE_LOCKED):
                    raise self._error(exc) from exc
                if k == self.retries:
                    waited = time.monotonic() - started
                    raise HistorianBusy(
                        f"{self.label} was locked by another writer for {waited:.1f} s "
                        f"({self.retries + 1} attempts of {self.busy_timeout_s:g} s each); "
                        "nothing of this write was stored. Stop the other process writing to "
                        "it, or retry later."
                    ) from exc
                time.sleep(0.05 * 2**k)
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, exc: sqlite3.Error) -> HistorianError:
        if _code(exc) == _SQLITE_FULL:
            return HistorianFull(
                f"{self.label} is full ({exc}): its disk is full or it reached its size cap; "
                "nothing of this write was stored and everything stored before is kept. "
                "Free disk space (or raise the cap) and write again."
            )
        return HistorianError(f"{self.label}: {exc}")

    def insert_samples(self, tx: Tx, rows: SampleRows) -> tuple[int, list[Conflict]]:
        ids = rows.tag_id.tolist()
        times = rows.time_us.tolist()
        values = rows.value.tolist()
        qualities = rows.quality.tolist()
        available = rows.available_or_none()
        inserted = tx.run_many(_INSERT, zip(ids, times, values, qualities, available, strict=True))
        if inserted == len(rows):
            return inserted, []
        # fewer rows went in than were given: find the given rows that differ from the stored
        tx.run(_PROBE)
        tx.run("DELETE FROM temp.probe")
        tx.run_many(
            "INSERT INTO temp.probe VALUES (?, ?, ?, ?, ?)",
            zip(range(len(rows)), ids, times, values, qualities, strict=True),
        )
        conflicts = [Conflict(int(i), float(v), int(q)) for i, v, q in tx.run(_CONFLICTS)]
        tx.run("DELETE FROM temp.probe")
        return inserted, conflicts

    def close(self) -> None:
        with self._lock:
            self._connection.close()
