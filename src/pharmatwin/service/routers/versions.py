"""Versioned twin configurations and recipes: list, show, diff, propose, approve
(21 CFR 11.10(k)(2); EU GMP Annex 11, sections 10 and 14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.schemas.versions import (
    ApproveIn,
    DiffOut,
    ProposeIn,
    VersionedOut,
    VersionOut,
)

router = APIRouter(prefix="/versions", tags=["versions"])
Viewer = Annotated[Session, Depends(allow("view"))]
_KIND = "`kind` is `twin_config` (name: the asset) or `recipe` (name: the recipe's name)."


@router.get(
    "",
    summary="Versioned records",
    description=f"Every versioned twin configuration and recipe with its latest version "
    f"number (of one `kind`, if given). {_KIND}",
)
def list_versioned(request: Request, _: Viewer, kind: str | None = None) -> list[VersionedOut]:
    return services(request).versions.names(kind)


@router.get(
    "/{kind}/{name}",
    summary="Versions of a record",
    description=f"Every version, oldest first, with its content, content hash, author, "
    'reason, status (`approved` while a valid "approved" signature covers exactly its '
    f"content, else `draft`) and its signatures with their manifestations. {_KIND}",
)
def list_versions(kind: str, name: str, request: Request, _: Viewer) -> list[VersionOut]:
    return services(request).versions.versions(kind, name)


@router.get(
    "/{kind}/{name}/diff",
    summary="Diff two versions",
    description="What changed from version `a` to version `b`: one entry per added, removed "
    "or changed value, with its path (named list items such as recipe phases by name).",
)
def diff(
    kind: str,
    name: str,
    request: Request,
    _: Viewer,
    a: Annotated[int, Query(ge=1)],
    b: Annotated[int, Query(ge=1)],
) -> DiffOut:
    return services(request).versions.diff(kind, name, a, b)


@router.post(
    "/{kind}/{name}",
    summary="Propose a version",
    description=f"Store `content` (a twin configuration document or a recipe, validated) as "
    "the next version, a draft, with a required `reason`; recorded in the audit trail (you "
    "become its author, who may not approve it). 409 when it equals the latest version, 422 "
    f"naming `content.<field>` for invalid content. Needs `propose_version`. {_KIND}",
    status_code=201,
)
def propose(
    kind: str,
    name: str,
    body: ProposeIn,
    request: Request,
    session: Annotated[Session, Depends(allow("propose_version"))],
) -> VersionOut:
    return services(request).versions.propose(
        kind, name, body.content, session.user.name, body.reason
    )


@router.post(
    "/{kind}/{name}/{version}/approve",
    summary="Approve a version",
    description='Sign the version "approved" with your own password and a reason (an '
    "electronic signature bound to its content hash). Its author may not (409, four-eyes "
    "rule); 401 for a wrong password. Needs `approve_version` (QA).",
)
def approve(
    kind: str,
    name: str,
    version: int,
    *,
    body: ApproveIn,
    request: Request,
    session: Annotated[Session, Depends(allow("approve_version"))],
) -> VersionOut:
    return services(request).versions.approve(
        kind, name, version, user=session.user.name, password=body.password, reason=body.reason
    )
