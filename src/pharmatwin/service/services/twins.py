"""What the twins stored (beliefs, forecasts) and changes to a twin's configuration.

A configuration change is stored as a historian event (kind ``twin_config``) and appended to
the audit trail (record type ``twin_config``, id the asset, old and new settings, the reason:
EU GMP Annex 11, sections 9 and 10).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from pharmatwin.historian.records import Event, EventKind
from pharmatwin.historian.store import Historian
from pharmatwin.runtime.asset import AlarmConfig, TwinConfig
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.schemas.twins import TwinConfigIn, TwinConfigOut, TwinOutputOut
from pharmatwin.service.services.audit import AuditService
from pharmatwin.service.services.batches import current_batch, twin_name
from pharmatwin.service.services.errors import BadInputError, NotFoundError

TWIN_CONFIG_KIND: EventKind = "twin_config"
"""Event kind of a stored twin configuration change."""


class TwinService:
    def __init__(self, historian: Historian, context: ServiceContext, audit: AuditService) -> None:
        self.historian = historian
        self.context = context
        self.audit = audit

    def _batch_id(self, asset: str, batch_id: str | None) -> str:
        if batch_id is not None:
            return batch_id
        batch = current_batch(self.historian, asset)
        if batch is None:
            raise NotFoundError(f"asset: no batch of asset {asset!r}")
        return batch.batch_id

    def outputs(self, asset: str, kind: str, batch_id: str | None) -> list[TwinOutputOut]:
        """The twin's stored beliefs or forecasts of ``batch_id`` (default: current batch)."""
        batch = self._batch_id(asset, batch_id)
        return [
            TwinOutputOut(
                twin=o.twin,
                batch_id=o.batch_id,
                kind=o.kind,
                time=o.time,
                batch_h=o.batch_h,
                data=o.data,
            )
            for o in self.historian.outputs(twin_name(asset), batch, kind)
        ]

    def current_config(self, asset: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The twin and alarm settings last stored for ``asset``, else its definition's."""
        stored = [e for e in self.historian.events(kind=TWIN_CONFIG_KIND, asset=asset)]
        if stored:
            return dict(stored[-1].data["twin"]), dict(stored[-1].data["alarms"])
        definition = self.context.asset(asset)
        twin = definition.twin if definition is not None else TwinConfig()
        alarms = definition.alarms if definition is not None else AlarmConfig()
        return twin.model_dump(), alarms.model_dump()

    def change_config(self, asset: str, change: TwinConfigIn, by: str) -> TwinConfigOut:
        """Validate and store a change of ``asset``'s twin configuration.

        The change is stored as a historian event of kind ``twin_config`` (data: ``by``, the
        complete ``twin`` and ``alarms`` settings, ``changed``, ``reason``) and in the audit
        trail, and applies to the asset's next batch: the running twin keeps the settings it
        started with, so a batch is judged by one configuration from start to end.
        """
        twin, alarms = self.current_config(asset)
        updates = change.model_dump(exclude_none=True, exclude={"alarms", "reason"})
        try:
            new_twin = TwinConfig.model_validate(twin | updates)
        except ValidationError as exc:
            raise _bad_input(exc, "") from None
        try:
            new_alarms = AlarmConfig.model_validate(alarms | (change.alarms or {}))
        except ValidationError as exc:
            raise _bad_input(exc, "alarms.") from None
        now = datetime.now(UTC)
        data = {
            "by": by,
            "twin": new_twin.model_dump(),
            "alarms": new_alarms.model_dump(),
            "changed": change.model_dump(exclude_none=True, exclude={"reason"}),
            "reason": change.reason,
        }
        self.historian.add_event(
            Event(
                kind=TWIN_CONFIG_KIND,
                source=f"service:{by}",
                time=now,
                subject=asset,
                message=f"{by} changed the twin configuration of {asset} (next batch)",
                asset=asset,
                data=data,
            )
        )
        record = self.audit.record(
            user=by,
            action="change",
            record_type=TWIN_CONFIG_KIND,
            record_id=asset,
            old={"twin": twin, "alarms": alarms},
            new={
                "twin": data["twin"],
                "alarms": data["alarms"],
                "changed": data["changed"],
                "applies_to": "next batch",
            },
            reason=change.reason,
        )
        return TwinConfigOut(
            asset=asset,
            by=by,
            time=now,
            twin=data["twin"],
            alarms=data["alarms"],
            applies_to="next batch",
            audit_seq=record.seq,
        )


def _bad_input(exc: ValidationError, prefix: str) -> BadInputError:
    first = exc.errors()[0]
    field = prefix + ".".join(str(p) for p in first["loc"])
    return BadInputError(field.rstrip(".") or "body", str(first["msg"]))
