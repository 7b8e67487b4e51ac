"""The live stream (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.stream import LiveStream

router = APIRouter(tags=["stream"])


@router.get(
    "/stream",
    summary="Live stream",
    description="Server-Sent Events of new samples (`sample`), forecasts (`forecast`) and "
    "alarms (`alarm`), of one asset if given, polled from the historian about every 0.5 s. "
    "Each connection ends after `max_events` messages or `max_s` seconds (EventSource "
    "reconnects) or when the client leaves.",
    response_class=StreamingResponse,
)
def stream(
    request: Request,
    _: Annotated[Session, Depends(allow("view"))],
    asset: str | None = None,
    max_events: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    max_s: Annotated[float, Query(gt=0, le=3600)] = 600.0,
) -> StreamingResponse:
    svc = services(request)
    live = LiveStream(svc.historian, asset, svc.settings.stream_poll_s)
    return StreamingResponse(
        live.events(request.is_disconnected, max_events, max_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
