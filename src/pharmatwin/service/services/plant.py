"""Writes to the plant through the context's plant control, each with its audit record.

A setpoint change is recorded as record type ``setpoint``, id ``ASSET.NAME`` (e.g.
``BR01.T``), old and new value; a carried-out action as record type ``action``, id
``ASSET:ACTION``; both with the session's user and the request's reason (EU GMP Annex 11,
section 9; 21 CFR 11.10(e)). The record ids start with the asset's name, so the electronic
batch record of the batch running then lists them (``pharmatwin.gmp.batch_record``).
"""

from __future__ import annotations

from typing import Any

from pharmatwin.core.actions import Action
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.historian.store import Historian
from pharmatwin.service.context import PlantControl, ServiceContext
from pharmatwin.service.schemas.twins import AppliedOut, SetpointOut
from pharmatwin.service.services.audit import AuditService
from pharmatwin.service.services.batches import current_batch
from pharmatwin.service.services.errors import BadInputError, UnavailableError

SETPOINT = "setpoint"
ACTION = "action"


class PlantService:
    def __init__(self, context: ServiceContext, historian: Historian, audit: AuditService) -> None:
        self.context = context
        self.historian = historian
        self.audit = audit

    def _plant(self) -> PlantControl:
        if self.context.plant is None:
            raise UnavailableError("plant: this service has no plant control")
        return self.context.plant

    def _batch(self, asset: str) -> tuple[str | None, float | None]:
        """The asset's current batch id and batch hour (by the twin, else ``None``)."""
        batch = current_batch(self.historian, asset)
        live = self.context.live_twin(asset)
        hour = live.session.hour if live is not None else None
        return (None if batch is None else batch.batch_id), hour

    def previous(self, asset: str, name: str, batch_h: float | None) -> tuple[Any, str]:
        """The setpoint before a change and where it comes from: the last change recorded
        through this service, else the recipe's setpoint of the phase at ``batch_h``, else the
        model input's default."""
        last = self.audit.latest(SETPOINT, f"{asset}.{name}")
        if last is not None and isinstance(last.new, dict) and "value" in last.new:
            return last.new["value"], f"setpoint change (audit record {last.seq})"
        definition = self.context.asset(asset)
        if definition is not None and batch_h is not None:
            phases = [p for p in definition.recipe.phases if p.start_h <= batch_h]
            for phase in sorted(phases, key=lambda p: p.start_h, reverse=True):
                if name in phase.setpoints:
                    return phase.setpoints[
                        name
                    ], f"recipe {definition.recipe.name!r} phase {phase.name!r}"
        return None, "unknown"

    def set_setpoint(
        self, asset: str, name: str, value: float, *, user: str, reason: str
    ) -> SetpointOut:
        """Set input ``name`` (a bioreactor model input, e.g. ``T`` in degC) of ``asset``, and
        record the change (old and new value) in the audit trail."""
        names = ChoFedBatch.input_names()
        if name not in names:
            raise BadInputError("name", f"{name!r} is not a setpoint; one of {', '.join(names)}")
        declared = next(i for i in ChoFedBatch.inputs if i.name == name)
        if not declared.lower <= value <= declared.upper:
            raise BadInputError(
                "value",
                f"{value:g} {declared.unit} is outside the range of {name} "
                f"[{declared.lower:g}, {declared.upper:g}]",
            )
        plant = self._plant()
        batch_id, hour = self._batch(asset)
        old, source = self.previous(asset, name, hour)
        try:
            effective = float(plant.set_setpoint(asset, name, value))
        except ValueError as exc:  # the plant refused it (range, time): nothing changed
            raise BadInputError("value", f"the plant refused it: {exc}") from None
        record = self.audit.record(
            user=user,
            action="change",
            record_type=SETPOINT,
            record_id=f"{asset}.{name}",
            old=None if old is None else {"value": old, "source": source},
            new={"value": value, "effective_h": effective, "batch_id": batch_id},
            reason=reason,
        )
        return SetpointOut(
            asset=asset,
            name=name,
            value=value,
            effective_h=effective,
            previous=None if old is None else float(old),
            audit_seq=record.seq,
        )

    def apply(self, asset: str, action: Action, *, user: str, reason: str) -> AppliedOut:
        """Carry out ``action`` on ``asset``, and record it in the audit trail."""
        batch_id, _ = self._batch(asset)
        plant = self._plant()
        try:
            effective = float(plant.apply(asset, action))
        except ValueError as exc:  # the plant refused it: nothing changed
            raise BadInputError("action", f"the plant refused it: {exc}") from None
        record = self.audit.record(
            user=user,
            action="apply",
            record_type=ACTION,
            record_id=f"{asset}:{action.name}",
            old=None,
            new={
                "action": action.model_dump(mode="json"),
                "effective_h": effective,
                "batch_id": batch_id,
            },
            reason=reason,
        )
        return AppliedOut(
            asset=asset, action=action.name, effective_h=effective, audit_seq=record.seq
        )
