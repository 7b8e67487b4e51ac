"""Bulk import: the same genealogy as recording one by one, one audit record per import, errors
naming the row, imports that build on stored records, and a cycle that traces survive."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.genealogy import Genealogy, GenealogyError
from pharmatwin.gmp.genealogy_bulk import BulkData
from pharmatwin.gmp.genealogy_trace import format_path
from tests.gmp.test_genealogy import (
    CONSUMED,
    EQUIPMENT,
    MATERIALS,
    T0,
    Who,
    build_example,
    example_bulk,
    fresh_url,
    postgres_url,
)

__all__ = ["postgres_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    urls = fresh_url(request, tmp_path, request.param)
    yield next(urls)
    urls.close()


def who(audit: AuditTrail) -> Who:
    return Who(audit=audit, user="carol", reason="migration from the old MES")


def test_a_bulk_import_equals_recording_one_by_one(url: str, tmp_path: Path) -> None:
    reference = f"sqlite:///{tmp_path / 'one-by-one.db'}"
    with AuditTrail(reference) as audit, Genealogy(reference) as one_by_one:
        build_example(one_by_one, audit)
        with AuditTrail(url) as trail, Genealogy(url) as bulk:
            data = example_bulk()
            summary = bulk.import_bulk(data, import_id="mes-2026-01", **who(trail))
            assert summary.counts == {
                "materials": 6,
                "equipment": 2,
                "lots": 10,
                "containers": 10,
                "steps": 7,
                "links": 22,
            }
            assert bulk.counts() == one_by_one.counts()
            for lot in ("SUC-1", "NACL-1", "BULK-2", "DP-1"):
                for direction in ("forward", "backward"):
                    assert bulk.trace(lot_id=lot, direction=direction) == one_by_one.trace(
                        lot_id=lot, direction=direction
                    )
            for container in ("V3", "V5", "STOP-1-B1"):
                assert bulk.trace(container_id=container, direction="forward") == (
                    one_by_one.trace(container_id=container, direction="forward")
                )
            ours, theirs = bulk.recall("NACL-1"), one_by_one.recall("NACL-1")
            assert [format_path(c.path) for c in ours.containers] == [
                format_path(c.path) for c in theirs.containers
            ]
            assert ours.finished_lots == theirs.finished_lots
            records = trail.records()
            assert len(records) == 1
            record = records[0]
            assert (record.action, record.record_type, record.record_id) == (
                "import",
                "genealogy_import",
                "mes-2026-01",
            )
            assert record.new == {"counts": summary.counts, "content_hash": data.content_hash()}
            assert (record.user, record.reason) == ("carol", "migration from the old MES")
            assert trail.verify().ok


def test_imports_build_on_stored_records(url: str) -> None:
    full = example_bulk()
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        genealogy.import_bulk(BulkData(materials=MATERIALS, equipment=EQUIPMENT), **who(audit))
        genealogy.import_bulk(
            replace(full, materials=(), equipment=(), consumed=(), produced=()), **who(audit)
        )
        genealogy.import_bulk(
            BulkData(consumed=full.consumed, produced=full.produced), **who(audit)
        )
        assert audit.count() == 3
        scope = genealogy.recall("BULK-2")
        assert [(f.lot_id, f.affected, f.total) for f in scope.finished_lots] == [
            ("DP-1", 2, 4),
            ("DP-2", 2, 2),
        ]
        # a later import consumes vial V1 (it led nowhere): forward traces now go through it
        genealogy.import_bulk(
            BulkData(
                materials=[("KIT", "kit", "finished", "kit")],
                lots=[("KIT-1", "KIT", 1.0, "kit", "released")],
                steps=[("KITTING-1", "kitting", "K1", "FILLER-1", T0, None)],
                consumed=[("KITTING-1", "container", "V1", 2.0, "mL")],
                produced=[("KITTING-1", "lot", "KIT-1", 1.0, "kit")],
            ),
            **who(audit),
        )
        lots = {lot.id for lot in genealogy.trace(lot_id="BULK-1", direction="forward").lots}
        assert lots == {"DP-1", "KIT-1"}
        # and so does a consumption recorded one by one after an import
        genealogy.add_lot("PACK-1", material_id="KIT", quantity=1, unit="kit", **who(audit))
        genealogy.add_step(
            "PACKING-1",
            segment="packing",
            batch_id="K2",
            equipment_id="FILLER-1",
            start=T0,
            **who(audit),
        )
        genealogy.consume("PACKING-1", lot_id="DP-2", quantity=2, unit="vial", **who(audit))
        genealogy.produce("PACKING-1", lot_id="PACK-1", quantity=1, unit="kit", **who(audit))
        trace = genealogy.trace(container_id="V5", direction="forward")
        assert {lot.id for lot in trace.lots} == {"PACK-1"}


BAD = [
    ({"containers": [("C-1", "NOPE", "vial", 1.0, "mL")]}, "containers[0].lot_id: no lot 'NOPE'"),
    ({"lots": [("L-1", "NOPE", 1.0, "kg", "released")]}, "lots[0].material_id: no material"),
    ({"lots": [("L-1", "SUC", -1.0, "kg", "released")]}, "lots[0].quantity: must be a finite"),
    ({"lots": [("L-1", "SUC", 1.0, "kg", "gone")]}, "lots[0].status: 'gone' is not a status"),
    ({"materials": [("M", "m", "gas", "kg")]}, "materials[0].kind: 'gas' is not a material"),
    (
        {"lots": [("L-1", "SUC", 1, "kg", "released"), ("L-1", "SUC", 1, "kg", "released")]},
        "lots[1].lot_id: 'L-1' appears twice in the import",
    ),
    ({"lots": [("SUC-1", "SUC", 1.0, "kg", "released")]}, "lots.lot_id: already stored: SUC-1"),
    ({"steps": [("S-1", "fill", "B", "NOPE", T0, None)]}, "steps[0].equipment_id: no equipment"),
    ({"steps": [("S-1", "fill", "B", "TANK-1", T0, T0 - timedelta(hours=1))]}, "steps[0].end: "),
    ({"consumed": [("NOPE", "lot", "SUC-1", 1.0, "kg")]}, "consumed[0].step_id: no step 'NOPE'"),
    ({"consumed": [("FILL-1", "lot", "SUC-2", 1.0, "g")]}, "consumed[0].unit: 'g' differs"),
    ({"consumed": [("FILL-1", "drum", "SUC-2", 1.0, "kg")]}, "consumed[0].kind: 'drum' is not"),
    (
        {"produced": [("FILL-3", "container", "V1", 2.0, "mL")]},
        "produced.id: container 'V1' is already produced by a stored step",
    ),
    (
        {
            "containers": [("C-9", "DP-2", "vial", 2.0, "mL")],
            "produced": [
                ("FILL-3", "container", "C-9", 2.0, "mL"),
                ("FILL-2", "container", "C-9", 2.0, "mL"),
            ],
        },
        "produced[1].id: container 'C-9' is produced twice ('FILL-3' and 'FILL-2')",
    ),
]


@pytest.mark.parametrize(("rows", "message"), BAD)
def test_bad_rows_are_refused_naming_the_row_and_nothing_is_stored(
    tmp_path: Path, rows: dict[str, object], message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        genealogy.import_bulk(example_bulk(), **who(audit))
        before = (genealogy.counts(), audit.count())
        with pytest.raises(GenealogyError) as caught:
            genealogy.import_bulk(BulkData(**rows), **who(audit))  # type: ignore[arg-type]
        assert str(caught.value).startswith(message), str(caught.value)
        assert (genealogy.counts(), audit.count()) == before


def test_an_import_id_is_used_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        genealogy.import_bulk(BulkData(materials=MATERIALS), import_id="A", **who(audit))
        with pytest.raises(GenealogyError, match="import_id: an import 'A' already exists"):
            genealogy.import_bulk(BulkData(equipment=EQUIPMENT), import_id="A", **who(audit))
        with pytest.raises(GenealogyError, match="reason: required"):
            genealogy.import_bulk(BulkData(equipment=EQUIPMENT), audit=audit, user="c", reason="")
        assert audit.count() == 1


def test_a_cycle_loaded_in_bulk_does_not_trap_the_traces(url: str) -> None:
    # bulk imports are not checked for cycles; the recursive queries must still end
    cyclic = BulkData(
        materials=MATERIALS,
        equipment=EQUIPMENT,
        lots=[
            ("A", "BUF", 1.0, "L", "released"),
            ("B", "BULK", 1.0, "L", "released"),
            ("F", "DP", 2.0, "vial", "released"),
        ],
        containers=[("F-1", "F", "vial", 2.0, "mL")],
        steps=[
            ("S-1", "mix", "X", "TANK-1", T0, None),
            ("S-2", "mix", "X", "TANK-1", T0, None),
            ("S-3", "fill", "X", "FILLER-1", T0, None),
        ],
        consumed=[
            ("S-1", "lot", "A", 1.0, "L"),
            ("S-2", "lot", "B", 1.0, "L"),
            ("S-3", "lot", "B", 1.0, "L"),
        ],
        produced=[
            ("S-1", "lot", "B", 1.0, "L"),
            ("S-2", "lot", "A", 1.0, "L"),
            ("S-3", "container", "F-1", 2.0, "mL"),
        ],
    )
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        genealogy.import_bulk(cyclic, **who(audit))
        forward = genealogy.trace(lot_id="A", direction="forward")
        assert {lot.id for lot in forward.lots} == {"B", "F"}
        assert {s.step_id for s in forward.steps} == {"S-1", "S-2", "S-3"}
        backward = genealogy.trace(lot_id="B", direction="backward")
        assert {lot.id for lot in backward.lots} == {"A"}
        scope = genealogy.recall("A")
        assert [format_path(c.path) for c in scope.containers] == ["A > [S-1] > B > [S-3] > F/F-1"]
        with pytest.raises(GenealogyError, match="would close a cycle"):
            genealogy.consume("S-1", lot_id="F", quantity=1, unit="vial", **who(audit))


def test_the_content_hash_changes_with_any_row() -> None:
    data = example_bulk()
    changed = replace(data, consumed=[*CONSUMED[:-1], ("FILL-3", "lot", "STOP-1", 3.0, "ea")])
    assert data.content_hash() == example_bulk().content_hash()
    assert changed.content_hash() != data.content_hash()
