"""Logins, sessions and role checks over ``pharmatwin.gmp``."""

from __future__ import annotations

from pharmatwin.gmp.permissions import require
from pharmatwin.gmp.users import Session, UserStore


class AuthService:
    """Opens, reads and ends sessions; checks a session's role against an action."""

    def __init__(self, users: UserStore) -> None:
        self.users = users

    def login(self, name: str, password: str) -> Session:
        """A new session (``AuthError`` / ``LockedOut`` from ``UserStore.login``)."""
        return self.users.login(name, password)

    def session(self, token: str | None) -> Session | None:
        """The valid session of ``token``, or ``None``."""
        return self.users.session(token) if token else None

    def logout(self, token: str) -> None:
        self.users.logout(token)

    @staticmethod
    def authorize(session: Session, action: str) -> None:
        """Raise ``PermissionDenied`` unless the session's role may do ``action``."""
        require(session.user.role, action)
