"""User stores on both backends, with a clock the tests move by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pharmatwin.gmp.users import UserStore
from tests.services.postgres import postgres_url

__all__ = ["postgres_url"]

START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
PASSWORD = "Correct-Horse-7"


class Clock:
    """A UTC clock that only moves when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def reset_users(url: str) -> None:
    """Empty the users and sessions tables of a PostgreSQL database (if they exist)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        exists = connection.execute("SELECT to_regclass('users') IS NOT NULL").fetchone()
        if exists and exists[0]:
            connection.execute("TRUNCATE users, sessions")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a database without users, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'historian.db'}"
    url: str = request.getfixturevalue("postgres_url")
    reset_users(url)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db_url: str, clock: Clock) -> Iterator[UserStore]:
    """An open store without users: 5 failures lock for 15 min, sessions last 8 h."""
    with UserStore(db_url, clock=clock) as opened:
        yield opened
