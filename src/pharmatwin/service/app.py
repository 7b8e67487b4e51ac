"""The FastAPI app: ``create_app(settings, context)``.

Every endpoint is under ``/api`` (OpenAPI at ``/api/openapi.json``, docs at ``/api/docs``).
Errors have one shape, ``{"message": str, "detail": [{"field": str, "message": str}]}``:
401 without a valid session, 403 when the role may not do the action, 404 unknown, 409 when
the service lacks what the request needs (live twin, plant control), 422 bad input (each field
named, e.g. ``comment: Field required``), 423 locked account.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from pharmatwin.gmp.errors import AuthError, LockedOut
from pharmatwin.gmp.permissions import PermissionDenied
from pharmatwin.gmp.users import UserStore
from pharmatwin.historian.urls import open_historian
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.routers import alarms, assets, auth, history, stream, twins
from pharmatwin.service.schemas.common import ErrorItem, ErrorOut
from pharmatwin.service.services.container import Services
from pharmatwin.service.services.errors import BadInputError, ServiceError
from pharmatwin.service.settings import ServiceSettings
from pharmatwin.service.web import pages

PREFIX = "/api"
_LOCATIONS = ("body", "query", "path", "header", "cookie")


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
    users = UserStore(url, session_ttl=timedelta(hours=settings.session_ttl_h))
    services = Services.open(settings, context, historian, users)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        title="pharmatwin",
        summary="Digital twins of pharmaceutical manufacturing: assets, history, forecasts, "
        "alarms and actions.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    for module in (auth, assets, history, twins, alarms, stream):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(pages.router)
    _handlers(app)
    return app
