"""Accounts on SQLite and PostgreSQL: add, roles, activity, input errors, persistence."""

from __future__ import annotations

import pytest

from pharmatwin.gmp.users import User, UserError, UserStore
from pharmatwin.historian.urls import open_historian
from tests.gmp.conftest import PASSWORD, START, Clock


def test_add_then_get_and_list(store: UserStore) -> None:
    alice = store.add("alice", "operator", PASSWORD)
    assert alice == User("alice", "operator", True, START)
    store.add("Bob_2.x-y", "qa", "Another-Pass-9")
    assert store.get("alice") == alice
    assert store.get("nobody") is None
    assert [u.name for u in store.users()] == ["Bob_2.x-y", "alice"]
    assert store.users()[0].role == "qa"


@pytest.mark.parametrize(
    ("name", "role", "password", "field"),
    [
        ("", "operator", PASSWORD, "name"),
        ("x" * 65, "operator", PASSWORD, "name"),
        ("al ice", "operator", PASSWORD, "name"),
        ("alice/1", "operator", PASSWORD, "name"),
        ("alice", "root", PASSWORD, "role"),
        ("alice", "Operator", PASSWORD, "role"),
        ("alice", "operator", "short-1A", "password"),
        ("alice", "operator", "alllowercaseletters", "password"),
    ],
)
def test_bad_input_names_the_field(
    store: UserStore, name: str, role: str, password: str, field: str
) -> None:
    with pytest.raises(UserError, match=f"^{field}: "):
        store.add(name, role, password)
    assert store.users() == []


def test_a_64_character_name_is_accepted(store: UserStore) -> None:
    assert store.add("a" * 64, "viewer", PASSWORD).name == "a" * 64


def test_a_duplicate_name_is_refused(store: UserStore) -> None:
    store.add("alice", "operator", PASSWORD)
    with pytest.raises(UserError, match="name: a user 'alice' already exists"):
        store.add("alice", "admin", "Different-Pass-1")
    assert store.get("alice") == User("alice", "operator", True, START)


def test_set_role_and_active(store: UserStore) -> None:
    store.add("alice", "operator", PASSWORD)
    assert store.set_role("alice", "engineer").role == "engineer"
    stored = store.get("alice")
    assert stored is not None and stored.role == "engineer"
    assert store.set_active("alice", False).active is False
    assert store.set_active("alice", True).active is True
    with pytest.raises(UserError, match="role: 'boss'"):
        store.set_role("alice", "boss")
    with pytest.raises(UserError, match="name: no user 'bob'"):
        store.set_role("bob", "qa")
    with pytest.raises(UserError, match="name: no user 'bob'"):
        store.set_active("bob", False)


def test_accounts_survive_a_reopen_and_live_beside_the_historian(db_url: str) -> None:
    clock = Clock()
    with UserStore(db_url, clock=clock) as store:
        store.add("alice", "admin", PASSWORD)
    with open_historian(db_url) as historian:
        assert historian.tags() == []  # the historian opens the same database
    with UserStore(db_url, clock=clock) as store:
        assert store.get("alice") == User("alice", "admin", True, START)
        assert store.login("alice", PASSWORD).user.name == "alice"


def test_a_naive_clock_is_refused(db_url: str) -> None:
    from datetime import datetime

    naive = UserStore(db_url, clock=lambda: datetime(2026, 1, 1))
    with naive, pytest.raises(ValueError, match="timezone-aware"):
        naive.add("alice", "admin", PASSWORD)


def test_an_unknown_url_scheme_names_db() -> None:
    with pytest.raises(ValueError, match="--db: unknown database URL scheme 'mysql'"):
        UserStore("mysql://x/y")


def test_bad_settings_name_the_setting() -> None:
    from datetime import timedelta

    with pytest.raises(ValueError, match="max_failures"):
        UserStore("sqlite:///:memory:", max_failures=0)
    with pytest.raises(ValueError, match="session_ttl"):
        UserStore("sqlite:///:memory:", session_ttl=timedelta(0))
