"""Assets: state, signals, forecast, actions, what-if and writes to the plant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from pharmatwin.core.actions import Action
from pharmatwin.gmp.users import Session
from pharmatwin.service.routers.deps import allow, services
from pharmatwin.service.schemas.assets import AssetDetailOut, AssetOut, ForecastOut, SignalsOut
from pharmatwin.service.schemas.common import Every
from pharmatwin.service.schemas.twins import (
    ActionIn,
    AppliedOut,
    ApplyIn,
    SetpointIn,
    SetpointOut,
    TwinConfigIn,
    TwinConfigOut,
    WhatIfOut,
)

router = APIRouter(prefix="/assets", tags=["assets"])
Viewer = Annotated[Session, Depends(allow("view"))]


@router.get(
    "",
    summary="List assets",
    description="Every asset: current batch, batch hour, the hour its twin stepped, P(fail) "
    "of each specification in the latest forecast and the number of active alarms.",
)
def list_assets(request: Request, _: Viewer) -> list[AssetOut]:
    return services(request).assets.assets()


@router.get(
    "/{asset}",
    summary="One asset",
    description="The asset's state (as in the list) with its specifications and tags.",
)
def get_asset(asset: str, request: Request, _: Viewer) -> AssetDetailOut:
    return services(request).assets.detail(asset)


@router.get(
    "/{asset}/signals",
    summary="Measured and estimated signals",
    description="The asset's measured tags over [start, end) (one aggregate mean per `every` "
    "when given, e.g. `PT1H` or seconds) beside the twin's estimates from its stored "
    "beliefs (mean, 5 % and 95 % of each state and model output); `estimates` names the "
    "output that predicts each measured tag. Identical requests within 2 s share one answer.",
    response_model=SignalsOut,
)
def signals(
    asset: str,
    request: Request,
    _: Viewer,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    every: Every | None = None,
) -> Response:
    svc = services(request)
    svc.assets.require(asset)
    body = svc.history.signals_json(
        asset,
        svc.assets.tags_of(asset),
        start,
        end,
        every,
        estimates=svc.assets.estimated_outputs(asset),
    )
    return Response(body, media_type="application/json")  # serialized once per shared answer


@router.get(
    "/{asset}/forecast",
    summary="Latest forecast",
    description="The latest stored forecast (CQA quantiles and P(fail) at harvest, ranked "
    "actions) and, when the twin runs in this service, the 5/50/95 % band of every output "
    "to harvest, with the specification limits.",
)
def forecast(asset: str, request: Request, _: Viewer) -> ForecastOut:
    return services(request).assets.forecast(asset)


@router.get(
    "/{asset}/actions",
    summary="Candidate actions",
    description="The corrective actions defined for the asset (as `core.actions.Action`).",
)
def actions(asset: str, request: Request, _: Viewer) -> list[Action]:
    return services(request).assets.actions(asset)


@router.post(
    "/{asset}/whatif",
    summary="Evaluate an action",
    description="Forecast the effect of an action on the live twin's current belief against "
    "doing nothing: P(all specifications met) and expected harvest titre before and after. "
    "Needs `evaluate_whatif`; 409 when no live twin runs in this service.",
)
def whatif(
    asset: str,
    body: ActionIn,
    request: Request,
    _: Annotated[Session, Depends(allow("evaluate_whatif"))],
) -> WhatIfOut:
    svc = services(request)
    svc.assets.require(asset)
    return svc.whatif.evaluate(asset, body.action)


@router.post(
    "/{asset}/actions/apply",
    summary="Carry out an action",
    description="Carry out an action on the plant through the plant control; returns the "
    "batch hour it took effect. A `reason` is required: the action is recorded in the audit "
    "trail (record type `action`, id `ASSET:ACTION`). Needs `apply_action`; 409 without "
    "plant control.",
)
def apply_action(
    asset: str,
    body: ApplyIn,
    request: Request,
    session: Annotated[Session, Depends(allow("apply_action"))],
) -> AppliedOut:
    svc = services(request)
    svc.assets.require(asset)
    return svc.plant.apply(asset, body.action, user=session.user.name, reason=body.reason)


@router.put(
    "/{asset}/setpoints/{name}",
    summary="Change a setpoint",
    description="Set a model input of the asset (e.g. `T` in degC, `pH`, `DO` in % air "
    "saturation) on the plant. A `reason` is required: the change is recorded in the audit "
    "trail (record type `setpoint`, id `ASSET.NAME`, old and new value). Needs "
    "`change_setpoint`; 409 without plant control.",
)
def set_setpoint(
    asset: str,
    name: str,
    body: SetpointIn,
    request: Request,
    session: Annotated[Session, Depends(allow("change_setpoint"))],
) -> SetpointOut:
    svc = services(request)
    svc.assets.require(asset)
    return svc.plant.set_setpoint(
        asset, name, body.value, user=session.user.name, reason=body.reason
    )


@router.put(
    "/{asset}/twin-config",
    summary="Change the twin configuration",
    description="Change ensemble size, forecast cadence, seed, estimator or alarm thresholds "
    "(validated as `TwinConfig` / `AlarmConfig`), with a required `reason`. Stored as a "
    "`twin_config` event and in the audit trail (record type `twin_config`, id the asset, old "
    "and new settings); applies to the asset's next batch. Needs `change_twin_config` "
    "(engineers only).",
)
def twin_config(
    asset: str,
    body: TwinConfigIn,
    request: Request,
    session: Annotated[Session, Depends(allow("change_twin_config"))],
) -> TwinConfigOut:
    svc = services(request)
    svc.assets.require(asset)
    return svc.twins.change_config(asset, body, session.user.name)
