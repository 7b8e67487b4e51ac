"""The FastAPI app: ``create_app(settings, context)``.

Every endpoint is under ``/api`` (OpenAPI at ``/api/openapi.json``, docs at ``/api/docs``).
Errors have one shape, ``{"message": str, "detail": [{"field": str, "message": str}]}``:
401 without a valid session (or a wrong password re-entered to sign), 403 when the role may not
do the action, 404 unknown, 409 when the service lacks what the request needs (live twin, plant
control, reportlab) or a rule of the records refuses it (four-eyes rule, unchanged version,
content changed since it was reviewed), 422 bad input (each field named, e.g. ``reason: Field
required``), 423 locked account.

The historian, the user store and the audit trail (with signatures and versions) share one
database; they are opened here and closed when the app shuts down.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from pharmatwin.gmp.audit import AuditError, AuditTrail
from pharmatwin.gmp.errors import AuthError, LockedOut, UserError
from pharmatwin.gmp.permissions import PermissionDenied
from pharmatwin.gmp.signatures import SignatureError
from pharmatwin.gmp.users import UserStore
from pharmatwin.gmp.versions import VersionError
from pharmatwin.historian.urls import open_historian
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.routers import (
    alarms,
    assets,
    audit,
    auth,
    batch_records,
    genealogy,
    history,
    signatures,
    stream,
    twins,
    versions,
)
from pharmatwin.service.schemas.common import ErrorItem, ErrorOut
from pharmatwin.service.services.container import Services
from pharmatwin.service.services.errors import BadInputError, ServiceError
from pharmatwin.service.settings import ServiceSettings
from pharmatwin.service.web import pages

PREFIX = "/api"
_LOCATIONS = ("body", "query", "path", "header", "cookie")
_FIELD = re.compile(r"^(?P<field>[A-Za-z_][\w.\-\[\]]*): (?P<message>.+)$", re.DOTALL)


def _field(loc: Sequence[Any]) -> str:
    """``("body", "action", "kind")`` -> ``action.kind``."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _errors(items: Sequence[Any]) -> list[ErrorItem]:
    out = []
    for e in items:
        text = str(e.get("msg", "invalid"))
        out.append(
            ErrorItem(field=_field(e.get("loc", ())), message=text.removeprefix("Value error, "))
        )
    return out


def _reply(status: int, message: str, detail: list[ErrorItem] | None = None) -> JSONResponse:
    body = ErrorOut(message=message, detail=detail or [])
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _invalid(items: list[ErrorItem]) -> JSONResponse:
    return _reply(422, "; ".join(f"{i.field}: {i.message}" for i in items), items)


def _named(exc: Exception) -> ErrorItem:
    """``field: message`` of a library error naming its field (``body`` when it names none)."""
    text = str(exc)
    match = _FIELD.match(text)
    if match is None:
        return ErrorItem(field="body", message=text)
    return ErrorItem(field=match["field"], message=match["message"])


def signature_status(exc: SignatureError) -> int:
    """The HTTP status of a refused signature: 401 wrong password, 423 locked, 403
    deactivated, 409 the four-eyes rule, 422 bad input."""
    text = str(exc)
    if text.startswith("password:"):
        return 423 if "locked" in text else 401
    if text.startswith("user:"):
        return 403
    if text.startswith("four-eyes rule:"):
        return 409
    return 422


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid(_errors(exc.errors()))

    @app.exception_handler(ValidationError)
    async def model_invalid(_: Request, exc: ValidationError) -> JSONResponse:
        return _invalid(_errors(exc.errors()))

    @app.exception_handler(BadInputError)
    async def bad_input(_: Request, exc: BadInputError) -> JSONResponse:
        return _invalid([ErrorItem(field=exc.field, message=exc.message)])

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return _reply(exc.status, str(exc))

    @app.exception_handler(PermissionDenied)
    async def denied(_: Request, exc: PermissionDenied) -> JSONResponse:
        return _reply(403, f"forbidden: role {exc.role!r} may not {exc.action!r}")

    @app.exception_handler(AuthError)
    async def auth_failed(_: Request, exc: AuthError) -> JSONResponse:
        return _reply(423 if isinstance(exc, LockedOut) else 401, str(exc))

    @app.exception_handler(SignatureError)
    async def signature_refused(_: Request, exc: SignatureError) -> JSONResponse:
        status = signature_status(exc)
        if status == 422:
            return _invalid([_named(exc)])
        return _reply(status, str(exc))

    async def named_invalid(_: Request, exc: Exception) -> JSONResponse:
        return _invalid([_named(exc)])

    for kind in (AuditError, VersionError, UserError):
        app.add_exception_handler(kind, named_invalid)


def create_app(
    settings: ServiceSettings | None = None, context: ServiceContext | None = None
) -> FastAPI:
    """The API over the historian (and user store) at ``context.db_url`` or ``settings.db``,
    and the context's runtime and plant control if any. The databases are opened now and
    closed when the app shuts down."""
    settings = settings or ServiceSettings()
    context = context or ServiceContext()
    url = context.db_url or settings.db
    historian = open_historian(url)
    opened: list[UserStore | AuditTrail] = []
    try:
        users = UserStore(url, session_ttl=timedelta(hours=settings.session_ttl_h))
        opened.append(users)
        trail = AuditTrail(url)
        opened.append(trail)
        services = Services.open(settings, context, historian, users, trail)
    except BaseException:
        for store in reversed(opened):
            store.close()
        historian.close()
        raise

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        title="pharmatwin",
        summary="Digital twins of pharmaceutical manufacturing: assets, history, forecasts, "
        "alarms and actions; GMP records: audit trail, electronic signatures, versions, "
        "electronic batch records, material genealogy.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    for module in (
        auth,
        assets,
        history,
        batch_records,
        twins,
        alarms,
        stream,
        audit,
        signatures,
        versions,
        genealogy,
    ):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(pages.router)
    _handlers(app)
    return app
