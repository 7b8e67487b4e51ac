"""The audit trail: an append-only, hash-chained record of every change to a GMP record.

Each create, change and deletion of a GMP record is appended with who, when (UTC, from this
server's clock, microseconds), what (action, record type and id), the old and the new value
(canonical JSON) and a required reason (21 CFR 11.10(e); EU GMP Annex 11, section 9). Record
``seq`` carries the hash of record ``seq - 1`` and the SHA-256 of its own content including
``seq`` (see ``pharmatwin.gmp.audit_schema``), so ``verify`` finds any record altered, removed,
inserted or reordered since (``pharmatwin.gmp.audit_chain``).

There is no update or delete path in this code. The database refuses ``UPDATE`` and
``DELETE`` by trigger too, but whoever can write the file (SQLite) or is a PostgreSQL
superuser can drop a trigger: the verified chain, anchored outside the database, is the real
guarantee.

Appends are serialized so two writers cannot fork the chain: SQLite takes the write lock first
(``BEGIN IMMEDIATE``), PostgreSQL a transaction-level advisory lock before reading the head;
``seq`` is the primary key as a last line of defence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pharmatwin.gmp.audit_chain import VerifyResult, verify_chain
from pharmatwin.gmp.audit_schema import (
    AUDIT_COLUMNS,
    AUDIT_LOCK,
    AUDIT_TABLE,
    GENESIS_HASH,
    create_audit_tables,
    record_hash,
)
from pharmatwin.gmp.canonical import canonical_text
from pharmatwin.gmp.storage import open_backend
from pharmatwin.historian.backend import Backend, Row, T, Tx
from pharmatwin.historian.records import from_us, to_us
from pharmatwin.historian.urls import resolve_db_url

__all__ = ["AuditError", "AuditRecord", "AuditTrail", "VerifyResult", "check_text", "utc_now"]

_CHUNK = 10_000


def utc_now() -> datetime:
    """The server's current time, timezone-aware UTC."""
    return datetime.now(UTC)


class AuditError(ValueError):
    """Bad input for an audit record; the message starts with the field (``reason: ...``)."""


