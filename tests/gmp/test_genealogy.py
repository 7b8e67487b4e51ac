"""Genealogy traces and recall scoping on a small hand-built plant with known answers, on
SQLite and PostgreSQL.

The example (``build_example``): sucrose lot SUC-1 (drums D1, D2), SUC-2, salt NACL-1, stopper
lot STOP-1 (boxes B1, B2). Buffer BUF-1 = PREP-1(NACL-1, SUC-1-D1), BUF-2 = PREP-2(NACL-1,
SUC-1-D2): NACL-1 is consumed by two batches. BULK-1 = FORM-1(BUF-1, SUC-2), BULK-2 =
FORM-2(BUF-2). Finished lot DP-1 is mixed: FILL-1(BULK-1, STOP-1-B1) filled V1, V2 and
FILL-2(BULK-2, STOP-1-B2) filled V3, V4. Finished lot DP-2 = FILL-3(BULK-2, STOP-1) as a
whole, with containers V5, V6.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict

import pytest

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.genealogy import Genealogy
from pharmatwin.gmp.genealogy_bulk import BulkData
from pharmatwin.gmp.genealogy_trace import Trace, format_path
from tests.services.postgres import postgres_url

__all__ = ["T0", "Who", "build_example", "example_bulk", "fresh_url", "postgres_url"]

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
MATERIALS = [
    ("SUC", "sucrose", "raw", "kg"),
    ("NACL", "sodium chloride", "raw", "kg"),
    ("STOP", "stopper", "packaging", "ea"),
    ("BUF", "buffer", "intermediate", "L"),
    ("BULK", "formulated bulk", "intermediate", "L"),
    ("DP", "drug product", "finished", "vial"),
]
EQUIPMENT = [("TANK-1", "buffer tank", "vessel"), ("FILLER-1", "filler", "filling line")]
LOTS = [
    ("SUC-1", "SUC", 50.0, "kg", "released"),
    ("SUC-2", "SUC", 25.0, "kg", "released"),
    ("NACL-1", "NACL", 10.0, "kg", "released"),
    ("STOP-1", "STOP", 1000.0, "ea", "released"),
    ("BUF-1", "BUF", 100.0, "L", "released"),
    ("BUF-2", "BUF", 100.0, "L", "released"),
    ("BULK-1", "BULK", 20.0, "L", "released"),
    ("BULK-2", "BULK", 20.0, "L", "released"),
    ("DP-1", "DP", 4.0, "vial", "quarantined"),
    ("DP-2", "DP", 2.0, "vial", "quarantined"),
]
CONTAINERS = [
    ("SUC-1-D1", "SUC-1", "drum", 25.0, "kg"),
    ("SUC-1-D2", "SUC-1", "drum", 25.0, "kg"),
    ("STOP-1-B1", "STOP-1", "box", 500.0, "ea"),
    ("STOP-1-B2", "STOP-1", "box", 500.0, "ea"),
    *[(f"V{k}", "DP-1", "vial", 2.0, "mL") for k in range(1, 5)],
    *[(f"V{k}", "DP-2", "vial", 2.0, "mL") for k in (5, 6)],
]
STEPS = [  # step, segment, batch, equipment, hours after T0
    ("PREP-1", "buffer prep", "B1", "TANK-1", 0),
    ("PREP-2", "buffer prep", "B2", "TANK-1", 1),
    ("FORM-1", "formulation", "B1", "TANK-1", 2),
    ("FORM-2", "formulation", "B2", "TANK-1", 3),
    ("FILL-1", "fill", "B1", "FILLER-1", 4),
    ("FILL-2", "fill", "B2", "FILLER-1", 5),
    ("FILL-3", "fill", "B3", "FILLER-1", 6),
]
CONSUMED = [
    ("PREP-1", "lot", "NACL-1", 1.0, "kg"),
    ("PREP-1", "container", "SUC-1-D1", 5.0, "kg"),
    ("PREP-2", "lot", "NACL-1", 1.0, "kg"),
    ("PREP-2", "container", "SUC-1-D2", 5.0, "kg"),
    ("FORM-1", "lot", "BUF-1", 10.0, "L"),
    ("FORM-1", "lot", "SUC-2", 1.0, "kg"),
    ("FORM-2", "lot", "BUF-2", 10.0, "L"),
    ("FILL-1", "lot", "BULK-1", 4.0, "L"),
    ("FILL-1", "container", "STOP-1-B1", 2.0, "ea"),
    ("FILL-2", "lot", "BULK-2", 4.0, "L"),
    ("FILL-2", "container", "STOP-1-B2", 2.0, "ea"),
    ("FILL-3", "lot", "BULK-2", 4.0, "L"),
    ("FILL-3", "lot", "STOP-1", 2.0, "ea"),
]
PRODUCED = [
    ("PREP-1", "lot", "BUF-1", 100.0, "L"),
    ("PREP-2", "lot", "BUF-2", 100.0, "L"),
    ("FORM-1", "lot", "BULK-1", 20.0, "L"),
    ("FORM-2", "lot", "BULK-2", 20.0, "L"),
    ("FILL-1", "container", "V1", 2.0, "mL"),
    ("FILL-1", "container", "V2", 2.0, "mL"),
    ("FILL-2", "container", "V3", 2.0, "mL"),
    ("FILL-2", "container", "V4", 2.0, "mL"),
    ("FILL-3", "lot", "DP-2", 2.0, "vial"),
]
RECORDS = len(MATERIALS) + len(EQUIPMENT) + len(LOTS) + len(CONTAINERS) + len(STEPS)
RECORDS += len(CONSUMED) + len(PRODUCED)


class Who(TypedDict):
    """Who records, why, and where the audit records go."""

    audit: AuditTrail
    user: str
    reason: str


def build_example(genealogy: Genealogy, audit: AuditTrail, user: str = "alice") -> None:
    """Record the example one record at a time (each with its audit record)."""
    by = Who(audit=audit, user=user, reason="example plant")
    for mid, name, kind, unit in MATERIALS:
        genealogy.add_material(mid, name=name, kind=kind, unit=unit, **by)
    for eid, name, kind in EQUIPMENT:
        genealogy.add_equipment(eid, name=name, kind=kind, **by)
    for lot, material, quantity, unit, status in LOTS:
        genealogy.add_lot(
            lot, material_id=material, quantity=quantity, unit=unit, status=status, **by
        )
    for container, lot, kind, quantity, unit in CONTAINERS:
        genealogy.add_container(
            container, lot_id=lot, kind=kind, quantity=quantity, unit=unit, **by
        )
    for step, segment, batch, equipment, hours in STEPS:
        start = T0 + timedelta(hours=hours)
        genealogy.add_step(
            step,
            segment=segment,
            batch_id=batch,
            equipment_id=equipment,
            start=start,
            end=start + timedelta(minutes=50),
            **by,
        )
    for rows, record in ((CONSUMED, genealogy.consume), (PRODUCED, genealogy.produce)):
        for step, kind, ident, quantity, unit in rows:
            if kind == "lot":
                record(step, lot_id=ident, quantity=quantity, unit=unit, **by)
            else:
                record(step, container_id=ident, quantity=quantity, unit=unit, **by)


def example_bulk() -> BulkData:
    """The example as one bulk import."""
    steps = [
        (s, seg, b, e, T0 + timedelta(hours=h), T0 + timedelta(hours=h, minutes=50))
        for s, seg, b, e, h in STEPS
    ]
    return BulkData(MATERIALS, EQUIPMENT, LOTS, CONTAINERS, steps, CONSUMED, PRODUCED)


def fresh_url(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> Generator[str, None, None]:
    """An empty database: a SQLite file, or a new database on the test PostgreSQL server
    (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'historian.db'}"
        return
    import psycopg

    server: str = request.getfixturevalue("postgres_url")
    name = f"gen_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Genealogy]:
    """The example recorded one by one, on each backend (read-only in the tests)."""
    urls = fresh_url(request, tmp_path_factory.mktemp("genealogy"), request.param)
    url = next(urls)
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        build_example(genealogy, audit)
        yield genealogy
    urls.close()


