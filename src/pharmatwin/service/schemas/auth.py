"""Login and the current user."""

from __future__ import annotations

from pydantic import Field

from pharmatwin.service.schemas.common import In, Out, UtcTime


class LoginIn(In):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(Out):
    name: str
    role: str


class LoginOut(Out):
    """A new session: send ``token`` as ``Authorization: Bearer <token>``."""

    token: str
    expires: UtcTime
    user: UserOut


class MeOut(Out):
    user: UserOut
    expires: UtcTime
