"""The audit trail: review, verify, export (21 CFR 11.10(b), (e); EU GMP Annex 11, section 9)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.schemas.gmp import AuditListOut, VerifyOut
from pharmatwin.service.services.audit import MAX_LIMIT, report_filter

router = APIRouter(prefix="/audit", tags=["audit trail"])
Reviewer = Annotated[Session, Depends(allow("view_audit"))]
Exporter = Annotated[Session, Depends(allow("view_audit", "export_records"))]

_FILTERS = (
    "Filters (all optional, combined with AND): `record_type` (e.g. `alarm`, `setpoint`, "
    "`action`, `twin_config`, `user`, `batch_record`, `twin_config_version`), `record_id`, "
    "`user`, `since` (inclusive) and `until` (exclusive), ISO 8601 times with a zone."
)


class Filters:
    """The filter query parameters shared by the list and the exports."""

    def __init__(
        self,
        record_type: str | None = None,
        record_id: str | None = None,
        user: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> None:
        self.filter = report_filter(record_type, record_id, user, since, until)


FilterQuery = Annotated[Filters, Depends()]


@router.get(
    "",
    summary="Audit-trail records",
    description="Who did what, when (UTC, server clock), to which record, the old and new value "
    f"and the reason, in sequence order: the last `limit` records matching. {_FILTERS} "
    "Needs `view_audit` (QA, admin).",
)
def list_records(
    request: Request,
    _: Reviewer,
    filters: FilterQuery,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
) -> AuditListOut:
    return services(request).audit.records(filters.filter, limit)


@router.get(
    "/verify",
    summary="Verify the hash chain",
    description="Check every record's hash and its link to the record before; name the first "
    "record altered, removed, inserted or reordered. `head_seq` / `head_hash` of an intact "
    "chain are an anchor to keep outside the database. Needs `view_audit`.",
)
def verify(request: Request, _: Reviewer) -> VerifyOut:
    return services(request).audit.verify()


@router.get(
    "/export.csv",
    summary="Export the review report as CSV",
    description=f"The records matching the filter, one CSV row each (UTF-8; columns seq, "
    "time_utc, user, action, record_type, record_id, old, new, reason, signatures, hash), "
    f"whole values. {_FILTERS} Needs `view_audit` and `export_records`.",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_csv(request: Request, _: Exporter, filters: FilterQuery) -> Response:
    body = services(request).audit.export_csv(filters.filter)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
    )


@router.get(
    "/export.pdf",
    summary="Export the review report as PDF",
    description="The review report: filter, chain check and anchor, one row per record and "
    "the signature manifestations of each record (A4 landscape). "
    f"{_FILTERS} Needs `view_audit` and `export_records`; 409 without reportlab.",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def export_pdf(request: Request, _: Exporter, filters: FilterQuery) -> Response:
    body = services(request).audit.export_pdf(filters.filter)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.pdf"'},
    )
