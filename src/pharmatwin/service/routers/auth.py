"""Log in, log out, who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import COOKIE, current_session, services, token_of
from pharmatwin.service.schemas.auth import LoginIn, LoginOut, MeOut, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    summary="Log in",
    description="Check the name and password and open a session. Send the token back as "
    "`Authorization: Bearer <token>` (a `pharmatwin_session` cookie is set too). 401 on a "
    "wrong name or password, 423 while the account is locked.",
)
def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    svc = services(request)
    session = svc.auth.login(body.name, body.password)
    max_age = int(svc.users.session_ttl.total_seconds())
    response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict", max_age=max_age)
    return LoginOut(
        token=session.token,
        expires=session.expires,
        user=UserOut(name=session.user.name, role=session.user.role),
    )


@router.post(
    "/logout",
    summary="Log out",
    description="End the caller's session; its token is no longer accepted.",
)
def logout(
    session: Annotated[Session, Depends(current_session)], request: Request, response: Response
) -> dict[str, bool]:
    services(request).auth.logout(token_of(request) or session.token)
    response.delete_cookie(COOKIE)
    return {"logged_out": True}


@router.get(
    "/me", summary="Current user", description="The caller's user name, role and session expiry."
)
def me(session: Annotated[Session, Depends(current_session)]) -> MeOut:
    return MeOut(
        user=UserOut(name=session.user.name, role=session.user.role), expires=session.expires
    )