def ids(trace: Trace) -> tuple[set[str], set[str], set[str]]:
    """Lots, containers and steps of a trace, as sets of ids."""
    lots = {lot.id for lot in trace.lots}
    containers = {c for group in trace.containers for c in group.ids}
    return lots, containers, {s.step_id for s in trace.steps}


def test_forward_from_a_raw_lot_reaches_every_finished_container(example: Genealogy) -> None:
    trace = example.trace(lot_id="SUC-1", direction="forward")
    lots, containers, steps = ids(trace)
    assert lots == {"BUF-1", "BUF-2", "BULK-1", "BULK-2", "DP-1", "DP-2"}
    assert containers == {"SUC-1-D1", "SUC-1-D2", "V1", "V2", "V3", "V4", "V5", "V6"}
    assert steps == {"PREP-1", "PREP-2", "FORM-1", "FORM-2", "FILL-1", "FILL-2", "FILL-3"}
    finished = trace.containers_of("finished")
    assert [(g.lot_id, g.ids) for g in finished] == [
        ("DP-1", ("V1", "V2", "V3", "V4")),
        ("DP-2", ("V5", "V6")),
    ]
    assert trace.batches == ("B1", "B2", "B3")
    assert trace.equipment == ("FILLER-1", "TANK-1")
    assert [s.step_id for s in trace.steps][:2] == ["PREP-1", "PREP-2"]  # by start time


