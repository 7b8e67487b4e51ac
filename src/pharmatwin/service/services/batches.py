"""Batches of the historian."""

from __future__ import annotations

from pharmatwin.historian.records import Batch
from pharmatwin.historian.store import Historian
from pharmatwin.service.schemas.assets import BatchDetailOut, BatchOut
from pharmatwin.service.services.errors import NotFoundError


def twin_name(asset: str) -> str:
    """The name a live twin writes its outputs under (``runtime.live_twin.LiveTwin.name``)."""
    return f"{asset}.twin"


def current_batch(historian: Historian, asset: str) -> Batch | None:
    """The asset's latest running batch, else its latest batch, else ``None``."""
    batches = historian.batches(asset)
    running = [b for b in batches if b.state == "running"]
    pick = running or batches
    return pick[-1] if pick else None


def batch_out(batch: Batch) -> BatchOut:
    return BatchOut(
        batch_id=batch.batch_id,
        asset=batch.asset,
        recipe=batch.recipe,
        start=batch.start,
        end=batch.end,
        state=batch.state,
    )


class BatchService:
    def __init__(self, historian: Historian) -> None:
        self.historian = historian

    def batches(self, asset: str | None) -> list[BatchOut]:
        """Batches (of one asset, if given) by start time."""
        return [batch_out(b) for b in self.historian.batches(asset)]

    def require(self, batch_id: str) -> Batch:
        batch = self.historian.batch(batch_id)
        if batch is None:
            raise NotFoundError(f"batch_id: no batch {batch_id!r}")
        return batch

    def batch(self, batch_id: str) -> BatchDetailOut:
        """One batch with counts of what its twin produced."""
        batch = self.require(batch_id)
        outputs = self.historian.outputs(twin_name(batch.asset), batch_id)
        beliefs = [o for o in outputs if o.kind == "belief"]
        alarms = [
            e
            for e in self.historian.events(batch_id=batch_id)
            if e.kind in ("alarm", "sensor_fault")
        ]
        return BatchDetailOut(
            **batch_out(batch).model_dump(),
            beliefs=len(beliefs),
            forecasts=len(outputs) - len(beliefs),
            alarms=len(alarms),
            last_twin_h=max((o.batch_h for o in beliefs), default=None),
        )
