"""Errors of the users and sessions store."""

from __future__ import annotations

from datetime import datetime

WRONG_CREDENTIALS = "wrong user name or password"


class UserError(ValueError):
    """Bad input about a user; the message starts with the field (``name:``, ``role:``,
    ``password:``)."""


class AuthError(Exception):
    """A login failed. Unknown user and wrong password give the same message."""

    def __init__(self, message: str = WRONG_CREDENTIALS) -> None:
        super().__init__(message)


class LockedOut(AuthError):  # noqa: N818 (the name of the public API)
    """Too many wrong passwords in a row: the account is locked until ``until`` (UTC)."""

    def __init__(self, name: str, until: datetime) -> None:
        stamp = until.strftime("%Y-%m-%dT%H:%M:%SZ")
        super().__init__(
            f"user {name!r} is locked after too many wrong passwords until {stamp} (UTC)"
        )
        self.until = until
