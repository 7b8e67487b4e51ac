"""Twin outputs, alarms, actions, setpoints and twin configuration."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pharmatwin.core.actions import Action
from pharmatwin.service.schemas.common import Comment, In, Out, Reason, UtcTime


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
    """An acknowledgement; the comment is also the reason in the audit trail."""

    comment: Comment


class AcknowledgementOut(Out):
    """The acknowledgement stored; ``audit_seq``: its audit-trail record."""

    alarm_id: str
    by: str
    time: UtcTime
    comment: str
    audit_seq: int | None = None


class ActionIn(In):
    """An action to evaluate (validated by ``core.actions.Action``)."""

    action: Action


class ApplyIn(In):
    """An action to carry out on the plant, and why (kept in the audit trail)."""

    action: Action
    reason: Reason


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
    """What the plant did: at which batch hour it took effect; ``audit_seq``: its audit-trail
    record."""

    asset: str
    action: str
    effective_h: float
    audit_seq: int | None = None


class SetpointIn(In):
    """A new setpoint (in the input's unit) and why (kept in the audit trail)."""

    value: float = Field(allow_inf_nan=False)
    reason: Reason


class SetpointOut(Out):
    """The setpoint sent; ``previous``: the value before, when known (the last change made
    through this service, else the recipe's phase setpoint); ``audit_seq``: its audit-trail
    record."""

    asset: str
    name: str
    value: float
    effective_h: float
    previous: float | None = None
    audit_seq: int | None = None


class TwinConfigIn(In):
    """Changes to an asset's twin; omitted fields keep their values. Checked against
    ``runtime.asset.TwinConfig`` and ``AlarmConfig``."""

    members: int | None = None
    forecast_every_h: float | None = None
    seed: int | None = None
    estimator: str | None = None
    alarms: dict[str, float] | None = None
    reason: Reason


class TwinConfigOut(Out):
    """The configuration the asset's next batch will run with (stored as a ``twin_config``
    event)."""

    asset: str
    by: str
    time: UtcTime
    twin: dict[str, Any]
    alarms: dict[str, Any]
    applies_to: str
    audit_seq: int | None = None
