"""Twin outputs, alarms, actions, setpoints and twin configuration."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pharmatwin.core.actions import Action
from pharmatwin.service.schemas.common import In, Out, UtcTime


class TwinOutputOut(Out):
    """A stored belief or forecast document at ``time`` (batch hour ``batch_h``)."""

    twin: str
    batch_id: str
    kind: str
    time: UtcTime
    batch_h: float
    data: dict[str, Any]


class AlarmOut(Out):
    """An alarm (``kind`` alarm) or a sensor fault (``sensor_fault``) raised by a twin.

    ``id``: see ``pharmatwin.service.services.alarms.alarm_id``. ``lead_time_h``: how long
    before the predicted violation it was raised.
    """

    id: str
    kind: str
    source: str
    time: UtcTime
    subject: str
    message: str
    asset: str
    batch_id: str
    raised_at_h: float | None
    probability: float | None
    predicted_violation_h: float | None
    lead_time_h: float | None
    active: bool
    cleared_at_h: float | None
    acknowledged: bool
    acknowledgements: list[dict[str, Any]]
    data: dict[str, Any]


class AcknowledgeIn(In):
    comment: str = Field(min_length=1, max_length=500)


class AcknowledgementOut(Out):
    alarm_id: str
    by: str
    time: UtcTime
    comment: str


class ActionIn(In):
    """An action to evaluate or carry out (validated by ``core.actions.Action``)."""

    action: Action


class WhatIfOut(Out):
    """The action's forecast effect against doing nothing, on the twin's belief at ``at_h``
    (batch h): probability of meeting every specification, expected harvest titre (g/L)."""

    asset: str
    action: str
    at_h: float
    members: int
    p_ok_before: float
    p_ok_after: float
    expected_titre_before: float
    expected_titre_after: float


class AppliedOut(Out):
    """What the plant did: at which batch hour it took effect."""

    asset: str
    action: str
    effective_h: float


class SetpointIn(In):
    value: float = Field(allow_inf_nan=False)


class SetpointOut(Out):
    asset: str
    name: str
    value: float
    effective_h: float


class TwinConfigIn(In):
    """Changes to an asset's twin; omitted fields keep their values. Checked against
    ``runtime.asset.TwinConfig`` and ``AlarmConfig``."""

    members: int | None = None
    forecast_every_h: float | None = None
    seed: int | None = None
    estimator: str | None = None
    alarms: dict[str, float] | None = None


class TwinConfigOut(Out):
    """The configuration the asset's next batch will run with (stored as a ``twin_config``
    event)."""

    asset: str
    by: str
    time: UtcTime
    twin: dict[str, Any]
    alarms: dict[str, Any]
    applies_to: str
