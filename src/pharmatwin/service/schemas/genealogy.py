"""Material genealogy: traces and recall scopes (ISA-95 / IEC 62264-2 material model)."""

from __future__ import annotations

from pharmatwin.service.schemas.common import Out, UtcTime


class UnitOut(Out):
    """A lot or a container (``kind``) met by a trace; ``material_kind``: raw, packaging,
    intermediate or finished."""

    kind: str
    id: str
    lot_id: str
    material_id: str
    material_kind: str


class ContainerSetOut(Out):
    """The containers of one lot met by a trace."""

    lot_id: str
    material_id: str
    material_kind: str
    ids: list[str]


class StepOut(Out):
    """One run of a process segment in a batch on a piece of equipment (``end`` ``None``
    while it runs)."""

    step_id: str
    segment: str
    batch_id: str
    equipment_id: str
    start: UtcTime
    end: UtcTime | None


class TraceOut(Out):
    """Everything reached from ``start`` (not included) ``forward`` (where it went) or
    ``backward`` (what went into it): lots, containers by lot, the steps in between, their
    equipment and batches."""

    direction: str
    start: UnitOut
    lots: list[UnitOut]
    containers: list[ContainerSetOut]
    steps: list[StepOut]
    equipment: list[str]
    batches: list[str]
    container_count: int


class AffectedLotOut(Out):
    """A finished lot in a recall: ``affected`` of its ``total`` containers."""

    lot_id: str
    material_id: str
    affected: int
    total: int


class HopOut(Out):
    """One hop of a path: ``unit`` made by step ``step_id`` from the hop before (``None``:
    the lot's own container, or the container's lot)."""

    step_id: str | None
    unit: UnitOut


class AffectedContainerOut(Out):
    """A finished container in a recall with one shortest path from the defective lot
    (``path``: the same as text, e.g. ``RM-1 > [MIX-7] > MEDIA-7 > ... > FIN-1/V0001``)."""

    container_id: str
    lot_id: str
    material_id: str
    path: str
    hops: list[HopOut]


class RecallOut(Out):
    """The recall scope of a defective ``lot``: the finished lots (affected / total
    containers) and containers it reached, and every lot, step and batch in between."""

    lot: UnitOut
    finished_lots: list[AffectedLotOut]
    containers: list[AffectedContainerOut]
    lots: list[UnitOut]
    steps: list[StepOut]
    batches: list[str]
