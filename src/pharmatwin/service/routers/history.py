"""Batches, tags, tag history and the built-in scenarios."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.schemas.assets import (
    BatchDetailOut,
    BatchOut,
    ScenarioOut,
    SeriesOut,
    TagOut,
)
from pharmatwin.service.schemas.common import Every
from pharmatwin.service.services.assets import scenarios

router = APIRouter(tags=["history"])
Viewer = Annotated[Session, Depends(allow("view"))]


@router.get(
    "/batches", summary="List batches", description="Batches, of one asset if given, by start."
)
def list_batches(request: Request, _: Viewer, asset: str | None = None) -> list[BatchOut]:
    return services(request).batches.batches(asset)


@router.get(
    "/batches/{batch_id}",
    summary="One batch",
    description="A batch with the number of beliefs, forecasts and alarms its twin stored.",
)
def get_batch(batch_id: str, request: Request, _: Viewer) -> BatchDetailOut:
    return services(request).batches.batch(batch_id)


@router.get("/tags", summary="List tags", description="Every historian tag with unit and asset.")
def list_tags(request: Request, _: Viewer) -> list[TagOut]:
    return services(request).history.tags()


@router.get(
    "/tags/{tag}/history",
    summary="Tag history",
    description="Samples of a tag over [start, end); with `every` (ISO 8601 duration such as "
    "`PT1H`, or seconds) one aggregate per bin, `how` one of mean, min, max, first, last, "
    "count (`start` required then).",
)
def tag_history(
    tag: str,
    request: Request,
    _: Viewer,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    every: Every | None = None,
    how: str = "mean",
) -> SeriesOut:
    return services(request).history.series(tag, start, end, every, how)


@router.get(
    "/scenarios",
    summary="Built-in scenarios",
    description="The virtual bioreactor's built-in scenarios with their faults.",
)
def list_scenarios(_: Viewer) -> list[ScenarioOut]:
    return list(scenarios())
