"""Reading the genealogy: records by id, backward and forward traces, recall scoping.

``GenealogyReader`` opens the database (creating the tables when missing) and answers queries;
``pharmatwin.gmp.genealogy.Genealogy`` adds the audited recording methods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, Self, cast

from pharmatwin.gmp import genealogy_sql as sql
from pharmatwin.gmp.genealogy_records import (
    Container,
    Equipment,
    GenealogyError,
    Lot,
    LotStatus,
    Material,
    MaterialActual,
    MaterialKind,
    Step,
    check_id,
)
from pharmatwin.gmp.genealogy_schema import create_tables
from pharmatwin.gmp.genealogy_trace import (
    Direction,
    Reached,
    RecallScope,
    Trace,
    build_recall,
    build_trace,
)
from pharmatwin.gmp.storage import open_backend
from pharmatwin.historian.backend import Row
from pharmatwin.historian.records import from_us
from pharmatwin.historian.urls import resolve_db_url

__all__ = ["GenealogyReader", "NodeKind", "utc_now"]

NodeKind = Literal["lot", "container"]
Run = Callable[[str, Sequence[object]], list[Row]]
NODE_COLUMNS = (
    "node, kind, ident, material_id, lot, lot_id, container_kind, quantity, unit, status, "
    "created_us"
)
STEP_COLUMNS = "step, step_id, segment, batch_id, equipment_id, start_us, end_us"
_CHUNK = 500


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def lot_of(row: Row) -> Lot:
    """A ``gen_nodes`` row (``NODE_COLUMNS``) of a lot."""
    status = cast(LotStatus, row[9])
    return Lot(row[2], row[3], float(row[7]), row[8], status, from_us(int(row[10])))


def container_of(row: Row) -> Container:
    """A ``gen_nodes`` row (``NODE_COLUMNS``) of a container."""
    status = cast(LotStatus, row[9])
    created = from_us(int(row[10]))
    return Container(row[2], row[5], row[3], row[6], float(row[7]), row[8], status, created)


def step_of(row: Row) -> Step:
    """A ``gen_steps`` row (``STEP_COLUMNS``)."""
    end = None if row[6] is None else from_us(int(row[6]))
    return Step(row[1], row[2], row[3], row[4], from_us(int(row[5])), end)


def chunks(values: Sequence[int], size: int = _CHUNK) -> list[Sequence[int]]:
    """``values`` in pieces of at most ``size`` (for ``IN (...)`` lists)."""
    return [values[i : i + size] for i in range(0, len(values), size)]


class GenealogyReader:
    """The genealogy in the database at ``url`` (default: the historian's, see
    ``pharmatwin.historian.urls.resolve_db_url``), for queries; tables created when missing.

    Args:
        url: ``sqlite:///path.db`` or ``postgresql://...``.
        clock: the current UTC time (injected by tests).
    """

    def __init__(self, url: str | None = None, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.url = resolve_db_url(url)
        self._clock = clock
        self._backend = open_backend(self.url)
        self._kinds: dict[str, MaterialKind] = {}
        try:
            dialect = self._backend.dialect
            self._backend.write(lambda tx: create_tables(tx, dialect))
        except BaseException:
            self._backend.close()
            raise

    @property
    def label(self) -> str:
        """The database, for messages (no password)."""
        return self._backend.label

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._backend.dialect

    def close(self) -> None:
        """Close the connection."""
        self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # records ------------------------------------------------------------------------------

    def material(self, material_id: str) -> Material | None:
        """The material definition ``material_id``, or ``None``."""
        rows = self._backend.read(
            "SELECT material_id, name, kind, unit, created_us FROM gen_materials "
            "WHERE material_id = ?",
            (material_id,),
        )
        if not rows:
            return None
        mid, name, kind, unit, created_us = rows[0]
        return Material(mid, name, kind, unit, from_us(int(created_us)))

    def equipment(self, equipment_id: str) -> Equipment | None:
        """The equipment ``equipment_id``, or ``None``."""
        rows = self._backend.read(
            "SELECT equipment_id, name, kind, created_us FROM gen_equipment WHERE equipment_id = ?",
            (equipment_id,),
        )
        if not rows:
            return None
        eid, name, kind, created_us = rows[0]
        return Equipment(eid, name, kind, from_us(int(created_us)))

    def lot(self, lot_id: str) -> Lot | None:
        """The lot ``lot_id``, or ``None``."""
        row = self._get("lot", lot_id)
        return None if row is None else lot_of(row)

    def container(self, container_id: str) -> Container | None:
        """The container ``container_id``, or ``None``."""
        row = self._get("container", container_id)
        return None if row is None else container_of(row)

    def containers(self, lot_id: str) -> list[Container]:
        """The containers of lot ``lot_id``, sorted by id; ``GenealogyError`` for no such lot."""
        lot = self._find(self._backend.read, "lot", lot_id, "lot_id")
        rows = self._backend.read(
            f"SELECT {NODE_COLUMNS} FROM gen_nodes WHERE lot = ? ORDER BY ident", (lot[0],)
        )
        return [container_of(row) for row in rows]

    def step(self, step_id: str) -> Step | None:
        """The step ``step_id``, or ``None``."""
        rows = self._backend.read(
            f"SELECT {STEP_COLUMNS} FROM gen_steps WHERE step_id = ?", (step_id,)
        )
        return step_of(rows[0]) if rows else None

    def actuals(self, step_id: str) -> list[MaterialActual]:
        """What step ``step_id`` consumed, then what it produced (each sorted by id)."""
        rows = self._backend.read(
            "SELECT l.role, n.kind, n.ident, n.lot_id, l.quantity, l.unit FROM gen_links AS l "
            "JOIN gen_steps AS s ON s.step = l.step JOIN gen_nodes AS n ON n.node = l.node "
            "WHERE s.step_id = ? ORDER BY l.role <> 'in', n.kind, n.ident",
            (step_id,),
        )
        out = []
        for role, kind, ident, lot_id, quantity, unit in rows:
            use: Literal["consumed", "produced"] = "consumed" if role == "in" else "produced"
            lot, container = (ident, None) if kind == "lot" else (lot_id, ident)
            out.append(MaterialActual(step_id, use, lot, container, float(quantity), unit))
        return out

    def counts(self) -> dict[str, int]:
        """How many materials, equipment, lots, containers, steps and links (material
        actuals: consumed and produced) are stored."""
        read = self._backend.read
        nodes = {
            str(k): int(n) for k, n in read("SELECT kind, COUNT(*) FROM gen_nodes GROUP BY kind")
        }
        links = read("SELECT COUNT(*) FROM gen_links WHERE role IN ('in', 'out', 'out.end')")
        return {
            "materials": int(read("SELECT COUNT(*) FROM gen_materials")[0][0]),
            "equipment": int(read("SELECT COUNT(*) FROM gen_equipment")[0][0]),
            "lots": int(nodes.get("lot", 0)),
            "containers": int(nodes.get("container", 0)),
            "steps": int(read("SELECT COUNT(*) FROM gen_steps")[0][0]),
            "links": int(links[0][0]),
        }

    # traces -------------------------------------------------------------------------------

    def trace(
        self,
        *,
        lot_id: str | None = None,
        container_id: str | None = None,
        direction: Direction,
    ) -> Trace:
        """Everything downstream (``forward``: where did it go) or upstream (``backward``:
        what went into it) of one lot or container."""
        if direction not in ("forward", "backward"):
            raise GenealogyError(f"direction: {direction!r} is not 'forward' or 'backward'")
        start = self._start(lot_id, container_id)
        if direction == "backward":
            reached = Reached.of(start[0], self._with_details(sql.backward(), start))
        else:
            reached = Reached.of(start[0], self._with_details(sql.forward(), start))
            ends = self._backend.read(sql.forward_ends(self.dialect), start)
            missing = reached.add_ends(ends)
            for chunk in chunks(sorted(missing)):
                where = sql.in_list("node", len(chunk))
                query = f"SELECT node, ident, material_id FROM gen_nodes WHERE {where}"
                reached.end_lots.update(
                    (int(n), (str(i), str(m))) for n, i, m in self._backend.read(query, chunk)
                )
        return build_trace(direction, reached, self._steps(reached.steps), self._kind_of)

    def recall(self, lot_id: str) -> RecallScope:
        """The recall scope of a defective lot: every finished container it reached, with one
        shortest path each, the finished lots (affected / total containers), and every lot and
        step in between."""
        start = self._start(lot_id, None)
        rows = self._with_details(sql.forward(), start)
        rows += self._backend.read(sql.forward_end_rows(), start)
        reached = Reached.of(start[0], rows)
        steps = self._steps(reached.steps)
        inputs: dict[int, list[int]] = {}
        for chunk in chunks(sorted(reached.steps)):
            for step, node in self._backend.read(
                f"SELECT step, node FROM gen_links WHERE role = 'in' AND "
                f"{sql.in_list('step', len(chunk))} ORDER BY step, node",
                chunk,
            ):
                inputs.setdefault(int(step), []).append(int(node))
        finished = {
            r[0] if r[3] == "lot" else r[6]
            for r in reached.rows.values()
            if self._kind_of(r[5]) == "finished"
        }
        totals: dict[str, int] = {}
        for chunk in chunks([-lot for lot in sorted(finished)]):
            for ident, count in self._backend.read(
                "SELECT n.ident, COUNT(*) FROM gen_links AS l JOIN gen_nodes AS n "
                "ON n.node = -l.step WHERE l.role IN ('sub', 'sub.end') AND "
                f"{sql.in_list('l.step', len(chunk))} GROUP BY n.ident",
                chunk,
            ):
                totals[str(ident)] = int(count)
        return build_recall(reached, steps, inputs, totals, self._kind_of)

    def _with_details(self, query: str, start: tuple[int, str]) -> list[Row]:
        """The rows ``node, mode, step`` of a trace query, each followed by the node's
        ``kind, ident, material_id, lot, lot_id`` (rows of node 0 only name a step)."""
        rows = self._backend.read(query, start)
        found: dict[int, Row] = {}
        for chunk in chunks(sorted({int(r[0]) for r in rows if r[0]})):
            found.update(
                (int(d[0]), d[1:]) for d in self._backend.read(sql.details(len(chunk)), chunk)
            )
        return [(*row, *found[row[0]]) if row[0] else row for row in rows]

    def _start(self, lot_id: str | None, container_id: str | None) -> tuple[int, str]:
        """The node and mode (``w`` lot, ``c`` container) a trace starts from."""
        if (lot_id is None) == (container_id is None):
            raise GenealogyError("lot_id, container_id: give exactly one of them")
        kind: NodeKind = "lot" if lot_id is not None else "container"
        ident = check_id(f"{kind}_id", lot_id if lot_id is not None else container_id)
        row = self._find(self._backend.read, kind, ident, f"{kind}_id")
        return int(row[0]), "w" if kind == "lot" else "c"

    def _steps(self, steps: set[int]) -> dict[int, Step]:
        out: dict[int, Step] = {}
        for chunk in chunks(sorted(steps)):
            rows = self._backend.read(
                f"SELECT {STEP_COLUMNS} FROM gen_steps WHERE {sql.in_list('step', len(chunk))}",
                chunk,
            )
            out.update((int(row[0]), step_of(row)) for row in rows)
        return out

    def _kind_of(self, material_id: str) -> MaterialKind:
        kind = self._kinds.get(material_id)
        if kind is None:
            rows = self._backend.read("SELECT material_id, kind FROM gen_materials")
            self._kinds = {str(m): cast(MaterialKind, k) for m, k in rows}
            kind = self._kinds[material_id]
        return kind

    def _get(self, kind: NodeKind, ident: str) -> Row | None:
        return self._lookup(self._backend.read, kind, ident)

    @staticmethod
    def _lookup(run: Run, kind: NodeKind, ident: str) -> Row | None:
        """The ``gen_nodes`` row (``NODE_COLUMNS``) of a lot or container, or ``None``."""
        rows = run(
            f"SELECT {NODE_COLUMNS} FROM gen_nodes WHERE kind = ? AND ident = ?", (kind, ident)
        )
        return rows[0] if rows else None

    @classmethod
    def _find(cls, run: Run, kind: NodeKind, ident: str, field: str) -> Row:
        """The ``gen_nodes`` row of a lot or container; ``GenealogyError`` naming ``field``."""
        row = cls._lookup(run, kind, ident)
        if row is None:
            raise GenealogyError(f"{field}: no {kind} {ident!r}")
        return row
