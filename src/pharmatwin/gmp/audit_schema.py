"""The audit-trail and e-signature tables, their append-only guards, and the hashed form of a
record.

Tables (SQLite and PostgreSQL, same columns; times are integer microseconds since the Unix
epoch, UTC):

- ``audit_trail``: one row per record, ``seq`` 1, 2, 3, ... without gaps. ``old_value`` and
  ``new_value`` hold canonical JSON *text* (``pharmatwin.gmp.canonical``), never ``jsonb``:
  PostgreSQL would re-order and re-space ``jsonb``, and the hash is over the exact bytes.
- ``e_signatures``: one row per electronic signature (21 CFR 11.50, 11.70).

Append-only at the database level (EU GMP Annex 11, section 9; 21 CFR 11.10(e)): on SQLite
``BEFORE UPDATE`` / ``BEFORE DELETE`` triggers ``RAISE(ABORT)``; on PostgreSQL a trigger
function raises an exception on ``UPDATE``, ``DELETE`` and ``TRUNCATE``. These guards stop
mistakes and ordinary users only: anyone who can write the database file, or a PostgreSQL
superuser or table owner, can drop a trigger (opening the trail re-creates missing ones). The
real guarantee is the hash chain checked by ``AuditTrail.verify``.

The hashed form of record ``seq`` is the canonical JSON of the array
``["pharmatwin-audit-1", seq, at_us, user, action, record_type, record_id, old, new, reason,
previous_hash]``; its SHA-256 (FIPS 180-4) is the record's ``hash``. Since ``seq`` and
``previous_hash`` are inside it, altering, removing, inserting or reordering a record breaks
the chain.
"""

from __future__ import annotations

import hashlib
from json.encoder import encode_basestring
from typing import Final

from pharmatwin.historian.backend import Tx

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_LOCK",
    "AUDIT_TABLE",
    "FORMAT",
    "GENESIS_HASH",
    "SIGNATURE_COLUMNS",
    "SIGNATURE_TABLE",
    "StoredRow",
    "create_audit_tables",
    "record_hash",
    "record_message",
]

AUDIT_TABLE: Final = "audit_trail"
SIGNATURE_TABLE: Final = "e_signatures"
FORMAT: Final = "pharmatwin-audit-1"
"""The first element of every hashed record: names the format, so a later one can differ."""

StoredRow = tuple[int, int, str, str, str, str, str, str, str, str]
"""A record as stored, without its hash: ``seq, at_us, user, action, record_type, record_id,
old_json, new_json, reason, previous_hash``."""

GENESIS_HASH: Final = "0" * 64
"""The ``previous_hash`` of record 1."""

AUDIT_LOCK: Final = 7_240_801
"""PostgreSQL advisory lock id serializing appends (and table creation)."""

AUDIT_COLUMNS: Final = (
    "seq, at_us, user_name, action, record_type, record_id, old_value, new_value, reason, "
    "previous_hash, hash"
)
SIGNATURE_COLUMNS: Final = (
    "signature_id, record_type, record_id, content_hash, meaning, user_name, printed_name, "
    "at_us, reason, audit_seq"
)

_TABLES: Final = (
    f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
        seq {{int_key}} PRIMARY KEY, at_us BIGINT NOT NULL, user_name TEXT NOT NULL,
        action TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL,
        old_value TEXT NOT NULL, new_value TEXT NOT NULL, reason TEXT NOT NULL,
        previous_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS audit_trail_record ON {AUDIT_TABLE} (record_type, record_id)",
    f"CREATE INDEX IF NOT EXISTS audit_trail_user ON {AUDIT_TABLE} (user_name)",
    f"CREATE INDEX IF NOT EXISTS audit_trail_at ON {AUDIT_TABLE} (at_us)",
    f"""CREATE TABLE IF NOT EXISTS {SIGNATURE_TABLE} (
        signature_id TEXT PRIMARY KEY, record_type TEXT NOT NULL, record_id TEXT NOT NULL,
        content_hash TEXT NOT NULL, meaning TEXT NOT NULL, user_name TEXT NOT NULL,
        printed_name TEXT NOT NULL, at_us BIGINT NOT NULL, reason TEXT NOT NULL,
        audit_seq BIGINT NOT NULL)""",
    f"""CREATE INDEX IF NOT EXISTS e_signatures_record
        ON {SIGNATURE_TABLE} (record_type, record_id)""",
)

_GUARDED: Final = (AUDIT_TABLE, SIGNATURE_TABLE)

_SQLITE_GUARD: Final = """CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {OP} ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only: {OP} refused'); END"""

_PG_FUNCTION: Final = """CREATE OR REPLACE FUNCTION pharmatwin_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused',
            ERRCODE = 'insufficient_privilege';
    END $$"""
_PG_ROW_GUARD: Final = """CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION pharmatwin_append_only()"""
_PG_TRUNCATE_GUARD: Final = """CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION pharmatwin_append_only()"""


def create_audit_tables(tx: Tx, dialect: str) -> None:
    """Create the audit and signature tables and their append-only triggers if missing
    (idempotent; a dropped trigger is created again)."""
    postgres = dialect == "postgresql"
    if postgres:
        tx.run("SELECT pg_advisory_xact_lock(?)", (AUDIT_LOCK,))
    int_key = "BIGINT" if postgres else "INTEGER"
    for statement in _TABLES:
        tx.run(statement.replace("{int_key}", int_key))
    if not postgres:
        for table in _GUARDED:
            for op in ("update", "delete"):
                tx.run(_SQLITE_GUARD.format(table=table, op=op, OP=op.upper()))
        return
    tx.run(_PG_FUNCTION)
    for table in _GUARDED:
        for name, sql in (
            (f"{table}_append_only", _PG_ROW_GUARD),
            (f"{table}_no_truncate", _PG_TRUNCATE_GUARD),
        ):
            exists = tx.run(
                "SELECT 1 FROM pg_trigger WHERE tgname = ? AND tgrelid = to_regclass(?)",
                (name, table),
            )
            if not exists:
                tx.run(sql.format(table=table))


def record_message(row: StoredRow) -> bytes:
    """The bytes hashed for one record (see the module); ``old_json`` and ``new_json`` are
    canonical JSON text, put in as they are stored."""
    seq, at_us, user, action, record_type, record_id, old_json, new_json, reason, previous = row
    text = (
        f'["{FORMAT}",{seq:d},{at_us:d},{encode_basestring(user)},'
        f"{encode_basestring(action)},{encode_basestring(record_type)},"
        f"{encode_basestring(record_id)},{old_json},{new_json},{encode_basestring(reason)},"
        f"{encode_basestring(previous)}]"
    )
    return text.encode("utf-8", "surrogatepass")


def record_hash(row: StoredRow) -> str:
    """SHA-256 hex of ``record_message(row)``: the record's ``hash``."""
    return hashlib.sha256(record_message(row)).hexdigest()
