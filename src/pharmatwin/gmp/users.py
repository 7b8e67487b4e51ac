"""Users, roles, logins and sessions, stored in the historian's database.

Each person has one named account (21 CFR 11.100(a); EU GMP Annex 11, section 12.1) with one
role (see ``pharmatwin.gmp.permissions``). A login checks the password (scrypt, see
``pharmatwin.gmp.passwords``) and opens a session: a random token (``secrets.token_urlsafe(32)``,
256 bits) of which only the SHA-256 hash is stored, valid for ``session_ttl``. After
``max_failures`` wrong passwords in a row the account is locked for ``lockout`` (21 CFR
11.300(d)); a successful login resets the count. Accounts are deactivated, never deleted, so
the records they signed keep a name.

Thread safety: one ``UserStore`` may be shared between threads (calls are serialized on one
connection, as for the historian).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from types import TracebackType
from typing import NoReturn, cast

from pharmatwin.gmp.errors import AuthError, LockedOut, UserError
from pharmatwin.gmp.passwords import check_policy, hash_password, verify_password
from pharmatwin.gmp.permissions import ROLES, Role
from pharmatwin.gmp.storage import open_backend
from pharmatwin.historian.backend import Row, Tx
from pharmatwin.historian.records import from_us, to_us

__all__ = ["AuthError", "LockedOut", "Session", "User", "UserError", "UserStore"]

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
_USER_COLUMNS = "name, role, active, created_us"


@cache
def _dummy_hash() -> str:
    """A hash checked when the user is unknown, so that both failures take as long."""
    return hash_password(secrets.token_urlsafe(16))


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class User:
    """An account: its unique name, role, whether it may log in, when it was created (UTC)."""

    name: str
    role: Role
    active: bool
    created: datetime


@dataclass(frozen=True)
class Session:
    """A logged-in user: the bearer token (shown once, stored hashed) and its expiry (UTC)."""

    token: str
    user: User
    expires: datetime


def check_name(name: object) -> str:
    """A valid user name: 1 to 64 letters, digits, ``.``, ``_`` or ``-``."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise UserError(
            f"name: {name!r} is not a user name (1 to 64 letters, digits, '.', '_' or '-')"
        )
    return name


def check_role(role: object) -> Role:
    """A valid role, one of ``ROLES``."""
    if role not in ROLES:
        raise UserError(f"role: {role!r} is not a role; one of {', '.join(ROLES)}")
    return role


