"""Which database a command opens: --db, else PHARMATWIN_DB, else the default file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pharmatwin.historian.records import Sample
from pharmatwin.historian.urls import DEFAULT_URL, ENV_VAR, open_historian, resolve_db_url

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def test_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_db_url(None) == DEFAULT_URL == "sqlite:///pharmatwin-data/historian.db"
    monkeypatch.setenv(ENV_VAR, "postgresql://plant@db/historian")
    assert resolve_db_url(None) == "postgresql://plant@db/historian"
    assert resolve_db_url("sqlite:///x.db") == "sqlite:///x.db"


def test_the_default_is_a_file_in_the_current_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    with open_historian(None) as historian:
        historian.write([Sample("pH", T0, 7.0)])
        assert historian.dialect == "sqlite"
    assert (tmp_path / "pharmatwin-data" / "historian.db").is_file()


def test_the_environment_variable_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_VAR, "sqlite:///env/plant.db")
    with open_historian(None) as historian:
        historian.write([Sample("pH", T0, 7.0)])
    with open_historian(f"sqlite:///{tmp_path / 'env' / 'plant.db'}") as again:
        assert again.count() == 1  # relative and absolute URLs name the same file
    assert not (tmp_path / "pharmatwin-data").exists()


def test_memory_databases_are_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with open_historian("sqlite:///:memory:") as one, open_historian("sqlite:///:memory:") as two:
        one.write([Sample("pH", T0, 7.0)])
        assert (one.count(), two.count()) == (1, 0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("mysql://localhost/db", "--db: unknown database URL scheme 'mysql'"),
        ("historian.db", "--db: unknown database URL scheme"),
        ("sqlite:///", "--db: 'sqlite:///' names no file"),
    ],
)
def test_bad_urls_name_the_option(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        open_historian(url)


def test_a_postgresql_url_opens_postgresql(postgres_url: str) -> None:
    with open_historian(postgres_url) as historian:
        assert historian.dialect == "postgresql"
        assert "postgres@127.0.0.1" in historian.label