def check_text(field: str, value: object) -> str:
    """``value`` if it is a non-blank string a database can store; else ``AuditError`` naming
    ``field``."""
    if not isinstance(value, str):
        raise AuditError(f"{field}: must be text, got {type(value).__name__}")
    if not value.strip():
        raise AuditError(f"{field}: required (must not be blank)")
    if "\x00" in value:
        raise AuditError(f"{field}: must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise AuditError(f"{field}: is not valid Unicode text") from None
    return value


@dataclass(frozen=True)
class AuditRecord:
    """One audit-trail record.

    Attributes:
        seq: position in the trail, 1, 2, 3, ... without gaps.
        at: when it was appended (UTC, server clock, microsecond resolution).
        user: who made the change (the account name).
        action: what was done: ``create``, ``change``, ``delete``, ``sign``, ...
        record_type: the kind of GMP record (``twin_config``, ``recipe``, ``user``, ...).
        record_id: which record of that kind.
        old: the value before (JSON data; ``None`` for a creation).
        new: the value after (JSON data; ``None`` for a deletion).
        reason: why (required).
        previous_hash: ``hash`` of record ``seq - 1`` (64 zeros for record 1).
        hash: SHA-256 hex of this record's content, ``seq`` and ``previous_hash`` included.
    """

    seq: int
    at: datetime
    user: str
    action: str
    record_type: str
    record_id: str
    old: Any
    new: Any
    reason: str
    previous_hash: str
    hash: str


def _record(row: Row) -> AuditRecord:
    seq, at_us, user, action, record_type, record_id, old, new, reason, previous, digest = row
    return AuditRecord(
        int(seq),
        from_us(int(at_us)),
        str(user),
        str(action),
        str(record_type),
        str(record_id),
        json.loads(old),
        json.loads(new),
        str(reason),
        str(previous),
        str(digest),
    )


class AuditTrail:
    """The audit trail in the database at ``url`` (default: the historian's, see
    ``pharmatwin.historian.urls.resolve_db_url``); tables and guards created when missing.

    Args:
        url: ``sqlite:///path.db`` or ``postgresql://...``.
        clock: the server's current UTC time (injected by tests).

    Thread safety: one trail may be shared between threads (calls are serialized on one
    connection); several trails, threads or processes on one database keep one chain.
    """

    def __init__(self, url: str | None = None, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.url = resolve_db_url(url)
        self._clock = clock
        self._backend = open_backend(self.url)
        try:
            dialect = self._backend.dialect
            self._backend.write(lambda tx: create_audit_tables(tx, dialect))
        except BaseException:
            self._backend.close()
            raise

    @property
    def backend(self) -> Backend:
        """The database connection (for other GMP tables written with ``write``)."""
        return self._backend

    @property
    def label(self) -> str:
        """The database, for messages (no password)."""
        return self._backend.label

    def close(self) -> None:
        """Close the connection."""
        self._backend.close()

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # appending ----------------------------------------------------------------------------

    def write(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in one transaction of this trail's database: a GMP record and its
        audit record (``append_in``) are stored together or not at all. ``work`` may run again
        after a rollback (a busy database), so it must have no effect outside the database."""
        return self._backend.write(work)

    def append(
        self,
        *,
        user: str,
        action: str,
        record_type: str,
        record_id: str,
        old: Any,
        new: Any,
        reason: str,
    ) -> AuditRecord:
        """Append one record in its own transaction; ``AuditError`` (a ``ValueError``) naming
        the field for a blank ``reason``, ``user``, ``action``, ``record_type`` or
        ``record_id``, or ``old`` / ``new`` that are not JSON data."""
        fields = _checked(
            user=user,
            action=action,
            record_type=record_type,
            record_id=record_id,
            old=old,
            new=new,
            reason=reason,
        )
        return self._backend.write(lambda tx: self._append(tx, fields))

    def append_in(
        self,
        tx: Tx,
        *,
        user: str,
        action: str,
        record_type: str,
        record_id: str,
        old: Any,
        new: Any,
        reason: str,
    ) -> AuditRecord:
        """Append one record inside ``tx``, a transaction opened by ``write`` (same checks as
        ``append``)."""
        fields = _checked(
            user=user,
            action=action,
            record_type=record_type,
            record_id=record_id,
            old=old,
            new=new,
            reason=reason,
        )
        return self._append(tx, fields)

    def _append(self, tx: Tx, fields: tuple[str, str, str, str, str, str, str]) -> AuditRecord:
        if self._backend.dialect == "postgresql":
            tx.run("SELECT pg_advisory_xact_lock(?)", (AUDIT_LOCK,))
        head = tx.run(f"SELECT seq, hash FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1")
        seq = int(head[0][0]) + 1 if head else 1
        previous = str(head[0][1]) if head else GENESIS_HASH
        now = self._clock()
        if now.tzinfo is None:
            raise AuditError(f"clock: returned a naive time {now.isoformat()}; it must be UTC")
        at_us = to_us(now)
        user, action, record_type, record_id, old, new, reason = fields
        row = (seq, at_us, user, action, record_type, record_id, old, new, reason, previous)
        digest = record_hash(row)
        tx.run(
            f"INSERT INTO {AUDIT_TABLE} ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, digest),
        )
        return _record((*row, digest))

    # reading ------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last record; ``(0, GENESIS_HASH)`` for an empty trail."""
        rows = self._backend.read(f"SELECT seq, hash FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS_HASH)

    def count(self) -> int:
        """How many records the trail holds."""
        return int(self._backend.read(f"SELECT COUNT(*) FROM {AUDIT_TABLE}")[0][0])

    def records(
        self,
        *,
        record_type: str | None = None,
        record_id: str | None = None,
        user: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditRecord]:
        """The records matching every filter given, in seq order; ``since <= at < until``."""
        return list(
            self.iter_records(
                record_type=record_type, record_id=record_id, user=user, since=since, until=until
            )
        )

    def iter_records(
        self,
        *,
        record_type: str | None = None,
        record_id: str | None = None,
        user: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[AuditRecord]:
        """``records``, read in chunks (for long trails)."""
        where: list[str] = []
        params: list[object] = []
        for column, value in (
            ("record_type", record_type),
            ("record_id", record_id),
            ("user_name", user),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        for op, field, time in ((">=", "since", since), ("<", "until", until)):
            if time is not None:
                if time.tzinfo is None:
                    raise AuditError(f"{field}: a naive time {time.isoformat()}; give UTC")
                where.append(f"at_us {op} ?")
                params.append(to_us(time))
        condition = "".join(f" AND {w}" for w in where)
        last = -(2**63)
        while True:
            rows = self._backend.read(
                f"SELECT {AUDIT_COLUMNS} FROM {AUDIT_TABLE} WHERE seq > ?{condition} "
                "ORDER BY seq LIMIT ?",
                (last, *params, _CHUNK),
            )
            yield from (_record(row) for row in rows)
            if len(rows) < _CHUNK:
                return
            last = int(rows[-1][0])

    def verify(self, *, anchor: tuple[int, str] | None = None) -> VerifyResult:
        """Check the whole chain in seq order (streamed) and report the first record altered,
        removed, inserted or reordered; with ``anchor`` (a ``(seq, hash)`` kept outside the
        database) also that the chain still holds that record unchanged."""
        return verify_chain(self._backend.read, anchor=anchor)


def _checked(
    *,
    user: str,
    action: str,
    record_type: str,
    record_id: str,
    old: Any,
    new: Any,
    reason: str,
) -> tuple[str, str, str, str, str, str, str]:
    """The fields as stored (old and new as canonical JSON text), or ``AuditError``."""
    check_text("reason", reason)
    check_text("user", user)
    check_text("action", action)
    check_text("record_type", record_type)
    check_text("record_id", record_id)
    try:
        old_json = canonical_text(old, "old")
        new_json = canonical_text(new, "new")
    except ValueError as exc:
        raise AuditError(str(exc)) from None
    return user, action, record_type, record_id, old_json, new_json, reason
