"""Routes of the operator dashboard: HTML shells, their scripts and styles, and plotly.js.

The pages are static shells; their scripts fetch the API with the ``pharmatwin_session``
cookie that ``POST /api/auth/login`` sets, and go to ``/login`` on a 401. plotly.js is read
at run time from the installed ``plotly`` Python package (``package_data/plotly.min.js``);
it is never copied into this repository.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

router = APIRouter(include_in_schema=False)

STATIC = "static"
"""The folder of this package holding the pages, scripts and styles."""

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(html|js|css)$")
_NO_CACHE = {"Cache-Control": "no-cache"}


def static_text(name: str) -> bytes:
    """The bytes of ``static/<name>``; 404 for any other name (no paths, no other kinds)."""
    if not _NAME.match(name):
        raise HTTPException(404, f"static: no file {name!r}")
    resource = resources.files(__package__ or "pharmatwin.service.web").joinpath(STATIC, name)
    if not resource.is_file():
        raise HTTPException(404, f"static: no file {name!r}")
    return resource.read_bytes()


@cache
def plotly_js() -> Path | None:
    """``plotly.min.js`` of the installed ``plotly`` package (found without importing it)."""
    spec = find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
    return None


def _page(name: str) -> Response:
    return Response(static_text(name), media_type=MEDIA_TYPES[".html"], headers=_NO_CACHE)


@router.get("/login")
def login_page() -> Response:
    return _page("login.html")


@router.get("/")
def overview_page() -> Response:
    return _page("overview.html")


@router.get("/assets/{asset}")
def asset_page(asset: str) -> Response:
    """The shell for any asset name: the script reports an unknown asset (API 404)."""
    return _page("asset.html")


@router.get("/batches")
def batches_page() -> Response:
    return _page("batches.html")


@router.get("/audit")
def audit_page() -> Response:
    """The audit-trail review (its script shows the API's 403 to roles without
    ``view_audit``)."""
    return _page("audit.html")


@router.get("/static/vendor/plotly.min.js")
def plotly_script() -> FileResponse:
    path = plotly_js()
    if path is None:
        raise HTTPException(404, "plotly.min.js: install the 'plotly' package (extra 'service')")
    return FileResponse(
        path, media_type=MEDIA_TYPES[".js"], headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    body = static_text(name)
    return Response(body, media_type=MEDIA_TYPES[suffix], headers=_NO_CACHE)
