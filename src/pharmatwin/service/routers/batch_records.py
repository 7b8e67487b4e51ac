"""Electronic batch records (ISA-88 batch record; 21 CFR 211.188; EU GMP Annex 11, section 8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services

router = APIRouter(prefix="/batches", tags=["batch records"])

_WHAT = (
    "The batch, asset, recipe and the exact versions used; the phases; the CPPs (hourly); the "
    "CQAs measured against predicted and the twin's forecasts; alarms with acknowledgements and "
    "lead times; deviations; the batch's audit-trail entries; and the signatures with their "
    "manifestations (printed name, date and time UTC, meaning), each valid or not for the "
    "record's current content (sign it with `POST /api/signatures`, record type "
    "`batch_record`, id the batch id). 404 for an unknown batch."
)


@router.get(
    "/{batch_id}/record.html",
    summary="Electronic batch record (HTML)",
    description=f"{_WHAT} One self-contained page. Needs `view`.",
    response_class=HTMLResponse,
)
def record_html(
    batch_id: str, request: Request, _: Annotated[Session, Depends(allow("view"))]
) -> HTMLResponse:
    return HTMLResponse(services(request).records.html(batch_id))


@router.get(
    "/{batch_id}/record.pdf",
    summary="Electronic batch record (PDF)",
    description=f"{_WHAT} A4 landscape; every page names the record's content hash. Needs "
    "`export_records`; 409 without reportlab.",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def record_pdf(
    batch_id: str, request: Request, _: Annotated[Session, Depends(allow("export_records"))]
) -> Response:
    body = services(request).records.pdf(batch_id)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in batch_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="batch-record-{name}.pdf"'},
    )
