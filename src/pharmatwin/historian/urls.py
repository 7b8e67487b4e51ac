"""Where the historian is: a database URL from ``--db``, ``PHARMATWIN_DB`` or the default.

``sqlite:///relative/path.db`` (relative to the current directory), ``sqlite:////abs/path.db``,
``sqlite:///:memory:`` (tests) or ``postgresql://user@host:port/database``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pharmatwin.historian.store import Historian

ENV_VAR = "PHARMATWIN_DB"
DEFAULT_URL = "sqlite:///pharmatwin-data/historian.db"
SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def resolve_db_url(cli_value: str | None) -> str:
    """The URL to open: the command-line value, else ``PHARMATWIN_DB``, else the default
    ``sqlite:///pharmatwin-data/historian.db`` (relative to the current directory)."""
    if cli_value:
        return cli_value
    return os.environ.get(ENV_VAR) or DEFAULT_URL


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///`` URL (``:memory:`` stays as is)."""
    path = url[len(SQLITE_PREFIX) :]
    if not path:
        raise ValueError(f"--db: {url!r} names no file; use sqlite:///path/to/historian.db")
    return path


def open_historian(url: str | None = None) -> Historian:
    """Open (creating tables if needed) the historian at ``url`` (see ``resolve_db_url``).

    A SQLite file's folder is created if missing. Raises ``ValueError`` naming ``--db`` for an
    unknown scheme.
    """
    url = resolve_db_url(url)
    if url.startswith(SQLITE_PREFIX):
        from pharmatwin.historian.sqlite import MEMORY, SqliteBackend

        path = sqlite_path(url)
        if path != MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return Historian(SqliteBackend(path))
    if url.startswith(POSTGRES_PREFIXES):
        from pharmatwin.historian.postgres import PostgresBackend

        return Historian(PostgresBackend(url))
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ValueError(
        f"--db: unknown database URL scheme {scheme!r} in {url!r}; use sqlite:///path.db or "
        "postgresql://user@host:port/database"
    )
