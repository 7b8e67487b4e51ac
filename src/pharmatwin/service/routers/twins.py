"""What each twin stored: beliefs and forecasts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.schemas.twins import TwinOutputOut

router = APIRouter(prefix="/twins", tags=["twins"])
Viewer = Annotated[Session, Depends(allow("view"))]


@router.get(
    "/{asset}/beliefs",
    summary="Twin beliefs",
    description="The twin's hourly beliefs (mean and 5/95 % of each state and estimated "
    "parameter) of a batch (default: the asset's current batch).",
)
def beliefs(
    asset: str, request: Request, _: Viewer, batch_id: str | None = None
) -> list[TwinOutputOut]:
    svc = services(request)
    svc.assets.require(asset)
    return svc.twins.outputs(asset, "belief", batch_id)


@router.get(
    "/{asset}/forecasts",
    summary="Twin forecasts",
    description="The twin's forecasts (CQA quantiles and P(fail) at harvest, ranked actions) "
    "of a batch (default: the asset's current batch).",
)
def forecasts(
    asset: str, request: Request, _: Viewer, batch_id: str | None = None
) -> list[TwinOutputOut]:
    svc = services(request)
    svc.assets.require(asset)
    return svc.twins.outputs(asset, "forecast", batch_id)
