"""A throwaway PostgreSQL server for the test session.

Use it from a test module or a ``conftest.py``::

    from tests.services.postgres import postgres_url

    def test_something(postgres_url: str) -> None: ...

The server is initialized into a temporary folder, listens on 127.0.0.1 on a free port, and
is stopped (``pg_ctl stop -m immediate``) at the end of the session, even after failures. The
tests are skipped only when the PostgreSQL server binaries are not installed (Debian package
``postgresql``); CI installs them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pharmatwin.historian.pgserver import FAST_SETTINGS, find_bindir, start_server

__all__ = ["postgres_url", "reset_database"]

TABLES = "tags, samples, batches, events, quarantine, twin_outputs, checkpoints"
"""The historian's tables; the user store's (users, sessions) are emptied by its own tests."""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:PORT/pharmatwin`` of a server for this session."""
    if find_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg", reason="psycopg is not installed (extra 'live')")
    server = start_server("pharmatwin", FAST_SETTINGS)
    try:
        yield server.url
    finally:
        server.stop()


def reset_database(url: str) -> None:
    """Empty the historian's tables (if they exist) so a test starts from nothing."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        exists = connection.execute("SELECT to_regclass('samples') IS NOT NULL").fetchone()
        if exists and exists[0]:
            connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY")
