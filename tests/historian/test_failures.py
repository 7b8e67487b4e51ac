"""SQLite under stress: a locked database, a full one, a writer killed mid-write.

In each case nothing committed is lost and the database opens and writes again.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pharmatwin.historian.errors import HistorianBusy, HistorianFull
from pharmatwin.historian.records import WriteResult
from pharmatwin.historian.sqlite import SqliteBackend
from pharmatwin.historian.store import Historian
from tests.services.postgres import reset_database

US = 1_000_000


def batch(k: int, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """The k-th block of ``n`` one-second samples: times (us) and values."""
    times = (k * n + np.arange(n)) * US
    return times, np.sin(times / 1e9)


def test_a_locked_database_raises_busy_then_writes_once_released(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    historian = Historian(SqliteBackend(path, busy_timeout_s=0.1, retries=2))
    historian.write_columns("x", *batch(0))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO checkpoints VALUES ('other', '{}', 0)")
    with pytest.raises(HistorianBusy) as caught:
        historian.write_columns("x", *batch(1))
    message = str(caught.value)
    assert str(path) in message and "locked by another writer for" in message
    assert "3 attempts of 0.1 s" in message and "retry later" in message
    assert historian.count() == 500  # readers are not blocked (WAL)
    other.execute("COMMIT")
    other.close()
    assert historian.write_columns("x", *batch(1)) == WriteResult(500, 0, 0)
    assert historian.count() == 1000
    assert historian.checkpoint("other") == {}
    historian.close()


def test_a_full_database_raises_full_and_keeps_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    historian = Historian(SqliteBackend(path, max_pages=60))
    stored = 0
    with pytest.raises(HistorianFull) as caught:
        for k in range(1000):  # bounded: 60 pages hold a few thousand samples
            result = historian.write_columns("x", *batch(k))
            stored += result.inserted
    assert "is full" in str(caught.value) and str(path) in str(caught.value)
    assert stored >= 500
    frame = historian.window()
    times, values = zip(*(batch(k) for k in range(stored // 500)), strict=True)
    np.testing.assert_array_equal(frame.time_us, np.concatenate(times))
    np.testing.assert_array_equal(frame.value, np.concatenate(values))
    historian.close()
    with Historian(SqliteBackend(path)) as reopened:  # without the cap it writes again
        assert reopened.count() == stored
        assert reopened.write_columns("x", *batch(stored // 500)).inserted == 500


WRITER = """
import sys
import numpy as np
from pharmatwin.historian.sqlite import SqliteBackend
from pharmatwin.historian.store import Historian
from tests.services.postgres import reset_database

historian = Historian(SqliteBackend(sys.argv[1]))
for k in range(100_000):
    times = (k * 500 + np.arange(500)) * 1_000_000
    historian.write_columns("x", times, np.sin(times / 1e9))
    print(k, flush=True)
"""


def test_a_writer_killed_mid_write_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    committed = -1
    try:
        deadline = time.monotonic() + 20.0
        assert child.stdout is not None
        while committed < 30 and time.monotonic() < deadline:
            ready, _, _ = select.select([child.stdout], [], [], 1.0)
            if ready:
                line = child.stdout.readline()
                if not line:
                    break
                committed = int(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert committed >= 30, "the writer did not get going"
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    with Historian(SqliteBackend(path)) as reopened:
        count = reopened.count()
        assert count >= (committed + 1) * 500 and count % 500 == 0  # whole writes only
        frame = reopened.window()
        times, values = zip(*(batch(k) for k in range(count // 500)), strict=True)
        np.testing.assert_array_equal(frame.time_us, np.concatenate(times))
        np.testing.assert_array_equal(frame.value, np.concatenate(values))
        assert reopened.write_columns("x", *batch(count // 500)).inserted == 500


def test_a_locked_postgresql_table_raises_busy_then_writes(postgres_url: str) -> None:
    import psycopg

    from pharmatwin.historian.postgres import PostgresBackend

    reset_database(postgres_url)
    historian = Historian(PostgresBackend(postgres_url, retries=1, lock_timeout_s=0.1))
    historian.write_columns("x", *batch(0))
    with psycopg.connect(postgres_url) as other:
        other.execute("LOCK TABLE samples IN EXCLUSIVE MODE")
        with pytest.raises(HistorianBusy, match="locked by another session"):
            historian.write_columns("x", *batch(1))
        other.rollback()
    assert historian.write_columns("x", *batch(1)) == WriteResult(500, 0, 0)
    assert historian.count() == 1000
    historian.close()
