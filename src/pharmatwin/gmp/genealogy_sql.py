"""The recursive queries of the genealogy (``WITH RECURSIVE``, the same text on SQLite and
PostgreSQL but for one aggregate name) over the links table of
``pharmatwin.gmp.genealogy_schema``.

A trace walks (node, mode) pairs. The mode says which links of a node to follow besides the
material actuals (``in`` -> ``out`` forward, ``out`` -> ``in`` backward):

* ``w``: a whole lot: also its containers (they hold its material);
* ``c``: a container: also its lot's own links (a step that used the lot as a whole may have
  used this container), but not the lot's other containers;
* ``l``, ``m``: a lot reached from one of its containers, a container reached from its lot:
  only their own material actuals.

So a finished lot filled from two bulk lots (a mixed lot) is split correctly: a trace from one
bulk lot reaches the containers that bulk filled, not the others. ``UNION`` (not ``UNION ALL``)
drops rows already met, so a cycle ends the recursion instead of looping. The forward query
recurses only through nodes that lead on; containers that go nowhere further (roles
``out.end``, ``sub.end``) are read in one pass at the end, one text of ids per lot
(``group_concat`` / ``string_agg``), which keeps a trace to tens of thousands of vials fast.
"""

from __future__ import annotations

from typing import Final

_MODE: Final = (
    "CASE WHEN b.role = 'lot' THEN 'l' WHEN a.role = 'lot' THEN 'm' "
    "WHEN b.kind = 'lot' THEN 'w' ELSE 'c' END"
)
# CROSS JOIN fixes SQLite's join order (r, a, b, then n): every hop starts from the few rows of
# the recursion and walks an index; PostgreSQL plans CROSS JOIN ... WHERE as an inner join.
_FORWARD_HOP: Final = """FROM reach AS r CROSS JOIN gen_links AS a CROSS JOIN gen_links AS b
    WHERE a.node = r.node AND a.role IN ('in',
        CASE r.mode WHEN 'w' THEN 'lot' WHEN 'c' THEN 'sub' END,
        CASE r.mode WHEN 'c' THEN 'sub.end' END)
    AND b.step = a.step
    AND b.role = CASE a.role WHEN 'in' THEN 'out' WHEN 'lot' THEN 'sub' ELSE 'lot' END"""
_FORWARD_ENDS: Final = """FROM reach AS r CROSS JOIN gen_links AS a CROSS JOIN gen_links AS b
    WHERE a.node = r.node AND a.role IN ('in', CASE r.mode WHEN 'w' THEN 'lot' END)
    AND b.step = a.step AND b.role = CASE a.role WHEN 'in' THEN 'out.end' ELSE 'sub.end' END"""
_BACKWARD_HOP: Final = """FROM reach AS r CROSS JOIN gen_links AS a CROSS JOIN gen_links AS b
    WHERE a.node = r.node AND a.role IN ('out', 'out.end',
        CASE r.mode WHEN 'w' THEN 'lot' WHEN 'c' THEN 'sub' END,
        CASE r.mode WHEN 'c' THEN 'sub.end' END)
    AND b.step = a.step AND b.role IN (
        CASE a.role WHEN 'lot' THEN 'sub' WHEN 'sub' THEN 'lot' WHEN 'sub.end' THEN 'lot'
            ELSE 'in' END,
        CASE a.role WHEN 'lot' THEN 'sub.end' END)"""

START: Final = "SELECT CAST(? AS BIGINT), CAST(? AS TEXT), CAST(0 AS BIGINT)"
"""The seed of a trace: one node and its mode (``w`` for a lot, ``c`` for a container)."""

STEP_INPUTS: Final = (
    "SELECT node, CASE kind WHEN 'lot' THEN 'w' ELSE 'c' END, CAST(0 AS BIGINT) "
    "FROM gen_links WHERE step = ? AND role = 'in'"
)
"""The seed of a trace from everything a step consumed (parameter: the step)."""

_NODE_COLUMNS: Final = "n.kind, n.ident, n.material_id, n.lot, n.lot_id"


def _reach(seed: str, hop: str) -> str:
    return (
        f"WITH RECURSIVE reach(node, mode, step) AS ({seed}\n"
        f"    UNION SELECT b.node, {_MODE}, a.step {hop})\n"
    )


def forward(seed: str = START) -> str:
    """Rows ``node, mode, step`` of every lot and container downstream of the seed that leads
    on (the seed included, step 0; ``step`` is the step that produced the node, ``-lot`` for a
    hop between a lot and its container), then one row ``0, 's', step`` per step that consumed
    any of them."""
    return (
        _reach(seed, _FORWARD_HOP) + "SELECT node, mode, step FROM reach\n"
        "UNION ALL SELECT DISTINCT 0, 's', a.step FROM reach AS r CROSS JOIN gen_links AS a "
        "WHERE a.node = r.node AND a.role = 'in'"
    )


def forward_ends(dialect: str, seed: str = START) -> str:
    """Rows ``lot, ids`` of the containers downstream of the seed that lead nowhere further
    (filled vials), ``ids`` joined by spaces (ids hold none): one index range per step or lot,
    and one text per lot, keep a result of many thousand containers cheap to read."""
    join = "group_concat(b.ident, ' ')" if dialect == "sqlite" else "string_agg(b.ident, ' ')"
    return _reach(seed, _FORWARD_HOP) + f"SELECT b.lot, {join} {_FORWARD_ENDS} GROUP BY b.lot"


def forward_end_rows(seed: str = START) -> str:
    """The containers of ``forward_ends`` one row each: ``node, 'x', step`` and the columns of
    ``details``."""
    return (
        _reach(seed, _FORWARD_HOP) + f"SELECT b.node, 'x', a.step, {_NODE_COLUMNS} "
        f"{_FORWARD_ENDS.replace('WHERE', 'CROSS JOIN gen_nodes AS n WHERE n.node = b.node AND')}"
    )


def backward(seed: str = START) -> str:
    """Rows ``node, mode, step`` of everything upstream of the seed (the seed included, step
    0); ``step`` is the step that consumed the node."""
    return _reach(seed, _BACKWARD_HOP) + "SELECT node, mode, step FROM reach"


def details(count: int) -> str:
    """Rows ``node, kind, ident, material_id, lot, lot_id`` of ``count`` nodes (parameters);
    a separate query so that both databases look each node up by its key."""
    return f"SELECT n.node, {_NODE_COLUMNS} FROM gen_nodes AS n WHERE {in_list('n.node', count)}"


def backward_reaches(seed: str, targets: int) -> str:
    """One row if anything upstream of the seed (the seed included) is one of ``targets``
    nodes given as parameters after the seed's."""
    marks = ", ".join("?" * targets)
    return _reach(seed, _BACKWARD_HOP) + f"SELECT 1 FROM reach WHERE node IN ({marks}) LIMIT 1"


def in_list(column: str, count: int) -> str:
    """``column IN (?, ?, ...)`` for ``count`` parameters."""
    return f"{column} IN ({', '.join('?' * count)})"
