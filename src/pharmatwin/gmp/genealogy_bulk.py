"""Bulk import of a genealogy (a migration from another system, or the benchmark's network).

Every row is checked as when recorded one by one (ids, classes, quantities, units, references,
a container produced twice), and the error names the row (``containers[12].lot_id: no lot
'L-9'``). Unlike recording one by one, an import is audited as one audit-trail record (action
``import``, record type ``genealogy_import``) holding the counts and a SHA-256 of the imported
rows, and it does not check for cycles (traces stop on them: see
``pharmatwin.gmp.genealogy_sql``). Rows go in with ``executemany`` on SQLite and
``INSERT ... SELECT FROM unnest(arrays)`` in chunks on PostgreSQL; the tables are analyzed
afterwards for the query planner.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from pharmatwin.gmp.genealogy_links import lead_on
from pharmatwin.gmp.genealogy_records import (
    ActualRow,
    BulkData,
    BulkSummary,
    ContainerRow,
    EquipmentRow,
    GenealogyError,
    LotRow,
    MaterialRow,
    StepRow,
    check_id,
    check_kind,
    check_quantity,
    check_status,
    check_text,
    check_time,
    check_unit,
    check_word,
)
from pharmatwin.gmp.genealogy_sql import in_list
from pharmatwin.historian.backend import Row, Tx
from pharmatwin.historian.records import to_us

__all__ = [
    "ActualRow",
    "BulkData",
    "BulkSummary",
    "ContainerRow",
    "EquipmentRow",
    "LotRow",
    "MaterialRow",
    "StepRow",
    "import_rows",
]

_PG_CHUNK = 20_000
_CHUNK = 500
StoredNode = tuple[int, int, str, str]
Links = dict[tuple[int, str, int], tuple[str, str, float, str]]
"""Material actuals by (node, ``in`` or ``out``, step): kind, id, quantity, unit."""


class _Import:
    """One import inside one transaction."""

    def __init__(self, tx: Tx, dialect: str, data: BulkData, now_us: int) -> None:
        self.tx, self.dialect, self.data, self.now_us = tx, dialect, data, now_us
        self.empty = not tx.run("SELECT 1 FROM gen_nodes LIMIT 1")
        self.first_node = int(tx.run("SELECT COALESCE(MAX(node), 0) + 1 FROM gen_nodes")[0][0])
        self.kinds: dict[str, str] = {}
        self.lots: dict[str, tuple[int, str, str]] = {}  # id -> node, material, unit
        self.containers: dict[str, tuple[int, str, str]] = {}
        self.lot_of: dict[int, int] = {}  # container node -> lot node
        self.steps: dict[str, int] = {}

    # helpers ------------------------------------------------------------------------------

    def insert(self, table: str, columns: str, types: str, rows: list[tuple[object, ...]]) -> None:
        """Insert ``rows``; ``types`` are the PostgreSQL types of the columns."""
        if not rows:
            return
        if self.dialect == "sqlite":
            marks = ", ".join("?" * len(rows[0]))
            self.tx.run_many(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
            return
        arrays = ", ".join(f"CAST(? AS {t}[])" for t in types.split())
        for first in range(0, len(rows), _PG_CHUNK):
            chunk = rows[first : first + _PG_CHUNK]
            self.tx.run(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})",
                [list(column) for column in zip(*chunk, strict=True)],
            )

    def select(self, sql: str, column: str, keys: Iterable[str] | Iterable[int]) -> list[Row]:
        """``sql`` (holding ``{IN}``) run for ``column IN (...)`` over chunks of ``keys``."""
        out: list[Row] = []
        wanted: list[object] = list(set(keys))
        for first in range(0, len(wanted), _CHUNK):
            chunk = wanted[first : first + _CHUNK]
            out.extend(self.tx.run(sql.replace("{IN}", in_list(column, len(chunk))), chunk))
        return out

    def refuse_stored(self, section: str, table: str, key: str, ids: Iterable[str]) -> None:
        """``GenealogyError`` if any of ``ids`` is stored already."""
        rows = self.select(f"SELECT {key} FROM {table} WHERE {{IN}}", key, ids)
        if rows:
            taken = sorted(str(r[0]) for r in rows)[:5]
            raise GenealogyError(f"{section}.{key}: already stored: {', '.join(taken)}")

    def stored_nodes(self, kind: str, idents: Iterable[str]) -> dict[str, StoredNode]:
        """Stored lots or containers by id: node, lot node (0 for a lot), material, unit."""
        if self.empty:
            return {}
        rows = self.select(
            "SELECT ident, node, COALESCE(lot, 0), material_id, unit FROM gen_nodes "
            f"WHERE kind = '{kind}' AND {{IN}}",
            "ident",
            idents,
        )
        return {str(r[0]): (int(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows}

    def is_old(self, node: int) -> bool:
        """Whether ``node`` was stored before this import."""
        return node < self.first_node

    # sections -----------------------------------------------------------------------------

    def definitions(self) -> None:
        """Check and insert materials and equipment."""
        materials: list[tuple[object, ...]] = []
        for i, (mid, name, kind, unit) in enumerate(self.data.materials):
            where = f"materials[{i}]"
            materials.append(
                (
                    check_id(f"{where}.material_id", mid),
                    check_text(f"{where}.name", name),
                    _field(where, check_kind, kind),
                    check_unit(unit, f"{where}.unit"),
                    self.now_us,
                )
            )
        ids = [str(m[0]) for m in materials]
        _unique("materials", "material_id", ids)
        self.refuse_stored("materials", "gen_materials", "material_id", ids)
        equipment: list[tuple[object, ...]] = []
        for i, (eid, name, kind) in enumerate(self.data.equipment):
            where = f"equipment[{i}]"
            equipment.append(
                (
                    check_id(f"{where}.equipment_id", eid),
                    check_text(f"{where}.name", name),
                    check_word(f"{where}.kind", kind),
                    self.now_us,
                )
            )
        ids = [str(e[0]) for e in equipment]
        _unique("equipment", "equipment_id", ids)
        self.refuse_stored("equipment", "gen_equipment", "equipment_id", ids)
        self.insert(
            "gen_materials",
            "material_id, name, kind, unit, created_us",
            "text text text text bigint",
            materials,
        )
        self.insert(
            "gen_equipment",
            "equipment_id, name, kind, created_us",
            "text text text bigint",
            equipment,
        )
        rows = self.tx.run("SELECT material_id, kind FROM gen_materials")
        self.kinds = {str(m): str(k) for m, k in rows}

    def nodes(self) -> None:
        """Check and insert lots and containers (node ids follow the stored ones)."""
        node = self.first_node
        rows: list[tuple[object, ...]] = []
        for i, (lot_id, material, quantity, unit, status) in enumerate(self.data.lots):
            where = f"lots[{i}]"
            check_id(f"{where}.lot_id", lot_id)
            if material not in self.kinds:
                raise GenealogyError(f"{where}.material_id: no material {material!r}")
            if lot_id in self.lots:
                raise GenealogyError(f"{where}.lot_id: {lot_id!r} appears twice in the import")
            rows.append(
                (
                    node,
                    "lot",
                    lot_id,
                    material,
                    None,
                    None,
                    None,
                    check_quantity(quantity, f"{where}.quantity"),
                    check_unit(unit, f"{where}.unit"),
                    _field(where, check_status, status),
                    self.now_us,
                )
            )
            self.lots[lot_id] = (node, material, unit)
            node += 1
        if taken := self.stored_nodes("lot", self.lots):
            raise GenealogyError(f"lots.lot_id: already stored: {', '.join(sorted(taken)[:5])}")
        stored = self.stored_nodes("lot", {c[1] for c in self.data.containers} - self.lots.keys())
        for i, (container_id, lot_id, kind, quantity, unit) in enumerate(self.data.containers):
            where = f"containers[{i}]"
            check_id(f"{where}.container_id", container_id)
            if container_id in self.containers:
                raise GenealogyError(
                    f"{where}.container_id: {container_id!r} appears twice in the import"
                )
            lot = self.lots.get(lot_id)
            if lot is None:
                if lot_id not in stored:
                    raise GenealogyError(f"{where}.lot_id: no lot {lot_id!r}")
                lot = (stored[lot_id][0], stored[lot_id][2], stored[lot_id][3])
            rows.append(
                (
                    node,
                    "container",
                    container_id,
                    lot[1],
                    lot[0],
                    lot_id,
                    check_word(f"{where}.kind", kind),
                    check_quantity(quantity, f"{where}.quantity"),
                    check_unit(unit, f"{where}.unit"),
                    "released",
                    self.now_us,
                )
            )
            self.containers[container_id] = (node, lot[1], unit)
            self.lot_of[node] = lot[0]
            node += 1
        if taken := self.stored_nodes("container", self.containers):
            names = ", ".join(sorted(taken)[:5])
            raise GenealogyError(f"containers.container_id: already stored: {names}")
        self.insert(
            "gen_nodes",
            "node, kind, ident, material_id, lot, lot_id, container_kind, quantity, "
            "unit, status, created_us",
            "bigint text text text bigint text text float8 text text bigint",
            rows,
        )

    def step_rows(self) -> None:
        """Check and insert the steps."""
        step = int(self.tx.run("SELECT COALESCE(MAX(step), 0) + 1 FROM gen_steps")[0][0])
        known = {str(e[0]) for e in self.tx.run("SELECT equipment_id FROM gen_equipment")}
        rows: list[tuple[object, ...]] = []
        for i, (step_id, segment, batch, equipment_id, start, end) in enumerate(self.data.steps):
            where = f"steps[{i}]"
            check_id(f"{where}.step_id", step_id)
            if step_id in self.steps:
                raise GenealogyError(f"{where}.step_id: {step_id!r} appears twice in the import")
            if equipment_id not in known:
                raise GenealogyError(f"{where}.equipment_id: no equipment {equipment_id!r}")
            start_us = to_us(check_time(f"{where}.start", start))
            end_us = None if end is None else to_us(check_time(f"{where}.end", end))
            if end_us is not None and end_us < start_us:
                raise GenealogyError(f"{where}.end: {end} is before start")
            rows.append(
                (
                    step,
                    step_id,
                    check_text(f"{where}.segment", segment),
                    check_id(f"{where}.batch_id", batch),
                    equipment_id,
                    start_us,
                    end_us,
                    self.now_us,
                )
            )
            self.steps[step_id] = step
            step += 1
        self.refuse_stored("steps", "gen_steps", "step_id", self.steps)
        self.insert(
            "gen_steps",
            "step, step_id, segment, batch_id, equipment_id, start_us, end_us, created_us",
            "bigint text text text text bigint bigint bigint",
            rows,
        )

    def actuals(self) -> Links:
        """Check the material actuals; by (node, ``in`` or ``out``, step)."""
        rows = [("in", i, row) for i, row in enumerate(self.data.consumed)]
        rows += [("out", i, row) for i, row in enumerate(self.data.produced)]
        wanted = {row[0] for _, _, row in rows} - self.steps.keys()
        if wanted and not self.empty:
            query = "SELECT step_id, step FROM gen_steps WHERE {IN}"
            self.steps.update((str(r[0]), int(r[1])) for r in self.select(query, "step_id", wanted))
        stored = {
            kind: self.stored_nodes(kind, {r[2] for _, _, r in rows if r[1] == kind} - new.keys())
            for kind, new in (("lot", self.lots), ("container", self.containers))
        }
        links: Links = {}
        produced: dict[int, str] = {}
        for role, i, (step_id, kind, ident, quantity, unit) in rows:
            where = f"{'consumed' if role == 'in' else 'produced'}[{i}]"
            step = self.steps.get(step_id)
            if step is None:
                raise GenealogyError(f"{where}.step_id: no step {step_id!r}")
            node, node_unit = self.resolve(where, kind, ident, stored)
            if unit != node_unit:
                raise GenealogyError(
                    f"{where}.unit: {unit!r} differs from the unit of {kind} {ident!r} "
                    f"({node_unit!r})"
                )
            if (node, "in", step) in links or (node, "out", step) in links:
                raise GenealogyError(f"{where}.id: {kind} {ident!r} appears twice for {step_id!r}")
            if role == "out" and kind == "container":
                if node in produced:
                    raise GenealogyError(
                        f"{where}.id: container {ident!r} is produced twice ({produced[node]!r} "
                        f"and {step_id!r}); a container is produced once"
                    )
                produced[node] = step_id
            amount = check_quantity(quantity, f"{where}.quantity")
            links[(node, role, step)] = (kind, ident, amount, unit)
        if not self.empty:
            self.refuse_produced_again([n for n in produced if self.is_old(n)])
        return links

    def resolve(
        self, where: str, kind: str, ident: str, stored: dict[str, dict[str, StoredNode]]
    ) -> tuple[int, str]:
        """The node and unit of a lot or container of this import or stored before."""
        if kind not in ("lot", "container"):
            raise GenealogyError(f"{where}.kind: {kind!r} is not 'lot' or 'container'")
        new = (self.lots if kind == "lot" else self.containers).get(ident)
        if new is not None:
            return new[0], new[2]
        known = stored[kind].get(ident)
        if known is None:
            raise GenealogyError(f"{where}.id: no {kind} {ident!r}")
        if known[1]:
            self.lot_of.setdefault(known[0], known[1])
        return known[0], known[3]

    def refuse_produced_again(self, containers: list[int]) -> None:
        """``GenealogyError`` if a stored container produced here was produced before."""
        rows = self.select(
            "SELECT n.ident FROM gen_links AS l JOIN gen_nodes AS n ON n.node = l.node "
            "WHERE l.role IN ('out', 'out.end') AND {IN}",
            "l.node",
            containers,
        )
        if rows:
            raise GenealogyError(
                f"produced.id: container {rows[0][0]!r} is already produced by a stored step; "
                "a container is produced once"
            )

    def links(self, links: Links) -> None:
        """Insert the membership rows of new nodes and the material actuals, with the
        ``.end`` roles of containers that lead nowhere (see ``genealogy_schema``)."""
        consumed = {node for node, role, _ in links if role == "in"}
        if not self.empty:
            old = {n for c, lot in self.lot_of.items() for n in (c, lot) if self.is_old(n)}
            query = "SELECT DISTINCT node FROM gen_links WHERE role = 'in' AND {IN}"
            consumed.update(int(r[0]) for r in self.select(query, "node", old))

        def goes_on(container: int) -> bool:
            return container in consumed or self.lot_of.get(container, -1) in consumed

        rows: list[tuple[object, ...]] = [
            (lot, "lot", -lot, "lot", None, lot_id, None, None)
            for lot_id, (lot, _, _) in self.lots.items()
        ]
        for ident, (container, _, _) in self.containers.items():
            role, lot = "sub" if goes_on(container) else "sub.end", self.lot_of[container]
            rows.append((container, role, -lot, "container", lot, ident, None, None))
        for (node, role, step), (kind, ident, quantity, unit) in links.items():
            ends = role == "out" and kind == "container" and not goes_on(node)
            lot_node = self.lot_of.get(node) if kind == "container" else None
            rows.append(
                (node, "out.end" if ends else role, step, kind, lot_node, ident, quantity, unit)
            )
        self.insert(
            "gen_links",
            "node, role, step, kind, lot, ident, quantity, unit",
            "bigint text bigint text bigint text float8 text",
            rows,
        )
        if not self.empty:  # stored lots and containers consumed now lead on
            old_in = [
                (n, k) for (n, r, _), (k, *_) in links.items() if r == "in" and self.is_old(n)
            ]
            lots = [n for n, k in old_in if k == "lot"]
            lead_on(self.tx, lots, [n for n, k in old_in if k != "lot"])


def import_rows(tx: Tx, dialect: str, data: BulkData, now_us: int, import_id: str) -> BulkSummary:
    """Check and insert ``data`` inside ``tx``; ``GenealogyError`` naming the row."""
    if tx.run("SELECT 1 FROM gen_imports WHERE import_id = ?", (import_id,)):
        raise GenealogyError(f"import_id: an import {import_id!r} already exists")
    job = _Import(tx, dialect, data, now_us)
    job.definitions()
    job.nodes()
    job.step_rows()
    links = job.actuals()
    job.links(links)
    for table in ("gen_nodes", "gen_steps", "gen_links"):
        tx.run(f"ANALYZE {table}")
    counts = {
        "materials": len(data.materials),
        "equipment": len(data.equipment),
        "lots": len(data.lots),
        "containers": len(data.containers),
        "steps": len(data.steps),
        "links": len(links),
    }
    tx.run(
        "INSERT INTO gen_imports (import_id, imported_us, counts) VALUES (?, ?, ?)",
        (import_id, now_us, json.dumps(counts, sort_keys=True)),
    )
    return BulkSummary(import_id, counts, data.content_hash())


def _field(where: str, check: Callable[[object], str], value: object) -> str:
    try:
        return check(value)
    except GenealogyError as exc:
        raise GenealogyError(f"{where}.{exc}") from None


def _unique(section: str, key: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise GenealogyError(f"{section}[{i}].{key}: {ident!r} appears twice in the import")
        seen.add(ident)
