"""Logins, lockout, sessions and logout on SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from pharmatwin.gmp.users import AuthError, LockedOut, UserStore
from pharmatwin.historian.sqlite import SqliteBackend
from tests.gmp.conftest import PASSWORD, START, Clock

WRONG = "wrong user name or password"


@pytest.fixture
def alice(store: UserStore) -> UserStore:
    store.add("alice", "operator", PASSWORD)
    return store


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows read directly from the database, past the store."""
    if url.startswith("sqlite:///"):
        backend = SqliteBackend(url.removeprefix("sqlite:///"))
        try:
            return backend.read(sql)
        finally:
            backend.close()
    import psycopg

    with psycopg.connect(url) as connection:
        return list(connection.execute(sql).fetchall())


def test_login_opens_a_session(alice: UserStore) -> None:
    session = alice.login("alice", PASSWORD)
    assert session.user.name == "alice" and session.user.role == "operator"
    assert session.expires == START + timedelta(hours=8)
    assert len(session.token) >= 43
    assert alice.session(session.token) == session
    assert alice.login("alice", PASSWORD).token != session.token


def test_unknown_user_and_wrong_password_say_the_same(alice: UserStore) -> None:
    with pytest.raises(AuthError) as unknown:
        alice.login("bob", PASSWORD)
    with pytest.raises(AuthError) as wrong:
        alice.login("alice", "Correct-Horse-8")
    assert str(unknown.value) == str(wrong.value) == WRONG
    assert type(unknown.value) is type(wrong.value) is AuthError


def test_lockout_after_5_failures_and_unlock_after_15_min(alice: UserStore, clock: Clock) -> None:
    for _ in range(4):
        with pytest.raises(AuthError, match=WRONG):
            alice.login("alice", "Wrong-Password-1")
    with pytest.raises(LockedOut, match=r"until 2026-01-05T06:15:00Z \(UTC\)") as fifth:
        alice.login("alice", "Wrong-Password-1")
    assert fifth.value.until == START + timedelta(minutes=15)
    clock.advance(timedelta(minutes=14, seconds=59))
    with pytest.raises(LockedOut, match="06:15:00Z"):
        alice.login("alice", PASSWORD)  # even the right password
    clock.advance(timedelta(seconds=1))
    assert alice.login("alice", PASSWORD).user.name == "alice"


def test_the_count_restarts_after_the_lockout(alice: UserStore, clock: Clock) -> None:
    for _ in range(5):
        with pytest.raises(AuthError):
            alice.login("alice", "Wrong-Password-1")
    clock.advance(timedelta(minutes=15))
    for _ in range(4):
        with pytest.raises(AuthError, match=WRONG):
            alice.login("alice", "Wrong-Password-1")
    with pytest.raises(LockedOut):
        alice.login("alice", "Wrong-Password-1")


def test_a_success_resets_the_count(alice: UserStore) -> None:
    for _ in range(4):
        with pytest.raises(AuthError):
            alice.login("alice", "Wrong-Password-1")
    alice.login("alice", PASSWORD)
    for _ in range(4):
        with pytest.raises(AuthError, match=WRONG):
            alice.login("alice", "Wrong-Password-1")
    assert alice.login("alice", PASSWORD).user.name == "alice"


def test_a_lock_ends_open_sessions_until_it_expires(alice: UserStore, clock: Clock) -> None:
    session = alice.login("alice", PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthError):
            alice.login("alice", "Wrong-Password-1")
    assert alice.session(session.token) is None
    clock.advance(timedelta(minutes=15))
    assert alice.session(session.token) == session


def test_settings_for_failures_and_lockout(db_url: str, clock: Clock) -> None:
    with UserStore(db_url, clock=clock, max_failures=2, lockout=timedelta(hours=1)) as store:
        store.add("bob", "qa", PASSWORD)
        with pytest.raises(AuthError, match=WRONG):
            store.login("bob", "Wrong-Password-1")
        with pytest.raises(LockedOut, match="until 2026-01-05T07:00:00Z"):
            store.login("bob", "Wrong-Password-1")


def test_a_session_expires(db_url: str, clock: Clock) -> None:
    with UserStore(db_url, clock=clock, session_ttl=timedelta(minutes=30)) as store:
        store.add("alice", "viewer", PASSWORD)
        session = store.login("alice", PASSWORD)
        assert session.expires == START + timedelta(minutes=30)
        clock.advance(timedelta(minutes=29, seconds=59))
        assert store.session(session.token) == session
        clock.advance(timedelta(seconds=1))
        assert store.session(session.token) is None


def test_logout_ends_only_that_session(alice: UserStore) -> None:
    first = alice.login("alice", PASSWORD)
    second = alice.login("alice", PASSWORD)
    alice.logout(first.token)
    assert alice.session(first.token) is None
    assert alice.session(second.token) == second
    alice.logout(first.token)  # again: nothing happens
    alice.logout("never-issued")


def test_unknown_tokens_have_no_session(alice: UserStore) -> None:
    assert alice.session("") is None
    assert alice.session("x" * 43) is None


def test_an_inactive_user_cannot_log_in(alice: UserStore) -> None:
    session = alice.login("alice", PASSWORD)
    alice.set_active("alice", False)
    assert alice.session(session.token) is None
    with pytest.raises(AuthError, match="deactivated"):
        alice.login("alice", PASSWORD)
    with pytest.raises(AuthError, match=WRONG):
        alice.login("alice", "Wrong-Password-1")
    alice.set_active("alice", True)
    assert alice.session(session.token) is None  # deactivation ended it for good
    assert alice.login("alice", PASSWORD).user.active


def test_a_role_change_reaches_open_sessions(alice: UserStore) -> None:
    session = alice.login("alice", PASSWORD)
    alice.set_role("alice", "engineer")
    found = alice.session(session.token)
    assert found is not None and found.user.role == "engineer"


def test_set_password_replaces_it_and_unlocks(alice: UserStore) -> None:
    session = alice.login("alice", PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthError):
            alice.login("alice", "Wrong-Password-1")
    alice.set_password("alice", "Brand-New-Pass-2")
    assert alice.session(session.token) is None
    with pytest.raises(AuthError, match=WRONG):
        alice.login("alice", PASSWORD)
    assert alice.login("alice", "Brand-New-Pass-2").user.name == "alice"


def test_tokens_and_passwords_are_stored_hashed(alice: UserStore, db_url: str) -> None:
    session = alice.login("alice", PASSWORD)
    rows = _rows(db_url, "SELECT token_hash, name, expires_us, created_us FROM sessions")
    assert len(rows) == 1
    token_hash, name, expires_us, created_us = rows[0]
    assert token_hash == hashlib.sha256(session.token.encode()).hexdigest()
    assert session.token not in str(rows)
    assert (name, int(str(expires_us)) - int(str(created_us))) == ("alice", 8 * 3600 * 10**6)
    users = _rows(db_url, "SELECT password_hash, failures, locked_until_us FROM users")
    stored = str(users[0][0])
    assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored
    assert users[0][1:] == (0, None)