def token_hash(token: str) -> str:
    """The stored form of a session token: its SHA-256 hash, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(row: Row) -> User:
    name, role, active, created_us = row
    return User(str(name), cast(Role, role), bool(active), from_us(int(created_us)))


class UserStore:
    """Accounts and sessions in the database at ``url`` (default: the historian's, see
    ``pharmatwin.historian.urls.resolve_db_url``); the tables are created when missing.

    Args:
        url: ``sqlite:///path.db`` or ``postgresql://...``.
        session_ttl: how long a session stays valid after login.
        max_failures: wrong passwords in a row that lock the account.
        lockout: how long a locked account stays locked.
        clock: the current UTC time (injected by tests).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        session_ttl: timedelta = timedelta(hours=8),
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if session_ttl <= timedelta(0):
            raise ValueError(f"session_ttl: must be positive, got {session_ttl}")
        if max_failures < 1:
            raise ValueError(f"max_failures: must be at least 1, got {max_failures}")
        if lockout <= timedelta(0):
            raise ValueError(f"lockout: must be positive, got {lockout}")
        self.session_ttl = session_ttl
        self.max_failures = max_failures
        self.lockout = lockout
        self._clock = clock
        self._backend = open_backend(url)

    @property
    def label(self) -> str:
        """The database, for messages (no password)."""
        return self._backend.label

    def close(self) -> None:
        """Close the connection."""
        self._backend.close()

    def __enter__(self) -> UserStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _now_us(self) -> int:
        return to_us(self._clock())

    # accounts -----------------------------------------------------------------------------

    def add(self, name: str, role: str, password: str) -> User:
        """Create an active account; ``UserError`` for a bad or taken name, a bad role or a
        password that breaks the policy."""
        check_name(name)
        checked_role = check_role(role)
        check_policy(name, password)
        encoded = hash_password(password)
        created_us = self._now_us()

        def work(tx: Tx) -> None:
            if tx.run("SELECT 1 FROM users WHERE name = ?", (name,)):
                raise UserError(f"name: a user {name!r} already exists")
            tx.run(
                "INSERT INTO users (name, role, password_hash, active, failures, "
                "locked_until_us, created_us) VALUES (?, ?, ?, 1, 0, NULL, ?)",
                (name, checked_role, encoded, created_us),
            )

        self._backend.write(work)
        return User(name, checked_role, True, from_us(created_us))

    def get(self, name: str) -> User | None:
        """The account called ``name``, or ``None``."""
        rows = self._backend.read(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,))
        return _user(rows[0]) if rows else None

    def users(self) -> list[User]:
        """Every account, sorted by name."""
        rows = self._backend.read(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")
        return [_user(row) for row in rows]

    def set_role(self, name: str, role: str) -> User:
        """Give ``name`` another role (its open sessions get it too)."""
        checked_role = check_role(role)
        return self._update(name, "role = ?", (checked_role,))

    def set_active(self, name: str, active: bool) -> User:
        """Allow or forbid ``name`` to log in; deactivating ends its sessions."""
        user = self._update(name, "active = ?", (int(active),))
        if not active:
            self._backend.write(lambda tx: tx.run("DELETE FROM sessions WHERE name = ?", (name,)))
        return user

    def set_password(self, name: str, password: str) -> User:
        """Replace the password of ``name`` (policy checked); unlocks it, ends its sessions."""
        check_policy(name, password)
        encoded = hash_password(password)
        user = self._update(
            name, "password_hash = ?, failures = 0, locked_until_us = NULL", (encoded,)
        )
        self._backend.write(lambda tx: tx.run("DELETE FROM sessions WHERE name = ?", (name,)))
        return user

    def _update(self, name: str, assignments: str, params: tuple[object, ...]) -> User:
        def work(tx: Tx) -> User:
            tx.run(f"UPDATE users SET {assignments} WHERE name = ?", (*params, name))
            rows = tx.run(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,))
            if not rows:
                raise UserError(f"name: no user {name!r}")
            return _user(rows[0])

        return self._backend.write(work)

    # logins and sessions ------------------------------------------------------------------

    def check_password(self, name: str, password: str) -> User:
        """The account of ``name`` if ``password`` is its password, opening no session (a
        signature's re-entered password, 21 CFR 11.200(a)). A wrong password counts toward the
        lockout as a failed login does.

        Raises ``AuthError`` ("wrong user name or password") for an unknown name or a wrong
        password, ``LockedOut`` while the account is locked (even with the right password) and
        on the wrong password that locks it, ``AuthError`` naming the account if it is
        deactivated (only said to someone who knows the password).
        """
        rows = self._backend.read(
            "SELECT password_hash, active, locked_until_us FROM users WHERE name = ?", (name,)
        )
        if not rows:
            verify_password(password, _dummy_hash())
            raise AuthError()
        encoded, active, locked_until_us = rows[0]
        now_us = self._now_us()
        if locked_until_us is not None and int(locked_until_us) > now_us:
            raise LockedOut(name, from_us(int(locked_until_us)))
        if not verify_password(password, str(encoded)):
            self._failed(name, now_us)
        if not active:
            raise AuthError(f"user {name!r} is deactivated; ask an administrator")
        user = self.get(name)
        if user is None:  # pragma: no cover (accounts are never deleted)
            raise AuthError()
        return user

    def login(self, name: str, password: str) -> Session:
        """Open a session for ``name`` (errors as ``check_password``); a successful login
        clears the failure count."""
        self.check_password(name, password)
        now_us = self._now_us()
        token = secrets.token_urlsafe(32)
        expires_us = to_us(from_us(now_us) + self.session_ttl)

        def work(tx: Tx) -> User:
            tx.run("UPDATE users SET failures = 0, locked_until_us = NULL WHERE name = ?", (name,))
            tx.run("DELETE FROM sessions WHERE expires_us <= ?", (now_us,))
            tx.run(
                "INSERT INTO sessions (token_hash, name, expires_us, created_us) "
                "VALUES (?, ?, ?, ?)",
                (token_hash(token), name, expires_us, now_us),
            )
            return _user(tx.run(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,))[0])

        user = self._backend.write(work)
        return Session(token, user, from_us(expires_us))

    def _failed(self, name: str, now_us: int) -> NoReturn:
        """Count a wrong password; lock the account at ``max_failures``. Always raises."""
        lock_us = to_us(from_us(now_us) + self.lockout)

        def work(tx: Tx) -> bool:
            rows = tx.run("SELECT failures FROM users WHERE name = ?", (name,))
            failures = int(rows[0][0]) + 1 if rows else 1
            if failures >= self.max_failures:
                tx.run(
                    "UPDATE users SET failures = 0, locked_until_us = ? WHERE name = ?",
                    (lock_us, name),
                )
                return True
            tx.run("UPDATE users SET failures = ? WHERE name = ?", (failures, name))
            return False

        if self._backend.write(work):
            raise LockedOut(name, from_us(lock_us))
        raise AuthError()

    def session(self, token: str) -> Session | None:
        """The session of ``token``; ``None`` if unknown, expired, or its user is deactivated
        or locked."""
        rows = self._backend.read(
            "SELECT s.expires_us, u.name, u.role, u.active, u.created_us, u.locked_until_us "
            "FROM sessions AS s JOIN users AS u ON u.name = s.name WHERE s.token_hash = ?",
            (token_hash(token),),
        )
        if not rows:
            return None
        expires_us, name, role, active, created_us, locked_until_us = rows[0]
        now_us = self._now_us()
        if int(expires_us) <= now_us or not active:
            return None
        if locked_until_us is not None and int(locked_until_us) > now_us:
            return None
        user = _user((name, role, active, created_us))
        return Session(token, user, from_us(int(expires_us)))

    def logout(self, token: str) -> None:
        """End the session of ``token`` (nothing happens for an unknown one)."""
        self._backend.write(
            lambda tx: tx.run("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))
        )
