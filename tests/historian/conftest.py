"""Historians on both backends: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pharmatwin.historian.store import Historian
from pharmatwin.historian.urls import open_historian
from tests.services.postgres import postgres_url, reset_database

__all__ = ["postgres_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty historian database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'historian.db'}"
    url: str = request.getfixturevalue("postgres_url")
    reset_database(url)
    return url


@pytest.fixture
def historian(db_url: str) -> Iterator[Historian]:
    """An open, empty historian on each backend."""
    with open_historian(db_url) as opened:
        yield opened
