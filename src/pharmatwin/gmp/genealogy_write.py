"""Recording the definitions of the genealogy: materials, equipment, lots and containers,
and status changes, each stored together with its audit-trail record.

Every write runs in one transaction of the audit trail's database (which must be the
genealogy's): the record and its audit record (21 CFR 11.10(e); EU GMP Annex 11, section 9)
are stored together or not at all. On PostgreSQL an advisory lock serializes genealogy writes
(new keys are the largest plus one). ``pharmatwin.gmp.genealogy.Genealogy`` adds steps and
material actuals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pharmatwin.gmp.genealogy_links import onward
from pharmatwin.gmp.genealogy_read import GenealogyReader, NodeKind, container_of, lot_of
from pharmatwin.gmp.genealogy_records import (
    Container,
    Equipment,
    GenealogyError,
    Lot,
    Material,
    check_id,
    check_kind,
    check_quantity,
    check_status,
    check_text,
    check_time,
    check_unit,
    check_word,
)
from pharmatwin.gmp.genealogy_schema import GENEALOGY_LOCK
from pharmatwin.historian.backend import Tx
from pharmatwin.historian.records import from_us, to_us

if TYPE_CHECKING:
    from pharmatwin.gmp.audit import AuditTrail

__all__ = ["By", "GenealogyWriter", "next_key", "one_of"]

T = TypeVar("T")
_INSERT_NODE = (
    "INSERT INTO gen_nodes (node, kind, ident, material_id, lot, lot_id, container_kind, "
    "quantity, unit, status, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def one_of(lot_id: str | None, container_id: str | None) -> tuple[NodeKind, str]:
    if (lot_id is None) == (container_id is None):
        raise GenealogyError("lot_id, container_id: give exactly one of them")
    if lot_id is not None:
        return "lot", check_id("lot_id", lot_id)
    return "container", check_id("container_id", container_id)


def next_key(tx: Tx, column: str, table: str) -> int:
    """The next free key of ``table`` (genealogy writes are serialized)."""
    return int(tx.run(f"SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}")[0][0])


@dataclass(frozen=True)
class By:
    """Who records a change, why, and the audit trail it goes to."""

    audit: AuditTrail
    user: str
    reason: str

    def append(
        self, tx: Tx, action: str, record_type: str, record_id: str, *, old: Any, new: Any
    ) -> None:
        plain = dataclasses.asdict
        self.audit.append_in(
            tx,
            user=self.user,
            action=action,
            record_type=record_type,
            record_id=record_id,
            old=None if old is None else plain(old),
            new=plain(new),
            reason=self.reason,
        )


class GenealogyWriter(GenealogyReader):
    """The genealogy at ``url`` (see ``GenealogyReader``), with the recording methods of
    definitions.

    Each recording method writes through ``audit`` (an ``AuditTrail`` on the same database),
    so the record and its audit record are stored together or not at all; ``user`` is who
    records it and ``reason`` why (both required). Errors: ``GenealogyError`` naming the field.
    """

    def _write(self, by: By, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in one transaction of the audit trail's database."""
        if by.audit.url != self.url:
            raise GenealogyError(
                f"audit: the audit trail is in {by.audit.label}, the genealogy in {self.label}; "
                "they must share the database so a record and its audit record are one write"
            )
        check_text("user", by.user)
        check_text("reason", by.reason)
        postgres = self.dialect == "postgresql"

        def locked(tx: Tx) -> T:
            if postgres:
                tx.run("SELECT pg_advisory_xact_lock(?)", (GENEALOGY_LOCK,))
            return work(tx)

        return by.audit.write(locked)

    def _now_us(self) -> int:
        return to_us(check_time("clock", self._clock()))

    def add_material(
        self,
        material_id: str,
        *,
        name: str,
        kind: str,
        unit: str,
        audit: AuditTrail,
        user: str,
        reason: str,
    ) -> Material:
        """Define a material (``kind``: raw, packaging, intermediate or finished; ``unit``: its
        base unit)."""
        made = Material(
            check_id("material_id", material_id),
            check_text("name", name),
            check_kind(kind),
            check_unit(unit),
            from_us(self._now_us()),
        )
        by = By(audit, user, reason)

        def work(tx: Tx) -> None:
            if tx.run("SELECT 1 FROM gen_materials WHERE material_id = ?", (material_id,)):
                raise GenealogyError(f"material_id: a material {material_id!r} already exists")
            tx.run(
                "INSERT INTO gen_materials (material_id, name, kind, unit, created_us) "
                "VALUES (?, ?, ?, ?, ?)",
                (material_id, made.name, made.kind, made.unit, to_us(made.created)),
            )
            by.append(tx, "create", "material", material_id, old=None, new=made)

        self._write(by, work)
        self._kinds[material_id] = made.kind
        return made

    def add_equipment(
        self,
        equipment_id: str,
        *,
        name: str,
        kind: str,
        audit: AuditTrail,
        user: str,
        reason: str,
    ) -> Equipment:
        """Register a piece of equipment (``kind``: a lower-case word, "bioreactor")."""
        made = Equipment(
            check_id("equipment_id", equipment_id),
            check_text("name", name),
            check_word("kind", kind),
            from_us(self._now_us()),
        )
        by = By(audit, user, reason)

        def work(tx: Tx) -> None:
            if tx.run("SELECT 1 FROM gen_equipment WHERE equipment_id = ?", (equipment_id,)):
                raise GenealogyError(f"equipment_id: equipment {equipment_id!r} already exists")
            tx.run(
                "INSERT INTO gen_equipment (equipment_id, name, kind, created_us) "
                "VALUES (?, ?, ?, ?)",
                (equipment_id, made.name, made.kind, to_us(made.created)),
            )
            by.append(tx, "create", "equipment", equipment_id, old=None, new=made)

        self._write(by, work)
        return made

    def add_lot(
        self,
        lot_id: str,
        *,
        material_id: str,
        quantity: float,
        unit: str,
        status: str = "quarantined",
        audit: AuditTrail,
        user: str,
        reason: str,
    ) -> Lot:
        """Create a lot of ``quantity`` ``unit`` of a defined material."""
        check_id("material_id", material_id)
        made = Lot(
            check_id("lot_id", lot_id),
            material_id,
            check_quantity(quantity),
            check_unit(unit),
            check_status(status),
            from_us(self._now_us()),
        )
        by = By(audit, user, reason)

        def work(tx: Tx) -> None:
            if not tx.run("SELECT 1 FROM gen_materials WHERE material_id = ?", (material_id,)):
                raise GenealogyError(f"material_id: no material {material_id!r}")
            if self._lookup(tx.run, "lot", lot_id) is not None:
                raise GenealogyError(f"lot_id: a lot {lot_id!r} already exists")
            node = next_key(tx, "node", "gen_nodes")
            tx.run(
                _INSERT_NODE,
                (
                    node,
                    "lot",
                    lot_id,
                    material_id,
                    None,
                    None,
                    None,
                    made.quantity,
                    made.unit,
                    made.status,
                    to_us(made.created),
                ),
            )
            tx.run(
                "INSERT INTO gen_links (node, role, step, kind, lot, ident) "
                "VALUES (?, 'lot', ?, 'lot', NULL, ?)",
                (node, -node, lot_id),
            )
            by.append(tx, "create", "lot", lot_id, old=None, new=made)

        self._write(by, work)
        return made

    def add_container(
        self,
        container_id: str,
        *,
        lot_id: str,
        kind: str,
        quantity: float,
        unit: str,
        audit: AuditTrail,
        user: str,
        reason: str,
    ) -> Container:
        """Create a container (sublot: vial, bag, drum, ...) of ``lot_id`` holding
        ``quantity`` ``unit``; it takes the lot's material and status."""
        check_id("container_id", container_id)
        check_id("lot_id", lot_id)
        check_word("kind", kind)
        amount, symbol, created_us = check_quantity(quantity), check_unit(unit), self._now_us()
        by = By(audit, user, reason)

        def work(tx: Tx) -> Container:
            lot = self._find(tx.run, "lot", lot_id, "lot_id")
            if self._lookup(tx.run, "container", container_id) is not None:
                raise GenealogyError(f"container_id: a container {container_id!r} already exists")
            node, lot_node = next_key(tx, "node", "gen_nodes"), int(lot[0])
            tx.run(
                _INSERT_NODE,
                (
                    node,
                    "container",
                    container_id,
                    lot[3],
                    lot_node,
                    lot_id,
                    kind,
                    amount,
                    symbol,
                    lot[9],
                    created_us,
                ),
            )
            role = "sub" if onward(tx, "container", node, lot_node) else "sub.end"
            tx.run(
                "INSERT INTO gen_links (node, role, step, kind, lot, ident) "
                "VALUES (?, ?, ?, 'container', ?, ?)",
                (node, role, -lot_node, lot_node, container_id),
            )
            made = Container(
                container_id, lot_id, lot[3], kind, amount, symbol, lot[9], from_us(created_us)
            )
            by.append(tx, "create", "container", container_id, old=None, new=made)
            return made

        return self._write(by, work)

    def set_status(
        self,
        status: str,
        *,
        lot_id: str | None = None,
        container_id: str | None = None,
        audit: AuditTrail,
        user: str,
        reason: str,
    ) -> Lot | Container:
        """Change the status of a lot or of one container (audited with old and new)."""
        kind, ident = one_of(lot_id, container_id)
        state = check_status(status)
        by = By(audit, user, reason)

        def work(tx: Tx) -> Lot | Container:
            row = self._find(tx.run, kind, ident, f"{kind}_id")
            before = lot_of(row) if kind == "lot" else container_of(row)
            tx.run("UPDATE gen_nodes SET status = ? WHERE node = ?", (state, row[0]))
            after = dataclasses.replace(before, status=state)
            by.append(tx, "change", kind, ident, old=before, new=after)
            return after

        return self._write(by, work)
