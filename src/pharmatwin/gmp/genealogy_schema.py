"""The genealogy tables (ISA-95 / IEC 62264-2 material model), in the historian's database.

* ``gen_materials``: material definitions (IEC 62264-2 "material definition") with a class:
  raw, packaging, intermediate or finished.
* ``gen_equipment``: equipment a process step runs on.
* ``gen_nodes``: material lots and sublots (containers: vial, bag, drum, ...) under one integer
  key ``node`` (IEC 62264-2 "material lot" and "material sublot"). A container row carries its
  lot's node (``lot``) and id (``lot_id``) and the lot's material.
* ``gen_steps``: process segment runs: a step (``segment``, e.g. "fill") of a batch on one piece
  of equipment, with start and end (integer microseconds since the Unix epoch, UTC).
* ``gen_links``: the links table, one row per (node, role, step):

  - ``in`` / ``out``: the material actuals (IEC 62264-2 "material actual", use "consumed" /
    "produced"): a lot or container consumed or produced by a step, with quantity and unit.
  - ``lot`` / ``sub``: membership, as a pseudo step ``-lot node``: one ``lot`` row for the lot,
    one ``sub`` row per container in it.
  - ``out.end`` / ``sub.end``: ``out`` / ``sub`` of a container that leads nowhere further
    downstream (neither it nor its lot as a whole is consumed by any step): a forward trace
    reads these in one index range at the end instead of recursing into each (a filled vial).
    Recording a consumption turns them into ``out`` / ``sub``.

  Each row repeats its node's ``kind``, ``ident`` (lot or container id) and ``lot`` (a
  container's lot node): ids never change, and so the primary key ``(node, role, step)`` and the
  index ``(step, role, node, kind, lot, ident)`` cover every hop of a trace in both directions,
  and the containers at its end, without reading ``gen_nodes``.
* ``gen_imports``: one row per bulk import (its audit-trail record names it).
"""

from __future__ import annotations

from pharmatwin.historian.backend import Tx

GENEALOGY_LOCK = 7_240_831
"""PostgreSQL advisory lock id: serializes table creation and genealogy writes."""

ROLE_IN, ROLE_OUT, ROLE_OUT_END = "in", "out", "out.end"
ROLE_LOT, ROLE_SUB, ROLE_SUB_END = "lot", "sub", "sub.end"

_TEMPLATE = (
    """CREATE TABLE IF NOT EXISTS gen_materials (
        material_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
        unit TEXT NOT NULL, created_us BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS gen_equipment (
        equipment_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
        created_us BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS gen_nodes (
        node {KEY} PRIMARY KEY, kind TEXT NOT NULL, ident TEXT NOT NULL,
        material_id TEXT NOT NULL REFERENCES gen_materials (material_id),
        lot BIGINT REFERENCES gen_nodes (node), lot_id TEXT, container_kind TEXT,
        quantity {REAL} NOT NULL, unit TEXT NOT NULL, status TEXT NOT NULL,
        created_us BIGINT NOT NULL, UNIQUE (kind, ident))""",
    "CREATE INDEX IF NOT EXISTS gen_nodes_lot ON gen_nodes (lot)",
    """CREATE TABLE IF NOT EXISTS gen_steps (
        step {KEY} PRIMARY KEY, step_id TEXT NOT NULL UNIQUE, segment TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        equipment_id TEXT NOT NULL REFERENCES gen_equipment (equipment_id),
        start_us BIGINT NOT NULL, end_us BIGINT, created_us BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS gen_steps_batch ON gen_steps (batch_id)",
    """CREATE TABLE IF NOT EXISTS gen_links (
        node BIGINT NOT NULL, role TEXT NOT NULL, step BIGINT NOT NULL, kind TEXT NOT NULL,
        lot BIGINT, ident TEXT NOT NULL, quantity {REAL}, unit TEXT,
        PRIMARY KEY (node, role, step)){WITHOUT_ROWID}""",
    "CREATE INDEX IF NOT EXISTS gen_links_step ON gen_links (step, role, node, kind, lot, ident)",
    """CREATE TABLE IF NOT EXISTS gen_imports (
        import_id TEXT PRIMARY KEY, imported_us BIGINT NOT NULL, counts TEXT NOT NULL)""",
)


def statements(dialect: str) -> tuple[str, ...]:
    """The ``CREATE`` statements for ``sqlite`` or ``postgresql``."""
    sqlite = dialect == "sqlite"
    replace = {
        "{KEY}": "INTEGER" if sqlite else "BIGINT",  # INTEGER PRIMARY KEY: SQLite's rowid
        "{REAL}": "REAL" if sqlite else "DOUBLE PRECISION",
        "{WITHOUT_ROWID}": " WITHOUT ROWID" if sqlite else "",
    }
    out = []
    for template in _TEMPLATE:
        text = template
        for key, value in replace.items():
            text = text.replace(key, value)
        out.append(text)
    return tuple(out)


def create_tables(tx: Tx, dialect: str) -> None:
    """Create the genealogy tables if missing (idempotent)."""
    if dialect == "postgresql":
        tx.run("SELECT pg_advisory_xact_lock(?)", (GENEALOGY_LOCK,))
    for statement in statements(dialect):
        tx.run(statement)
