"""PostgreSQL backend (psycopg 3): the same behaviour as SQLite, for a shared server.

Bulk writes COPY the rows into a temporary staging table, then ``INSERT ... SELECT DISTINCT ON
(tag, time) ... ON CONFLICT DO NOTHING`` (the first row of a tag and time in a write wins), and,
only when fewer rows went in than were given, look up the stored rows that differ (conflicts).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg
from psycopg import errors

from pharmatwin.historian.backend import Backend, Conflict, Row, SampleRows, T, Tx
from pharmatwin.historian.errors import HistorianBusy, HistorianError, HistorianFull
from pharmatwin.historian.schema import POSTGRES, create_schema

_STAGE = """CREATE TEMP TABLE IF NOT EXISTS stage (
    seq INTEGER NOT NULL, tag_id INTEGER NOT NULL, time_us BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL, quality INTEGER NOT NULL, available_us BIGINT)
    ON COMMIT DELETE ROWS"""
_COPY = "COPY stage (seq, tag_id, time_us, value, quality, available_us) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ("int4", "int4", "int8", "float8", "int4", "int8")
_INSERT = """INSERT INTO samples (tag_id, time_us, value, quality, available_us)
    SELECT DISTINCT ON (tag_id, time_us) tag_id, time_us, value, quality, available_us
    FROM stage ORDER BY tag_id, time_us, seq ON CONFLICT DO NOTHING"""
# A lateral lookup per staged row (OFFSET 0 keeps it from becoming a hash join over all samples)
_CONFLICTS = """SELECT g.seq, s.value, s.quality FROM stage AS g CROSS JOIN LATERAL (
    SELECT value, quality FROM samples
    WHERE samples.tag_id = g.tag_id AND samples.time_us = g.time_us OFFSET 0) AS s
    WHERE s.value <> g.value OR s.quality <> g.quality ORDER BY g.seq"""
_SCHEMA_LOCK = 7_240_501  # advisory lock id serializing concurrent schema creation
_BUSY = (errors.LockNotAvailable, errors.DeadlockDetected, errors.SerializationFailure)


def _placeholders(sql: str) -> str:
    return sql.replace("?", "%s")


class _Tx:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def run(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        cursor = self.connection.execute(_placeholders(sql), params)
        return cursor.fetchall() if cursor.description is not None else []

    def run_many(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        with self.connection.cursor() as cursor:
            cursor.executemany(_placeholders(sql), rows)
            return max(cursor.rowcount, 0)


def safe_url(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


class PostgresBackend(Backend):
    """A PostgreSQL database.

    Args:
        url: ``postgresql://user[:password]@host:port/database``.
        retries: further attempts after a lock timeout or deadlock, with doubling pauses.
        lock_timeout_s: how long one attempt waits for a lock another session holds (s).
        connect_timeout_s: how long to wait for the server when connecting (s).
    """

    dialect = "postgresql"
    json_param = "?::jsonb"

    def __init__(
        self, url: str, retries: int = 3, lock_timeout_s: float = 5.0, connect_timeout_s: int = 10
    ) -> None:
        self.url = url
        self.retries = retries
        self.lock_timeout_s = lock_timeout_s
        self._lock = threading.RLock()
        try:
            self._connection = psycopg.connect(
                url, autocommit=True, connect_timeout=connect_timeout_s
            )
        except psycopg.Error as exc:
            raise HistorianError(f"{self.label}: cannot connect: {exc}") from exc
        try:
            self._connection.execute("SET jit = off")  # short queries: compiling costs more
            self._connection.execute(f"SET lock_timeout = {int(lock_timeout_s * 1000)}")
            self._connection.execute(_STAGE)
            self.write(self._create_schema)
        except BaseException:
            self._connection.close()
            raise

    def _create_schema(self, tx: Tx) -> None:
        tx.run("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
        create_schema(tx, POSTGRES, self.label)

    @property
    def label(self) -> str:
        return f"PostgreSQL database {safe_url(self.url)}"

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._lock:
            return self._retrying(lambda: _Tx(self._connection).run(sql, params))

    def write(self, work: Callable[[Tx], T]) -> T:
        def attempt() -> T:
            with self._connection.transaction():
                return work(_Tx(self._connection))

        with self._lock:
            return self._retrying(attempt)

    def _retrying(self, attempt: Callable[[], T]) -> T:
        started = time.monotonic()
        for k in range(self.retries + 1):
            try:
                return attempt()
            except _BUSY as exc:
                if k == self.retries:
                    waited = time.monotonic() - started
                    raise HistorianBusy(
                        f"{self.label} was locked by another session for {waited:.1f} s "
                        f"({self.retries + 1} attempts of {self.lock_timeout_s:g} s each; "
                        f"{exc}); nothing of this write was stored. Find the session holding "
                        "the lock (pg_stat_activity), or retry later."
                    ) from exc
                time.sleep(0.05 * 2**k)
            except errors.DiskFull as exc:
                raise HistorianFull(
                    f"{self.label} is full ({exc}); nothing of this write was stored and "
                    "everything stored before is kept. Free disk space on the server."
                ) from exc
            except psycopg.Error as exc:
                raise HistorianError(f"{self.label}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def insert_samples(self, tx: Tx, rows: SampleRows) -> tuple[int, list[Conflict]]:
        connection = self._connection
        with connection.cursor() as cursor:
            with cursor.copy(_COPY) as copy:
                copy.set_types(_COPY_TYPES)
                for row in zip(
                    range(len(rows)),
                    rows.tag_id.tolist(),
                    rows.time_us.tolist(),
                    rows.value.tolist(),
                    rows.quality.tolist(),
                    rows.available_or_none(),
                    strict=True,
                ):
                    copy.write_row(row)
            cursor.execute(_INSERT)
            inserted = max(cursor.rowcount, 0)
            conflicts: list[Conflict] = []
            if inserted < len(rows):
                cursor.execute(_CONFLICTS)
                conflicts = [Conflict(int(i), float(v), int(q)) for i, v, q in cursor.fetchall()]
            cursor.execute("DELETE FROM stage")
        return inserted, conflicts

    def close(self) -> None:
        with self._lock:
            self._connection.close()
