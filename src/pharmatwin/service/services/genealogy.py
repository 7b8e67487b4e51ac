"""Material genealogy through the service: trace a lot or a container backward or forward,
scope the recall of a defective lot (``pharmatwin.gmp.genealogy``; ISA-95 / IEC 62264-2).

Recording (materials, lots, steps, what each step consumed and produced) goes through the
library and ``pharmatwin genealogy``, each record with its audit-trail record.
"""

from __future__ import annotations

from pharmatwin.gmp.genealogy_read import GenealogyReader
from pharmatwin.gmp.genealogy_records import GenealogyError, Step
from pharmatwin.gmp.genealogy_trace import Direction, Unit, format_path
from pharmatwin.service.schemas.genealogy import (
    AffectedContainerOut,
    AffectedLotOut,
    ContainerSetOut,
    HopOut,
    RecallOut,
    StepOut,
    TraceOut,
    UnitOut,
)
from pharmatwin.service.services.errors import BadInputError, NotFoundError, ServiceError

_FIELDS = {"lot_id": "lot", "container_id": "container"}
"""Fields of the library's messages -> the query parameters that give them."""


def _unit(u: Unit) -> UnitOut:
    return UnitOut(
        kind=u.kind,
        id=u.id,
        lot_id=u.lot_id,
        material_id=u.material_id,
        material_kind=u.material_kind,
    )


def _step(s: Step) -> StepOut:
    return StepOut(
        step_id=s.step_id,
        segment=s.segment,
        batch_id=s.batch_id,
        equipment_id=s.equipment_id,
        start=s.start,
        end=s.end,
    )


def _error(exc: GenealogyError) -> ServiceError:
    """404 for an unknown lot or container, else 422; named by the query parameter."""
    field, _, message = str(exc).partition(": ")
    named = ", ".join(_FIELDS.get(f.strip(), f.strip()) for f in field.split(","))
    if message.startswith("no "):
        return NotFoundError(f"{named}: {message}")
    return BadInputError(named, message)


class GenealogyService:
    def __init__(self, reader: GenealogyReader) -> None:
        self.reader = reader

    def trace(self, lot: str | None, container: str | None, direction: Direction) -> TraceOut:
        """Everything downstream or upstream of one lot or one container."""
        try:
            t = self.reader.trace(lot_id=lot, container_id=container, direction=direction)
        except GenealogyError as exc:
            raise _error(exc) from None
        return TraceOut(
            direction=t.direction,
            start=_unit(t.start),
            lots=[_unit(u) for u in t.lots],
            containers=[
                ContainerSetOut(
                    lot_id=g.lot_id,
                    material_id=g.material_id,
                    material_kind=g.material_kind,
                    ids=list(g.ids),
                )
                for g in t.containers
            ],
            steps=[_step(s) for s in t.steps],
            equipment=list(t.equipment),
            batches=list(t.batches),
            container_count=t.container_count,
        )

    def recall(self, lot: str) -> RecallOut:
        """The recall scope of a defective lot."""
        try:
            scope = self.reader.recall(lot)
        except GenealogyError as exc:
            raise _error(exc) from None
        return RecallOut(
            lot=_unit(scope.lot),
            finished_lots=[
                AffectedLotOut(
                    lot_id=f.lot_id, material_id=f.material_id, affected=f.affected, total=f.total
                )
                for f in scope.finished_lots
            ],
            containers=[
                AffectedContainerOut(
                    container_id=c.container_id,
                    lot_id=c.lot_id,
                    material_id=c.material_id,
                    path=format_path(c.path),
                    hops=[HopOut(step_id=h.step_id, unit=_unit(h.unit)) for h in c.path],
                )
                for c in scope.containers
            ],
            lots=[_unit(u) for u in scope.lots],
            steps=[_step(s) for s in scope.steps],
            batches=list(scope.batches),
        )
