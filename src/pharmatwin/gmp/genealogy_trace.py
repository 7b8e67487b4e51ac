"""Traces and recall scoping over the genealogy: what a trace returns, and how its rows (from
``pharmatwin.gmp.genealogy_sql``) become those results.

Backward (what went into this container or lot: every upstream lot and container, the steps
and their equipment, down to the raw materials) and forward (where did this lot go: every
downstream lot, batch and container). A recall scope is a forward trace from a defective lot
that lists every affected finished container with one shortest path to it (the batches in
between), and for each finished lot how many of its containers are affected (a mixed lot may be
partly affected). This is the recall scoping asked of a GMP supply chain (EU GMP Chapter 8,
"Complaints, quality defects and product recalls"; 21 CFR 211.150 distribution records).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pharmatwin.gmp.genealogy_records import MaterialKind, Step
from pharmatwin.historian.backend import Row

__all__ = [
    "AffectedContainer",
    "AffectedLot",
    "ContainerSet",
    "Direction",
    "Hop",
    "RecallScope",
    "Trace",
    "Unit",
    "format_path",
]

Direction = Literal["forward", "backward"]
KindOf = Callable[[str], MaterialKind]
"""The class of a material id."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A lot or a container met by a trace (``lot_id`` is the lot's own id for a lot)."""

    kind: Literal["lot", "container"]
    id: str
    lot_id: str
    material_id: str
    material_kind: MaterialKind


@dataclass(frozen=True, slots=True)
class ContainerSet:
    """The containers of one lot met by a trace, sorted by id."""

    lot_id: str
    material_id: str
    material_kind: MaterialKind
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Trace:
    """Everything reached from ``start`` (not included) in one direction."""

    direction: Direction
    start: Unit
    lots: tuple[Unit, ...]
    """Lots reached (sorted by id, the start and its lot left out); a lot counts as reached
    when one of its containers is."""
    containers: tuple[ContainerSet, ...]
    """Containers reached, by lot (sorted by lot id); from a lot, its own containers too."""
    steps: tuple[Step, ...]
    """Steps in between (sorted by start time, then id), with their equipment."""

    @property
    def equipment(self) -> tuple[str, ...]:
        """The equipment of the steps, sorted."""
        return tuple(sorted({s.equipment_id for s in self.steps}))

    @property
    def batches(self) -> tuple[str, ...]:
        """The batches of the steps, sorted."""
        return tuple(sorted({s.batch_id for s in self.steps}))

    @property
    def container_count(self) -> int:
        """How many containers were reached."""
        return sum(len(group.ids) for group in self.containers)

    def lots_of(self, *kinds: MaterialKind) -> tuple[Unit, ...]:
        """The lots reached whose material is of one of ``kinds`` (e.g. ``"raw"``)."""
        return tuple(lot for lot in self.lots if lot.material_kind in kinds)

    def containers_of(self, *kinds: MaterialKind) -> tuple[ContainerSet, ...]:
        """The containers reached whose material is of one of ``kinds`` (e.g. ``"finished"``)."""
        return tuple(group for group in self.containers if group.material_kind in kinds)


@dataclass(frozen=True, slots=True)
class Hop:
    """One hop of a path: ``unit`` made by step ``step_id`` from the previous hop's unit, or
    (``step_id`` None) the previous unit's lot or one of its containers."""

    step_id: str | None
    unit: Unit


@dataclass(frozen=True, slots=True)
class AffectedContainer:
    """A finished container in a recall, with one shortest path from the defective lot."""

    container_id: str
    lot_id: str
    material_id: str
    path: tuple[Hop, ...]


@dataclass(frozen=True, slots=True)
class AffectedLot:
    """A finished lot in a recall: ``affected`` of its ``total`` containers."""

    lot_id: str
    material_id: str
    affected: int
    total: int


@dataclass(frozen=True)
class RecallScope:
    """What a defective ``lot`` reached: the finished lots and containers, and every lot and
    step (batch) in between."""

    lot: Unit
    finished_lots: tuple[AffectedLot, ...]
    containers: tuple[AffectedContainer, ...]
    lots: tuple[Unit, ...]
    steps: tuple[Step, ...]

    @property
    def batches(self) -> tuple[str, ...]:
        """The batches of the steps in between, sorted."""
        return tuple(sorted({s.batch_id for s in self.steps}))


def format_path(path: Sequence[Hop]) -> str:
    """A path as text: ``RM-1 > [MIX-7] > MEDIA-7 > ... > FIN-1/V0001``."""
    parts: list[str] = []
    for hop in path:
        if hop.step_id is not None:
            parts.append(f"[{hop.step_id}]")
        label = hop.unit.id if hop.unit.kind == "lot" else f"{hop.unit.lot_id}/{hop.unit.id}"
        parts.append(label)
    return " > ".join(parts)


# assembling rows -----------------------------------------------------------------------------


@dataclass
class Reached:
    """What one trace reached: rows by node (``node, mode, step, kind, ident, material_id, lot,
    lot_id``; the first row of a node wins), the steps, and the containers that lead nowhere
    further by lot node, with those lots' ``(id, material_id)``."""

    start: int
    rows: dict[int, Row]
    steps: set[int]
    ends: dict[int, list[str]] = field(default_factory=dict)
    end_lots: dict[int, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, start: int, rows: Iterable[Row]) -> Reached:
        """From query rows (node 0 rows only name a step)."""
        by_node: dict[int, Row] = {}
        steps: set[int] = set()
        for row in rows:
            node, step = row[0], row[2]
            if node and node not in by_node:
                by_node[node] = row
            if step > 0:
                steps.add(step)
        return cls(start, by_node, steps)

    def add_ends(self, rows: Iterable[Row]) -> set[int]:
        """Add rows ``lot node, container ids joined by spaces`` of containers that lead
        nowhere; the lot nodes not met yet (their ids go in ``end_lots``)."""
        ends = self.ends
        for lot, idents in rows:
            ends.setdefault(int(lot), []).extend(idents.split(" "))
        for lot in ends:
            row = self.rows.get(lot)
            if row is not None:
                self.end_lots[lot] = (row[4], row[5])
        return ends.keys() - self.end_lots.keys()


