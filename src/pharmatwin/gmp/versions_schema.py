"""The table of versioned GMP records (``gmp_versions``) and its append-only guards.

One row per version: kind, name, version number (1, 2, ...), the content as canonical JSON
text (``pharmatwin.gmp.canonical``), its SHA-256 content hash, the author, the reason and the
UTC time (integer microseconds since the Unix epoch). ``UPDATE``, ``DELETE`` (and on
PostgreSQL ``TRUNCATE``) are refused by trigger, as for the audit trail (EU GMP Annex 11,
section 9): the guards stop mistakes; the content hashes, the signatures bound to them and the
hash-chained audit trail are the real record.
"""

from __future__ import annotations

from pharmatwin.historian.backend import Tx

__all__ = ["COLUMNS", "VERSION_LOCK", "create_version_tables"]

VERSION_LOCK = 7_240_612  # advisory lock serializing version numbering on PostgreSQL
COLUMNS = "kind, name, version, content, content_hash, author, reason, created_us"

TABLES: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS gmp_versions (
        kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
        content TEXT NOT NULL, content_hash TEXT NOT NULL, author TEXT NOT NULL,
        reason TEXT NOT NULL, created_us BIGINT NOT NULL,
        PRIMARY KEY (kind, name, version))""",
    "CREATE INDEX IF NOT EXISTS gmp_versions_hash ON gmp_versions (kind, name, content_hash)",
)


_SQLITE_GUARDS = tuple(
    f"""CREATE TRIGGER IF NOT EXISTS gmp_versions_no_{op} BEFORE {op.upper()} ON gmp_versions
    BEGIN SELECT RAISE(ABORT, 'gmp_versions is append-only: {op.upper()} refused'); END"""
    for op in ("update", "delete")
)
_PG_FUNCTION = """CREATE OR REPLACE FUNCTION pharmatwin_versions_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING
        MESSAGE = 'gmp_versions is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege'; END $$"""
_PG_GUARDS = {
    "gmp_versions_append_only": """CREATE TRIGGER gmp_versions_append_only
        BEFORE UPDATE OR DELETE ON gmp_versions
        FOR EACH ROW EXECUTE FUNCTION pharmatwin_versions_append_only()""",
    "gmp_versions_no_truncate": """CREATE TRIGGER gmp_versions_no_truncate
        BEFORE TRUNCATE ON gmp_versions
        FOR EACH STATEMENT EXECUTE FUNCTION pharmatwin_versions_append_only()""",
}
"""Append-only guards (as for the audit trail: they stop mistakes; the content hashes and
the audit trail are the real record)."""


def create_version_tables(tx: Tx, dialect: str) -> None:
    """Create the table, its index and its guards if missing (idempotent)."""
    postgres = dialect == "postgresql"
    if postgres:
        tx.run("SELECT pg_advisory_xact_lock(?)", (VERSION_LOCK,))
    for statement in TABLES:
        tx.run(statement)
    if not postgres:
        for statement in _SQLITE_GUARDS:
            tx.run(statement)
        return
    tx.run(_PG_FUNCTION)
    for name, statement in _PG_GUARDS.items():
        if not tx.run("SELECT 1 FROM pg_trigger WHERE tgname = ?", (name,)):
            tx.run(statement)