def test_forward_from_one_drum_follows_only_that_drum(example: Genealogy) -> None:
    lots, containers, steps = ids(example.trace(container_id="SUC-1-D1", direction="forward"))
    assert lots == {"BUF-1", "BULK-1", "DP-1"}
    assert containers == {"V1", "V2"}
    assert steps == {"PREP-1", "FORM-1", "FILL-1"}


def test_a_box_reaches_what_its_lot_as_a_whole_went_into(example: Genealogy) -> None:
    # FILL-3 used STOP-1 as a whole: it may have used box B1, so B1 reaches DP-2 as well
    lots, containers, _ = ids(example.trace(container_id="STOP-1-B1", direction="forward"))
    assert containers == {"V1", "V2", "V5", "V6"}
    assert lots == {"DP-1", "DP-2"}


def test_a_lot_consumed_by_two_batches_reaches_both(example: Genealogy) -> None:
    trace = example.trace(lot_id="NACL-1", direction="forward")
    assert {s.step_id for s in trace.steps if s.segment == "buffer prep"} == {"PREP-1", "PREP-2"}
    assert trace.container_count == 6
    assert trace.batches == ("B1", "B2", "B3")


def test_backward_from_a_vial_of_a_mixed_lot_sees_only_its_own_inputs(example: Genealogy) -> None:
    trace = example.trace(container_id="V3", direction="backward")
    lots, containers, steps = ids(trace)
    assert lots == {"BULK-2", "BUF-2", "NACL-1", "SUC-1", "STOP-1"}
    assert containers == {"SUC-1-D2", "STOP-1-B2"}
    assert steps == {"PREP-2", "FORM-2", "FILL-2"}
    assert {u.id for u in trace.lots_of("raw", "packaging")} == {"NACL-1", "SUC-1", "STOP-1"}
    assert trace.equipment == ("FILLER-1", "TANK-1")


def test_backward_from_a_container_of_a_lot_made_as_a_whole(example: Genealogy) -> None:
    lots, containers, steps = ids(example.trace(container_id="V5", direction="backward"))
    assert steps == {"FILL-3", "FORM-2", "PREP-2"}
    assert containers == {"STOP-1-B1", "STOP-1-B2", "SUC-1-D2"}
    assert lots == {"BULK-2", "BUF-2", "NACL-1", "SUC-1", "STOP-1"}


def test_backward_from_a_whole_lot_covers_all_its_containers(example: Genealogy) -> None:
    trace = example.trace(lot_id="DP-1", direction="backward")
    lots, containers, steps = ids(trace)
    assert lots == {"BULK-1", "BULK-2", "BUF-1", "BUF-2", "SUC-1", "SUC-2", "NACL-1", "STOP-1"}
    assert containers == {"V1", "V2", "V3", "V4", "SUC-1-D1", "SUC-1-D2", "STOP-1-B1", "STOP-1-B2"}
    assert "FILL-3" not in steps


def test_recall_of_one_bulk_lot_scopes_part_of_a_mixed_lot(example: Genealogy) -> None:
    scope = example.recall("BULK-1")
    assert [(f.lot_id, f.affected, f.total) for f in scope.finished_lots] == [("DP-1", 2, 4)]
    assert [c.container_id for c in scope.containers] == ["V1", "V2"]
    assert format_path(scope.containers[0].path) == "BULK-1 > [FILL-1] > DP-1/V1"
    assert scope.batches == ("B1",)


