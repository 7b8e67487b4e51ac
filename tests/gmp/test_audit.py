"""The audit trail on both backends: appending, reading, filters, guards and concurrency."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pharmatwin.gmp.audit import AuditError, AuditTrail
from pharmatwin.gmp.audit_schema import GENESIS_HASH
from pharmatwin.historian.urls import sqlite_path
from tests.gmp.conftest import START, Clock
from tests.services.postgres import postgres_url

__all__ = ["audit_url", "fill", "postgres_url", "raw_execute", "reset_audit"]


def reset_audit(url: str) -> None:
    """Drop the audit and signature tables and empty the users of a PostgreSQL database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS audit_trail, e_signatures")
        exists = connection.execute("SELECT to_regclass('users') IS NOT NULL").fetchone()
        if exists and exists[0]:
            connection.execute("TRUNCATE users, sessions")


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a database without audit records or users, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'historian.db'}"
    url: str = request.getfixturevalue("postgres_url")
    reset_audit(url)
    return url


def raw_execute(url: str, *statements: str, disarm: bool = False) -> None:
    """Run SQL on the database directly, as someone with access to it (not through pharmatwin).

    ``disarm`` first removes the append-only triggers, as an attacker would.
    """
    if url.startswith("sqlite"):
        connection = sqlite3.connect(sqlite_path(url), isolation_level=None)
        try:
            if disarm:
                for table in ("audit_trail", "e_signatures"):
                    for op in ("update", "delete"):
                        connection.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
            for statement in statements:
                connection.execute(statement)
        finally:
            connection.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        if disarm:
            pg.execute("ALTER TABLE audit_trail DISABLE TRIGGER USER")
            pg.execute("ALTER TABLE e_signatures DISABLE TRIGGER USER")
        for statement in statements:
            pg.execute(statement)


def fill(trail: AuditTrail, n: int, user: str = "alice") -> None:
    """Append ``n`` change records to recipe r0, r1, r2 in turn."""
    for k in range(n):
        trail.append(
            user=user,
            action="change",
            record_type="recipe",
            record_id=f"r{k % 3}",
            old={"T": 36.5 + k},
            new={"T": 37.5 + k},
            reason=f"step {k + 1}",
        )


@pytest.fixture
def trail(audit_url: str, clock: Clock) -> Iterator[AuditTrail]:
    with AuditTrail(audit_url, clock=clock) as opened:
        yield opened


def test_records_are_numbered_from_1_and_chained(trail: AuditTrail, clock: Clock) -> None:
    first = trail.append(
        user="alice",
        action="create",
        record_type="recipe",
        record_id="cho-14d",
        old=None,
        new={"phases": [{"T": 36.5}], "name": "CHO 14 d"},
        reason="new recipe",
    )
    clock.advance(timedelta(seconds=1, microseconds=7))
    second = trail.append(
        user="bob",
        action="change",
        record_type="recipe",
        record_id="cho-14d",
        old={"T": 36.5},
        new={"T": 37.0},
        reason="deviation DV-12",
    )
    assert (first.seq, first.previous_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.previous_hash) == (2, first.hash)
    assert first.at == START and second.at == START + timedelta(seconds=1, microseconds=7)
    assert trail.records() == [first, second]
    assert trail.head() == (2, second.hash)
    result = trail.verify()
    assert (result.ok, result.checked, result.message) == (True, 2, "2 records, chain intact")
    assert (result.head_seq, result.head_hash) == (2, second.hash)


def test_an_empty_trail_verifies(trail: AuditTrail) -> None:
    assert trail.verify().message == "0 records, chain intact"
    assert trail.head() == (0, GENESIS_HASH)


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_a_reason_is_required(trail: AuditTrail, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^reason: required"):
        trail.append(
            user="alice",
            action="change",
            record_type="recipe",
            record_id="r1",
            old=1,
            new=2,
            reason=reason,
        )
    assert trail.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("user", "", "user: required"),
        ("action", " ", "action: required"),
        ("record_type", "", "record_type: required"),
        ("record_id", "a\x00b", "record_id: must not contain NUL"),
        ("new", {"x": float("nan")}, "new.x: nan is not a finite number"),
        ("old", object(), "old: a object is not JSON data"),
    ],
)
def test_bad_fields_are_refused_naming_them(
    trail: AuditTrail, field: str, value: object, message: str
) -> None:
    fields: dict[str, object] = {
        "user": "alice",
        "action": "change",
        "record_type": "recipe",
        "record_id": "r1",
        "old": 1,
        "new": 2,
        "reason": "why",
    }
    fields[field] = value
    with pytest.raises(AuditError, match=r"^" + message):
        trail.append(**fields)  # type: ignore[arg-type]
    assert trail.count() == 0


