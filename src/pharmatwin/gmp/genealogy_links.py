"""Rules for recording a material actual (a link): what is refused, and the upkeep of the
``out.end`` / ``sub.end`` roles (see ``pharmatwin.gmp.genealogy_schema``).

Refused: the same lot or container consumed (or produced) twice by one step, consumed and
produced by one step, a container produced by a second step (a container is filled once; a lot
may be produced by several steps, e.g. pooled cycles), and a link that would make a lot or
container upstream of itself (a cycle: material cannot flow back in time).
"""

from __future__ import annotations

from collections.abc import Sequence

from pharmatwin.gmp import genealogy_sql as sql
from pharmatwin.gmp.genealogy_records import GenealogyError, Use
from pharmatwin.historian.backend import Tx

__all__ = ["check_link", "lead_on", "onward"]

_CHUNK = 500


def check_link(  # noqa: PLR0917 (one call site, in Genealogy)
    tx: Tx, use: Use, step_id: str, step: int, kind: str, ident: str, node: int
) -> None:
    """Refuse a duplicate, a container produced twice, and a link that closes a cycle
    (``GenealogyError`` naming ``lot_id`` or ``container_id``)."""
    rows = tx.run(
        "SELECT l.role, l.step, s.step_id FROM gen_links AS l JOIN gen_steps AS s "
        "ON s.step = l.step WHERE l.node = ? AND l.role IN ('in', 'out', 'out.end')",
        (node,),
    )
    consumed = {int(r[1]) for r in rows if r[0] == "in"}
    produced = {int(r[1]): str(r[2]) for r in rows if r[0] != "in"}
    field = f"{kind}_id"
    if step in (consumed if use == "consumed" else produced):
        raise GenealogyError(f"{field}: {kind} {ident!r} is already {use} by step {step_id!r}")
    if step in (produced if use == "consumed" else consumed):
        raise GenealogyError(
            f"{field}: step {step_id!r} cannot both consume and produce {kind} {ident!r}"
        )
    if use == "produced" and kind == "container" and produced:
        raise GenealogyError(
            f"{field}: container {ident!r} is already produced by step "
            f"{next(iter(produced.values()))!r}; a container is produced once"
        )
    if use == "consumed":  # would anything the step produced be upstream of this input?
        outputs = tx.run(
            "SELECT node FROM gen_links WHERE step = ? AND role IN ('out', 'out.end')", (step,)
        )
        targets = [int(r[0]) for r in outputs]
        seed, params = sql.START, [node, "w" if kind == "lot" else "c"]
    else:  # would this output be upstream of anything the step consumed?
        targets, seed, params = [node], sql.STEP_INPUTS, [step]
    if targets and tx.run(sql.backward_reaches(seed, len(targets)), (*params, *targets)):
        raise GenealogyError(
            f"{field}: recording {kind} {ident!r} as {use} by step {step_id!r} would close a "
            "cycle (it would be upstream of itself)"
        )


def onward(tx: Tx, kind: str, node: int, lot: int | None) -> bool:
    """Whether a node may lead further downstream: a lot always; a container if it, or its
    lot as a whole, is consumed by some step."""
    if kind == "lot":
        return True
    rows = tx.run(
        "SELECT 1 FROM gen_links WHERE node IN (?, ?) AND role = 'in' LIMIT 1", (node, lot or 0)
    )
    return bool(rows)


def lead_on(tx: Tx, lots: Sequence[int], containers: Sequence[int]) -> None:
    """Consumed containers, and every container of consumed lots, now lead on: their
    ``out.end`` / ``sub.end`` rows become ``out`` / ``sub``."""
    nodes = list(containers)
    for first in range(0, len(lots), _CHUNK):
        chunk = [-lot for lot in lots[first : first + _CHUNK]]
        where = sql.in_list("step", len(chunk))
        members = tx.run(f"SELECT node FROM gen_links WHERE role = 'sub.end' AND {where}", chunk)
        nodes.extend(int(r[0]) for r in members)
    for first in range(0, len(nodes), _CHUNK):
        chunk = nodes[first : first + _CHUNK]
        tx.run(
            "UPDATE gen_links SET role = CASE role WHEN 'out.end' THEN 'out' ELSE 'sub' END "
            f"WHERE role IN ('out.end', 'sub.end') AND {sql.in_list('node', len(chunk))}",
            chunk,
        )
