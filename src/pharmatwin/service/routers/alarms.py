"""Alarms and their acknowledgement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.schemas.twins import AcknowledgeIn, AcknowledgementOut, AlarmOut

router = APIRouter(prefix="/alarms", tags=["alarms"])


@router.get(
    "",
    summary="List alarms",
    description="Alarms and sensor faults the twins raised (filter by asset, batch, active), "
    "with lead times and acknowledgements. An alarm's `id` is the first 16 hex digits of the "
    "SHA-256 of `source|time_us|subject` of its event.",
)
def list_alarms(
    request: Request,
    _: Annotated[Session, Depends(allow("view"))],
    asset: str | None = None,
    batch_id: str | None = None,
    active: bool | None = None,
) -> list[AlarmOut]:
    return services(request).alarms.alarms(asset, batch_id, active)


@router.post(
    "/{alarm_id}/acknowledge",
    summary="Acknowledge an alarm",
    description="Record an acknowledgement with a comment (1 to 500 characters, not blank) as "
    "an event of kind `acknowledgement`, and in the audit trail (record type `alarm`, id the "
    "alarm's id, old `null`, new the acknowledgement, reason the comment). Needs "
    "`acknowledge_alarm`.",
)
def acknowledge(
    alarm_id: str,
    body: AcknowledgeIn,
    request: Request,
    session: Annotated[Session, Depends(allow("acknowledge_alarm"))],
) -> AcknowledgementOut:
    return services(request).alarms.acknowledge(alarm_id, session.user.name, body.comment)