def test_recall_with_paths_through_every_batch_in_between(example: Genealogy) -> None:
    scope = example.recall("NACL-1")
    assert [(f.lot_id, f.affected, f.total) for f in scope.finished_lots] == [
        ("DP-1", 4, 4),
        ("DP-2", 2, 2),
    ]
    paths = {c.container_id: format_path(c.path) for c in scope.containers}
    assert paths["V1"] == "NACL-1 > [PREP-1] > BUF-1 > [FORM-1] > BULK-1 > [FILL-1] > DP-1/V1"
    assert paths["V3"] == "NACL-1 > [PREP-2] > BUF-2 > [FORM-2] > BULK-2 > [FILL-2] > DP-1/V3"
    assert (
        paths["V6"] == "NACL-1 > [PREP-2] > BUF-2 > [FORM-2] > BULK-2 > [FILL-3] > DP-2 > DP-2/V6"
    )
    hops = scope.containers[0].path
    assert (hops[0].step_id, hops[0].unit.id) == (None, "NACL-1")
    assert hops[-1].unit.kind == "container"
    assert {s.step_id for s in scope.steps} == {
        "PREP-1",
        "PREP-2",
        "FORM-1",
        "FORM-2",
        "FILL-1",
        "FILL-2",
        "FILL-3",
    }
    assert scope.batches == ("B1", "B2", "B3")
    assert {lot.id for lot in scope.lots} >= {"BUF-1", "BUF-2", "BULK-1", "BULK-2"}


def test_recall_of_a_drum_walks_through_it(example: Genealogy) -> None:
    scope = example.recall("SUC-1")
    paths = {c.container_id: format_path(c.path) for c in scope.containers}
    assert paths["V2"] == (
        "SUC-1 > SUC-1/SUC-1-D1 > [PREP-1] > BUF-1 > [FORM-1] > BULK-1 > [FILL-1] > DP-1/V2"
    )
    assert len(paths) == 6


def test_recall_of_a_finished_lot_is_all_its_containers(example: Genealogy) -> None:
    scope = example.recall("DP-2")
    assert [(f.lot_id, f.affected, f.total) for f in scope.finished_lots] == [("DP-2", 2, 2)]
    assert [format_path(c.path) for c in scope.containers] == ["DP-2 > DP-2/V5", "DP-2 > DP-2/V6"]
    assert scope.steps == ()


def test_a_lot_that_went_nowhere_has_an_empty_forward_trace(example: Genealogy) -> None:
    trace = example.trace(lot_id="DP-1", direction="forward")
    assert ids(trace) == (set(), {"V1", "V2", "V3", "V4"}, set())
    assert example.recall("SUC-2").finished_lots[0].affected == 2


def test_records_read_back(example: Genealogy) -> None:
    assert example.counts() == {
        "materials": 6,
        "equipment": 2,
        "lots": 10,
        "containers": 10,
        "steps": 7,
        "links": 22,
    }
    lot = example.lot("DP-1")
    assert lot is not None
    assert (lot.material_id, lot.quantity, lot.unit, lot.status) == (
        "DP",
        4.0,
        "vial",
        "quarantined",
    )
    assert [c.container_id for c in example.containers("DP-1")] == ["V1", "V2", "V3", "V4"]
    drum = example.container("SUC-1-D1")
    assert drum is not None
    assert (drum.lot_id, drum.material_id, drum.kind) == ("SUC-1", "SUC", "drum")
    step = example.step("FILL-2")
    assert step is not None
    assert (step.batch_id, step.equipment_id, step.start) == (
        "B2",
        "FILLER-1",
        T0 + timedelta(hours=5),
    )
    actuals = example.actuals("FILL-2")
    assert [(a.use, a.lot_id, a.container_id) for a in actuals] == [
        ("consumed", "STOP-1", "STOP-1-B2"),
        ("consumed", "BULK-2", None),
        ("produced", "DP-1", "V3"),
        ("produced", "DP-1", "V4"),
    ]
    assert example.lot("NOPE") is None and example.step("NOPE") is None
    material = example.material("DP")
    assert material is not None and material.kind == "finished"