def test_filters_by_record_user_and_time(trail: AuditTrail, clock: Clock) -> None:
    for k in range(6):
        trail.append(
            user="alice" if k % 2 else "bob",
            action="change",
            record_type="recipe" if k < 4 else "spec",
            record_id=f"r{k % 3}",
            old=k,
            new=k + 1,
            reason="r",
        )
        clock.advance(timedelta(minutes=1))
    seqs = [r.seq for r in trail.records(record_type="recipe")]
    assert seqs == [1, 2, 3, 4]
    assert [r.seq for r in trail.records(record_type="recipe", record_id="r0")] == [1, 4]
    assert [r.seq for r in trail.records(user="alice")] == [2, 4, 6]
    since, until = START + timedelta(minutes=2), START + timedelta(minutes=4)
    assert [r.seq for r in trail.records(since=since, until=until)] == [3, 4]
    assert [r.seq for r in trail.records(user="bob", since=since)] == [3, 5]
    with pytest.raises(ValueError, match=r"^since: a naive time"):
        trail.records(since=datetime(2026, 1, 1))


def test_old_and_new_values_come_back_as_json(trail: AuditTrail) -> None:
    new = {"phases": [{"T": 36.5, "pH": 7.0}], "note": "ü€", "t": datetime(2026, 1, 5, tzinfo=UTC)}
    trail.append(
        user="u", action="create", record_type="t", record_id="i", old=None, new=new, reason="r"
    )
    (record,) = trail.records()
    assert record.old is None
    assert record.new == {**new, "t": "2026-01-05T00:00:00.000000Z"}


def test_a_long_trail_is_read_and_verified_in_chunks(trail: AuditTrail) -> None:
    fill(trail, 23)
    from pharmatwin.gmp.audit_chain import verify_chain

    for chunk in (1, 2, 7, 22, 23, 24):
        result = verify_chain(trail.backend.read, chunk=chunk)
        assert (result.ok, result.checked) == (True, 23), chunk
    assert [r.seq for r in trail.records()] == list(range(1, 24))


def test_update_and_delete_are_refused_by_the_database(trail: AuditTrail) -> None:
    fill(trail, 3)
    for statement in (
        "UPDATE audit_trail SET reason = 'other' WHERE seq = 2",
        "DELETE FROM audit_trail WHERE seq = 3",
        "DELETE FROM audit_trail",
    ):
        with pytest.raises(Exception, match="audit_trail is append-only"):
            raw_execute(trail.url, statement)
    assert [r.reason for r in trail.records()] == ["step 1", "step 2", "step 3"]
    assert trail.verify().ok


def test_truncate_is_refused_by_postgresql(postgres_url: str) -> None:
    reset_audit(postgres_url)
    with AuditTrail(postgres_url) as trail:
        fill(trail, 2)
        for table in ("audit_trail", "e_signatures"):
            with pytest.raises(Exception, match=f"{table} is append-only: TRUNCATE refused"):
                raw_execute(postgres_url, f"TRUNCATE {table}")
        assert trail.count() == 2


def test_dropped_triggers_come_back_when_the_trail_is_opened(audit_url: str) -> None:
    with AuditTrail(audit_url) as trail:
        fill(trail, 2)
    if audit_url.startswith("sqlite"):
        raw_execute(audit_url, "DROP TRIGGER audit_trail_no_update")
    else:
        raw_execute(audit_url, "DROP TRIGGER audit_trail_append_only ON audit_trail")
    with AuditTrail(audit_url) as trail:
        with pytest.raises(Exception, match="append-only"):
            raw_execute(audit_url, "UPDATE audit_trail SET reason = 'x' WHERE seq = 1")
        assert trail.verify().ok


def _append_many(url: str, user: str, n: int) -> None:
    with AuditTrail(url) as trail:
        fill(trail, n, user)


def test_concurrent_threads_keep_one_chain(audit_url: str) -> None:
    n = 40
    threads = [
        threading.Thread(target=_append_many, args=(audit_url, name, n)) for name in ("t1", "t2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    with AuditTrail(audit_url) as trail:
        records = trail.records()
        assert [r.seq for r in records] == list(range(1, 2 * n + 1))
        assert sorted(r.user for r in records) == ["t1"] * n + ["t2"] * n
        assert trail.verify().message == f"{2 * n} records, chain intact"


def test_concurrent_processes_keep_one_chain(audit_url: str) -> None:
    n = 25
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_append_many, args=(audit_url, name, n)) for name in ("p1", "p2")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with AuditTrail(audit_url) as trail:
        assert trail.count() == 2 * n
        assert trail.verify().message == f"{2 * n} records, chain intact"


def test_a_transaction_stores_a_record_and_its_audit_entry_together(trail: AuditTrail) -> None:
    def work(tx: object) -> None:
        trail.append_in(
            tx,  # type: ignore[arg-type]
            user="u",
            action="create",
            record_type="t",
            record_id="i",
            old=None,
            new=1,
            reason="r",
        )
        raise RuntimeError("the GMP record could not be stored")

    with pytest.raises(RuntimeError):
        trail.write(work)
    assert trail.count() == 0
