"""Material genealogy (ISA-95 / IEC 62264-2 material model): record what was consumed and
produced where, trace backward and forward, scope a recall.

Materials, equipment, lots, containers (sublots) and steps (process segment runs) live in the
historian's database (tables in ``pharmatwin.gmp.genealogy_schema``). Every create and change
is stored together with its audit-trail record, in one transaction of the audit trail's
database (21 CFR 11.10(e); EU GMP Annex 11, section 9): the recording methods take the
``AuditTrail``, the user and a reason. Definitions (materials, equipment, lots, containers)
are recorded by ``pharmatwin.gmp.genealogy_write``; steps, material actuals and bulk imports
here. A bulk import (``import_bulk``, for migrations and the benchmark) is audited as ONE
record naming the import, its counts and content hash, not one record per row.

Nothing is deleted: a wrong record is corrected by a new one (a status change is audited with
the old and the new value). Traces and recalls: ``pharmatwin.gmp.genealogy_read``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from pharmatwin.gmp.genealogy_links import check_link, lead_on, onward
from pharmatwin.gmp.genealogy_read import STEP_COLUMNS, GenealogyReader, NodeKind, step_of
from pharmatwin.gmp.genealogy_records import (
    GenealogyError,
    MaterialActual,
    Step,
    Use,
    check_id,
    check_quantity,
    check_text,
    check_time,
    check_unit,
)
from pharmatwin.gmp.genealogy_write import By, GenealogyWriter, next_key, one_of
from pharmatwin.historian.backend import Tx
from pharmatwin.historian.records import to_us

if TYPE_CHECKING:
    from pharmatwin.gmp.audit import AuditTrail
    from pharmatwin.gmp.genealogy_bulk import BulkData, BulkSummary

__all__ = ["Genealogy", "GenealogyError", "GenealogyReader", "GenealogyWriter"]


class Genealogy(GenealogyWriter):
    """The genealogy at ``url``: queries (``GenealogyReader``), definitions
    (``GenealogyWriter``), and the recording of steps and of what they consumed and produced.

    Each recording method writes through ``audit`` (an ``AuditTrail`` on the same database),
    so the record and its audit record are stored together or not at all; ``user`` is who
    records it and ``reason`` why (both required). Errors: ``GenealogyError`` naming the field.
    """

    def add_step(
        self,
        step_id: str,
        *,
        segment: str,
        batch_id: str,
        equipment_id: str,
        start: datetime,
        end: datetime | None = None,
        audit: AuditTrail,
        user: str,
        reason: str,
    ) -> Step:
        """Record a step: process segment ``segment`` of ``batch_id`` on ``equipment_id``
        from ``start`` to ``end`` (UTC; ``None`` while it runs)."""
        made = Step(
            check_id("step_id", step_id),
            check_text("segment", segment),
            check_id("batch_id", batch_id),
            check_id("equipment_id", equipment_id),
            check_time("start", start),
            None if end is None else check_time("end", end),
        )
        if made.end is not None and made.end < made.start:
            raise GenealogyError(f"end: {made.end.isoformat()} is before start")
        by = By(audit, user, reason)

        def work(tx: Tx) -> None:
            if not tx.run("SELECT 1 FROM gen_equipment WHERE equipment_id = ?", (equipment_id,)):
                raise GenealogyError(f"equipment_id: no equipment {equipment_id!r}")
            if tx.run("SELECT 1 FROM gen_steps WHERE step_id = ?", (step_id,)):
                raise GenealogyError(f"step_id: a step {step_id!r} already exists")
            end_us = None if made.end is None else to_us(made.end)
            tx.run(
                "INSERT INTO gen_steps (step, step_id, segment, batch_id, equipment_id, "
                "start_us, end_us, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    next_key(tx, "step", "gen_steps"),
                    step_id,
                    made.segment,
                    batch_id,
                    equipment_id,
                    to_us(made.start),
                    end_us,
                    self._now_us(),
                ),
            )
            by.append(tx, "create", "step", step_id, old=None, new=made)

        self._write(by, work)
        return made

    def end_step(
        self, step_id: str, *, end: datetime, audit: AuditTrail, user: str, reason: str
    ) -> Step:
        """Set (or correct) the end of a step (audited with old and new)."""
        check_time("end", end)
        by = By(audit, user, reason)

        def work(tx: Tx) -> Step:
            rows = tx.run(f"SELECT {STEP_COLUMNS} FROM gen_steps WHERE step_id = ?", (step_id,))
            if not rows:
                raise GenealogyError(f"step_id: no step {step_id!r}")
            before = step_of(rows[0])
            if end < before.start:
                raise GenealogyError(f"end: {end.isoformat()} is before the step's start")
            tx.run("UPDATE gen_steps SET end_us = ? WHERE step_id = ?", (to_us(end), step_id))
            after = dataclasses.replace(before, end=end)
            by.append(tx, "change", "step", step_id, old=before, new=after)
            return after

        return self._write(by, work)

    def consume(
        self,
        step_id: str,
        *,
        lot_id: str | None = None,
        container_id: str | None = None,
        quantity: float,
        unit: str,
        audit: AuditTrail,
        user: str,
        reason: str,
    ) -> MaterialActual:
        """Record that step ``step_id`` consumed ``quantity`` ``unit`` (the unit of the lot or
        container) of one lot or one container."""
        kind, ident = one_of(lot_id, container_id)
        return self._actual(
            "consumed", step_id, kind, ident, quantity, unit, By(audit, user, reason)
        )

    def produce(
        self,
        step_id: str,
        *,
        lot_id: str | None = None,
        container_id: str | None = None,
        quantity: float,
        unit: str,
        audit: AuditTrail,
        user: str,
        reason: str,
    ) -> MaterialActual:
        """Record that step ``step_id`` produced a lot (several steps may fill one lot) or a
        container (a container is produced once)."""
        kind, ident = one_of(lot_id, container_id)
        return self._actual(
            "produced", step_id, kind, ident, quantity, unit, By(audit, user, reason)
        )

    def _actual(  # noqa: PLR0917 (private; the public methods are keyword-only)
        self,
        use: Use,
        step_id: str,
        kind: NodeKind,
        ident: str,
        quantity: float,
        unit: str,
        by: By,
    ) -> MaterialActual:
        check_id("step_id", step_id)
        amount, symbol = check_quantity(quantity), check_unit(unit)

        def work(tx: Tx) -> MaterialActual:
            steps = tx.run("SELECT step FROM gen_steps WHERE step_id = ?", (step_id,))
            if not steps:
                raise GenealogyError(f"step_id: no step {step_id!r}")
            step = int(steps[0][0])
            row = self._find(tx.run, kind, ident, f"{kind}_id")
            node = int(row[0])
            if symbol != row[8]:
                raise GenealogyError(
                    f"unit: {symbol!r} differs from the unit of {kind} {ident!r} ({row[8]!r})"
                )
            check_link(tx, use, step_id, step, kind, ident, node)
            if use == "consumed":
                role = "in"
                lead_on(tx, *(([node], []) if kind == "lot" else ([], [node])))
            else:
                lot_node = None if row[4] is None else int(row[4])
                role = "out" if onward(tx, kind, node, lot_node) else "out.end"
            tx.run(
                "INSERT INTO gen_links (node, role, step, kind, lot, ident, quantity, unit) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (node, role, step, kind, row[4], ident, amount, symbol),
            )
            lot_id, container_id = (ident, None) if kind == "lot" else (str(row[5]), ident)
            made = MaterialActual(step_id, use, lot_id, container_id, amount, symbol)
            by.append(
                tx,
                "create",
                "material_actual",
                f"{step_id} {use} {kind} {ident}",
                old=None,
                new=made,
            )
            return made

        return self._write(by, work)

    def import_bulk(
        self,
        data: BulkData,
        *,
        audit: AuditTrail,
        user: str,
        reason: str,
        import_id: str | None = None,
    ) -> BulkSummary:
        """Import many rows in one transaction with ONE audit-trail record (action
        ``import``, record type ``genealogy_import``: counts and content hash) instead of one
        per row; no cycle check (see ``pharmatwin.gmp.genealogy_bulk``)."""
        from pharmatwin.gmp.genealogy_bulk import import_rows

        now_us = self._now_us()
        ident = check_id("import_id", import_id or f"import-{now_us}")
        dialect, by = self.dialect, By(audit, user, reason)

        def work(tx: Tx) -> BulkSummary:
            summary = import_rows(tx, dialect, data, now_us, ident)
            by.audit.append_in(
                tx,
                user=user,
                action="import",
                record_type="genealogy_import",
                record_id=ident,
                old=None,
                new={"counts": summary.counts, "content_hash": summary.content_hash},
                reason=reason,
            )
            return summary

        summary = self._write(by, work)
        self._kinds.clear()
        return summary