def unit_of(row: Row, kind_of: KindOf) -> Unit:
    """The unit of a trace row ``node, mode, step, kind, ident, material_id, lot, lot_id``."""
    kind, ident, material, lot_id = row[3], row[4], row[5], row[7]
    if kind == "lot":
        return Unit("lot", ident, ident, material, kind_of(material))
    return Unit("container", ident, lot_id, material, kind_of(material))


def build_trace(
    direction: Direction, reached: Reached, steps: dict[int, Step], kind_of: KindOf
) -> Trace:
    """The trace of ``reached``; ``steps`` maps each reached step to its record."""
    lots: dict[str, str] = {}  # lot id -> material id
    containers: dict[str, list[str]] = {}
    for node, row in reached.rows.items():
        if node == reached.start:
            continue
        if row[3] == "lot":
            lots[row[4]] = row[5]
        else:
            lots[row[7]] = row[5]
            containers.setdefault(row[7], []).append(row[4])
    for lot, idents in reached.ends.items():
        lot_id, material = reached.end_lots[lot]
        lots[lot_id] = material
        containers.setdefault(lot_id, []).extend(idents)
    start = unit_of(reached.rows[reached.start], kind_of)
    materials = dict(lots)
    lots.pop(start.lot_id, None)  # the start itself, or the lot of the start container
    return Trace(
        direction=direction,
        start=start,
        lots=tuple(Unit("lot", lot, lot, m, kind_of(m)) for lot, m in sorted(lots.items())),
        containers=tuple(
            ContainerSet(
                lot, materials[lot], kind_of(materials[lot]), tuple(sorted(dict.fromkeys(ids)))
            )
            for lot, ids in sorted(containers.items())
        ),
        steps=sorted_steps(steps.values()),
    )


def sorted_steps(steps: Iterable[Step]) -> tuple[Step, ...]:
    """Steps by start time, then id."""
    return tuple(sorted(steps, key=lambda s: (s.start, s.step_id)))


def shortest_parents(reached: Reached, inputs: dict[int, list[int]]) -> dict[int, int]:
    """For each reached node, its predecessor on one shortest path from the start (breadth
    first). ``inputs`` maps each reached step to the nodes it consumed."""
    children: dict[int, list[int]] = {}
    members: dict[int, list[int]] = {}
    for node, row in reached.rows.items():
        if row[3] == "container" and row[1] == "c":
            members.setdefault(row[6], []).append(node)
    for node, row in reached.rows.items():
        step = row[2]
        if step > 0:
            parents = inputs.get(step, [])
        elif step < 0:
            lot = -step
            parents = members.get(lot, []) if node == lot else [lot]
        else:
            parents = []
        for parent in parents:
            if parent in reached.rows and parent != node:
                children.setdefault(parent, []).append(node)
    parent_of: dict[int, int] = {}
    queue = deque([reached.start])
    seen = {reached.start}
    while queue:
        node = queue.popleft()
        for child in children.get(node, ()):
            if child not in seen:
                seen.add(child)
                parent_of[child] = node
                queue.append(child)
    return parent_of


def build_recall(
    reached: Reached,
    steps: dict[int, Step],
    inputs: dict[int, list[int]],
    totals: dict[str, int],
    kind_of: KindOf,
) -> RecallScope:
    """The recall scope of a forward trace from a lot; ``totals`` maps each finished lot id to
    its number of containers."""
    trace = build_trace("forward", reached, steps, kind_of)
    parent_of = shortest_parents(reached, inputs)
    paths: dict[int, tuple[Hop, ...]] = {reached.start: (Hop(None, trace.start),)}

    def path(node: int) -> tuple[Hop, ...]:
        chain: list[int] = []
        while node not in paths and node in parent_of:
            chain.append(node)
            node = parent_of[node]
        prefix = paths.get(node) or (Hop(None, unit_of(reached.rows[node], kind_of)),)
        for child in reversed(chain):
            step = reached.rows[child][2]
            via = steps[step].step_id if step > 0 else None
            prefix = (*prefix, Hop(via, unit_of(reached.rows[child], kind_of)))
            paths[child] = prefix
        return prefix

    affected: list[AffectedContainer] = []
    counts: dict[str, int] = {}
    for node, row in reached.rows.items():
        if node == reached.start or row[3] != "container" or kind_of(row[5]) != "finished":
            continue
        affected.append(AffectedContainer(row[4], row[7], row[5], path(node)))
        counts[row[7]] = counts.get(row[7], 0) + 1
    affected.sort(key=lambda c: (c.lot_id, c.container_id))
    lots = sorted((trace.start, *trace.lots_of("finished")), key=lambda lot: lot.id)
    finished = tuple(
        AffectedLot(lot.id, lot.material_id, counts.get(lot.id, 0), totals.get(lot.id, 0))
        for lot in lots
        if lot.material_kind == "finished"
    )
    return RecallScope(trace.start, finished, tuple(affected), trace.lots, trace.steps)
