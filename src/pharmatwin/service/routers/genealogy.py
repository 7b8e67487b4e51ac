"""Material genealogy: trace and recall (ISA-95 / IEC 62264-2 material model)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.schemas.genealogy import RecallOut, TraceOut

router = APIRouter(prefix="/genealogy", tags=["genealogy"])
Tracer = Annotated[Session, Depends(allow("trace_genealogy"))]


@router.get(
    "/trace",
    summary="Trace a lot or a container",
    description="`forward`: where did it go (every lot, container, step, piece of equipment "
    "and batch downstream); `backward`: what went into it. Give exactly one of `lot` and "
    "`container`; 404 for an unknown one. Needs `trace_genealogy`.",
)
def trace(
    request: Request,
    _: Tracer,
    direction: Literal["forward", "backward"],
    lot: Annotated[str | None, Query(min_length=1)] = None,
    container: Annotated[str | None, Query(min_length=1)] = None,
) -> TraceOut:
    return services(request).genealogy.trace(lot, container, direction)


@router.get(
    "/recall",
    summary="Scope a recall",
    description="Given a defective lot: every finished container it reached, each with one "
    "shortest path, the finished lots (affected of total containers), and every lot, step "
    "and batch in between. 404 for an unknown lot. Needs `trace_genealogy`.",
)
def recall(request: Request, _: Tracer, lot: Annotated[str, Query(min_length=1)]) -> RecallOut:
    return services(request).genealogy.recall(lot)
