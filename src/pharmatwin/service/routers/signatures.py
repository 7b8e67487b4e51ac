"""Electronic signatures: list with their manifestations, and sign (21 CFR 11.50, 11.70,
11.200; EU GMP Annex 11, section 14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.schemas.gmp import SignatureOut, SignaturesOut, SignIn
from pharmatwin.service.services.signatures import SUPPORTED, required_action

router = APIRouter(prefix="/signatures", tags=["signatures"])
_TYPES = ", ".join(f"`{t}`" for t in SUPPORTED)


@router.get(
    "",
    summary="Signatures of a record",
    description="Each signature of the record with its manifestation (printed name, date and "
    "time UTC, meaning) and whether it is valid for the record's current content (a change "
    f"after signing shows it invalid, with the reason). Record types: {_TYPES} (id: the batch "
    "id, or `NAME@vN` for a version); 422 for another type, 404 for an unknown record.",
)
def list_signatures(
    request: Request,
    _: Annotated[Session, Depends(allow("view"))],
    record_type: Annotated[str, Query(min_length=1)],
    record_id: Annotated[str, Query(min_length=1)],
) -> SignaturesOut:
    return services(request).signatures.list(record_type, record_id)


@router.post(
    "",
    summary="Sign a record",
    description="Sign the record's current content with your own password (re-entered at each "
    "signing) and a meaning: `authored` or `reviewed` need `sign_record`; `approved` or "
    "`released` need `approve_record` (`approve_version` for a version) and are refused (409, "
    "four-eyes rule) to the record's author. 401 for a wrong password (it counts toward the "
    "account's lockout; 423 once locked), 409 when `content_hash` is given and the record "
    f"changed since, 422 naming the field for bad input. Record types: {_TYPES}.",
)
def sign(
    body: SignIn,
    request: Request,
    session: Annotated[Session, Depends(allow("sign_record"))],
) -> SignatureOut:
    svc = services(request)
    svc.auth.authorize(session, required_action(body.record_type, body.meaning))
    return svc.signatures.sign(session.user.name, body)
