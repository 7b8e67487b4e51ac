"""Shared dependencies: the services, the caller's session and its permission."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from pharmatwin.gmp.users import Session
from pharmatwin.service.services.container import Services
from pharmatwin.service.services.errors import ServiceError

COOKIE = "pharmatwin_session"
"""The cookie login sets for the browser dashboard (same token as the bearer header)."""


class UnauthorizedError(ServiceError):
    """No valid session."""

    status = 401


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def token_of(request: Request) -> str | None:
    """The bearer token of ``Authorization: Bearer <token>``, else the session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def current_session(request: Request) -> Session:
    """The caller's valid session; 401 without one."""
    session = services(request).auth.session(token_of(request))
    if session is None:
        raise UnauthorizedError("authentication: a valid session is required (log in first)")
    return session


def allow(*actions: str) -> Callable[[Request], Session]:
    """A dependency: the caller's session, if its role may do every one of ``actions`` (403
    naming the first it may not do otherwise)."""

    def check(request: Request) -> Session:
        session = current_session(request)
        for action in actions:
            services(request).auth.authorize(session, action)
        return session

    return check
