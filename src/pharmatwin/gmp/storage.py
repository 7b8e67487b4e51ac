"""The users and sessions tables, in the historian's database (same URL, same backends).

Times are integer microseconds since the Unix epoch (UTC), as in the historian. ``active`` is
an integer 0/1 on both databases; ``locked_until_us`` is NULL when the account is not locked.
A session row keeps only the SHA-256 hash of its token.
"""

from __future__ import annotations

from pathlib import Path

from pharmatwin.historian.backend import Backend, Tx
from pharmatwin.historian.urls import (
    POSTGRES_PREFIXES,
    SQLITE_PREFIX,
    resolve_db_url,
    sqlite_path,
)

_SCHEMA_LOCK = 7_240_611  # advisory lock id serializing concurrent creation on PostgreSQL

TABLES = (
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
        active INTEGER NOT NULL, failures INTEGER NOT NULL, locked_until_us BIGINT,
        created_us BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_hash TEXT PRIMARY KEY, name TEXT NOT NULL REFERENCES users (name),
        expires_us BIGINT NOT NULL, created_us BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS sessions_name ON sessions (name)",
    "CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_us)",
)


def open_backend(url: str | None) -> Backend:
    """The historian backend of ``url`` (see ``pharmatwin.historian.urls.resolve_db_url``),
    with the users and sessions tables created if missing.

    Raises ``ValueError`` naming ``--db`` for an unknown scheme.
    """
    url = resolve_db_url(url)
    backend: Backend
    if url.startswith(SQLITE_PREFIX):
        from pharmatwin.historian.sqlite import MEMORY, SqliteBackend

        path = sqlite_path(url)
        if path != MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        backend = SqliteBackend(path)
    elif url.startswith(POSTGRES_PREFIXES):
        from pharmatwin.historian.postgres import PostgresBackend

        backend = PostgresBackend(url)
    else:
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise ValueError(
            f"--db: unknown database URL scheme {scheme!r} in {url!r}; use sqlite:///path.db "
            "or postgresql://user@host:port/database"
        )
    try:
        backend.write(lambda tx: create_tables(tx, backend.dialect))
    except BaseException:
        backend.close()
        raise
    return backend


def create_tables(tx: Tx, dialect: str) -> None:
    """Create the users and sessions tables if missing (idempotent)."""
    if dialect == "postgresql":
        tx.run("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
    for statement in TABLES:
        tx.run(statement)
