"""Recording genealogy: every change has its audit record; bad input is refused naming the
field, and leaves neither the record nor an audit record; cycles are refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.genealogy import Genealogy, GenealogyError
from tests.gmp.test_genealogy import RECORDS, T0, Who, build_example, fresh_url, postgres_url

__all__ = ["postgres_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def opened(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Genealogy, AuditTrail]]:
    """The example recorded into an empty database, on each backend."""
    urls = fresh_url(request, tmp_path, request.param)
    url = next(urls)
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        build_example(genealogy, audit)
        yield genealogy, audit
    urls.close()


@pytest.fixture
def sqlite_example(tmp_path: Path) -> Iterator[tuple[Genealogy, AuditTrail]]:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        build_example(genealogy, audit)
        yield genealogy, audit


def by(audit: AuditTrail) -> Who:
    return Who(audit=audit, user="bob", reason="correction")


def test_every_record_has_its_audit_record(opened: tuple[Genealogy, AuditTrail]) -> None:
    genealogy, audit = opened
    records = audit.records()
    assert len(records) == RECORDS
    assert {r.user for r in records} == {"alice"} and {r.reason for r in records} == {
        "example plant"
    }
    assert audit.verify().ok
    lot = audit.records(record_type="lot", record_id="DP-1")
    assert [(r.action, r.old) for r in lot] == [("create", None)]
    assert lot[0].new["material_id"] == "DP" and lot[0].new["status"] == "quarantined"
    actual = audit.records(record_type="material_actual", record_id="FILL-2 produced container V3")
    assert actual[0].new == {
        "step_id": "FILL-2",
        "use": "produced",
        "lot_id": "DP-1",
        "container_id": "V3",
        "quantity": 2.0,
        "unit": "mL",
    }
    step = audit.records(record_type="step", record_id="FILL-1")[0].new
    assert step["start"] == "2026-01-05T10:00:00.000000Z"
    kinds = {r.record_type for r in records}
    assert kinds == {"material", "equipment", "lot", "container", "step", "material_actual"}

    genealogy.set_status("released", lot_id="DP-1", **by(audit))
    genealogy.set_status("rejected", container_id="V2", **by(audit))
    genealogy.end_step("FILL-3", end=T0 + timedelta(hours=9), **by(audit))
    changes = audit.records(user="bob")
    assert [(r.action, r.record_type, r.record_id) for r in changes] == [
        ("change", "lot", "DP-1"),
        ("change", "container", "V2"),
        ("change", "step", "FILL-3"),
    ]
    assert (changes[0].old["status"], changes[0].new["status"]) == ("quarantined", "released")
    assert changes[2].new["end"] == "2026-01-05T15:00:00.000000Z"
    assert changes[0].reason == "correction"
    lot_now = genealogy.lot("DP-1")
    assert lot_now is not None and lot_now.status == "released"
    container = genealogy.container("V2")
    assert container is not None and container.status == "rejected"
    assert audit.verify().ok


BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "add_lot",
        {"lot_id": "X-1", "material_id": "NOPE", "quantity": 1, "unit": "kg"},
        "material_id: no material 'NOPE'",
    ),
    (
        "add_lot",
        {"lot_id": "SUC-1", "material_id": "SUC", "quantity": 1, "unit": "kg"},
        "lot_id: a lot 'SUC-1' already exists",
    ),
    (
        "add_lot",
        {"lot_id": "X-1", "material_id": "SUC", "quantity": -1, "unit": "kg"},
        "quantity: must be a finite number >= 0, got -1",
    ),
    (
        "add_lot",
        {"lot_id": "X 1", "material_id": "SUC", "quantity": 1, "unit": "kg"},
        "lot_id: 'X 1' is not an id",
    ),
    (
        "add_lot",
        {"lot_id": "X-1", "material_id": "SUC", "quantity": 1, "unit": "kg", "status": "lost"},
        "status: 'lost' is not a status",
    ),
    (
        "add_material",
        {"material_id": "M", "name": "m", "kind": "gas", "unit": "kg"},
        "kind: 'gas' is not a material class",
    ),
    (
        "add_container",
        {"container_id": "C-1", "lot_id": "NOPE", "kind": "vial", "quantity": 1, "unit": "mL"},
        "lot_id: no lot 'NOPE'",
    ),
    (
        "add_container",
        {"container_id": "V1", "lot_id": "DP-1", "kind": "vial", "quantity": 1, "unit": "mL"},
        "container_id: a container 'V1' already",
    ),
    (
        "add_container",
        {"container_id": "C-1", "lot_id": "DP-1", "kind": "Vial!", "quantity": 1, "unit": "mL"},
        "kind: 'Vial!' is not a kind",
    ),
    (
        "add_step",
        {
            "step_id": "S-9",
            "segment": "fill",
            "batch_id": "B9",
            "equipment_id": "NOPE",
            "start": T0,
        },
        "equipment_id: no equipment 'NOPE'",
    ),
    (
        "add_step",
        {
            "step_id": "S-9",
            "segment": "fill",
            "batch_id": "B9",
            "equipment_id": "TANK-1",
            "start": datetime(2026, 1, 5),
        },
        "start: a naive time",
    ),
    (
        "add_step",
        {
            "step_id": "S-9",
            "segment": "fill",
            "batch_id": "B9",
            "equipment_id": "TANK-1",
            "start": T0,
            "end": T0 - timedelta(hours=1),
        },
        "end: ",
    ),
    (
        "consume",
        {"step_id": "NOPE", "lot_id": "SUC-1", "quantity": 1, "unit": "kg"},
        "step_id: no step 'NOPE'",
    ),
    (
        "consume",
        {"step_id": "FILL-1", "lot_id": "NOPE", "quantity": 1, "unit": "kg"},
        "lot_id: no lot 'NOPE'",
    ),
    (
        "consume",
        {"step_id": "FILL-1", "lot_id": "SUC-2", "container_id": "V1", "quantity": 1, "unit": "kg"},
        "lot_id, container_id: give exactly one",
    ),
    (
        "consume",
        {"step_id": "FILL-1", "lot_id": "SUC-2", "quantity": -2, "unit": "kg"},
        "quantity: must be a finite number >= 0",
    ),
    (
        "consume",
        {"step_id": "FILL-1", "lot_id": "SUC-2", "quantity": 1, "unit": "g"},
        "unit: 'g' differs from the unit of lot 'SUC-2' ('kg')",
    ),
    (
        "consume",
        {"step_id": "FILL-1", "lot_id": "BULK-1", "quantity": 1, "unit": "L"},
        "lot_id: lot 'BULK-1' is already consumed by step 'FILL-1'",
    ),
    (
        "consume",
        {"step_id": "FILL-1", "container_id": "V1", "quantity": 1, "unit": "mL"},
        "container_id: step 'FILL-1' cannot both consume and produce container 'V1'",
    ),
    (
        "produce",
        {"step_id": "FILL-2", "container_id": "V1", "quantity": 1, "unit": "mL"},
        "container_id: container 'V1' is already produced by step 'FILL-1'",
    ),
    (
        "produce",
        {"step_id": "FORM-1", "lot_id": "BULK-1", "quantity": 1, "unit": "L"},
        "lot_id: lot 'BULK-1' is already produced by step 'FORM-1'",
    ),
    ("end_step", {"step_id": "NOPE", "end": T0}, "step_id: no step 'NOPE'"),
    ("end_step", {"step_id": "FILL-1", "end": T0}, "end: "),
    ("set_status", {"status": "released", "lot_id": "NOPE"}, "lot_id: no lot 'NOPE'"),
]


@pytest.mark.parametrize(("method", "kwargs", "message"), BAD)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    sqlite_example: tuple[Genealogy, AuditTrail], method: str, kwargs: dict[str, Any], message: str
) -> None:
    genealogy, audit = sqlite_example
    before = (genealogy.counts(), audit.count())
    call = dict(kwargs)
    first = next(iter(call))
    positional = call.pop(first) if method not in ("set_status",) else call.pop("status")
    with pytest.raises(GenealogyError) as caught:
        getattr(genealogy, method)(positional, **call, **by(audit))
    assert str(caught.value).startswith(message), str(caught.value)
    assert (genealogy.counts(), audit.count()) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("reason", "  ", "reason: required"), ("user", "", "user: required")],
)
def test_a_user_and_a_reason_are_required(
    sqlite_example: tuple[Genealogy, AuditTrail], field: str, value: str, message: str
) -> None:
    genealogy, audit = sqlite_example
    who = by(audit)
    who[field] = value  # type: ignore[literal-required]
    with pytest.raises(GenealogyError, match=message):
        genealogy.add_lot("X-1", material_id="SUC", quantity=1, unit="kg", **who)
    assert genealogy.lot("X-1") is None


def test_the_audit_trail_must_be_in_the_same_database(
    sqlite_example: tuple[Genealogy, AuditTrail], tmp_path: Path
) -> None:
    genealogy, _ = sqlite_example
    with AuditTrail(f"sqlite:///{tmp_path / 'other.db'}") as other:
        with pytest.raises(GenealogyError, match="audit: the audit trail is in"):
            genealogy.add_lot("X-1", material_id="SUC", quantity=1, unit="kg", **by(other))
        assert other.count() == 0
    assert genealogy.lot("X-1") is None


@pytest.mark.parametrize(
    ("method", "step", "kwargs"),
    [
        ("consume", "PREP-1", {"lot_id": "BULK-1", "quantity": 1.0, "unit": "L"}),
        ("consume", "PREP-2", {"container_id": "V5", "quantity": 1.0, "unit": "mL"}),
        ("produce", "FILL-1", {"lot_id": "SUC-1", "quantity": 1.0, "unit": "kg"}),
        ("produce", "FORM-2", {"lot_id": "NACL-1", "quantity": 1.0, "unit": "kg"}),
    ],
)
def test_a_link_that_closes_a_cycle_is_refused(
    opened: tuple[Genealogy, AuditTrail], method: str, step: str, kwargs: dict[str, Any]
) -> None:
    genealogy, audit = opened
    with pytest.raises(GenealogyError, match="would close a cycle"):
        getattr(genealogy, method)(step, **kwargs, **by(audit))
    assert audit.count() == RECORDS


def test_repacking_a_drum_into_its_own_lot_is_not_a_cycle(
    sqlite_example: tuple[Genealogy, AuditTrail],
) -> None:
    genealogy, audit = sqlite_example
    genealogy.add_container(
        "SUC-1-BAG1", lot_id="SUC-1", kind="bag", quantity=5, unit="kg", **by(audit)
    )
    genealogy.add_step(
        "REPACK-1", segment="repack", batch_id="R1", equipment_id="TANK-1", start=T0, **by(audit)
    )
    genealogy.consume("REPACK-1", container_id="SUC-1-D1", quantity=5, unit="kg", **by(audit))
    genealogy.produce("REPACK-1", container_id="SUC-1-BAG1", quantity=5, unit="kg", **by(audit))
    trace = genealogy.trace(container_id="SUC-1-BAG1", direction="backward")
    assert {c for g in trace.containers for c in g.ids} == {"SUC-1-D1"}


def test_consuming_a_filled_vial_later_extends_forward_traces(
    opened: tuple[Genealogy, AuditTrail],
) -> None:
    # V1 led nowhere (role out.end); consuming it, and DP-1 as a whole, must open the way on
    genealogy, audit = opened
    genealogy.add_material("KIT", name="kit", kind="finished", unit="kit", **by(audit))
    for lot in ("KIT-1", "PACK-1"):
        genealogy.add_lot(lot, material_id="KIT", quantity=1, unit="kit", **by(audit))
    for step in ("KITTING-1", "PACKING-1"):
        genealogy.add_step(
            step,
            segment="kitting",
            batch_id="K1",
            equipment_id="FILLER-1",
            start=T0 + timedelta(hours=9),
            **by(audit),
        )
    before = genealogy.trace(lot_id="BULK-1", direction="forward")
    assert "KIT-1" not in {lot.id for lot in before.lots}
    genealogy.consume("KITTING-1", container_id="V1", quantity=2, unit="mL", **by(audit))
    genealogy.produce("KITTING-1", lot_id="KIT-1", quantity=1, unit="kit", **by(audit))
    after = genealogy.trace(lot_id="BULK-1", direction="forward")
    assert {lot.id for lot in after.lots} == {"DP-1", "KIT-1"}
    assert "PACK-1" not in {
        lot.id for lot in genealogy.trace(lot_id="BULK-2", direction="forward").lots
    }
    genealogy.consume("PACKING-1", lot_id="DP-1", quantity=4, unit="vial", **by(audit))
    genealogy.produce("PACKING-1", lot_id="PACK-1", quantity=1, unit="kit", **by(audit))
    # V3 (from BULK-2) is in DP-1, which PACKING-1 used as a whole
    lots = {lot.id for lot in genealogy.trace(lot_id="BULK-2", direction="forward").lots}
    assert {"DP-1", "DP-2", "PACK-1"} <= lots
    scope = genealogy.recall("BULK-1")
    assert [(f.lot_id, f.affected, f.total) for f in scope.finished_lots] == [
        ("DP-1", 2, 4),
        ("KIT-1", 0, 0),
        ("PACK-1", 0, 0),
    ]


def test_concurrent_writers_get_distinct_keys(url_pair: str) -> None:
    # two connections record lots and containers at once: keys are the largest plus one, so
    # the writes must be serialized (SQLite: the write lock; PostgreSQL: an advisory lock)
    url = url_pair
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        genealogy.add_material("SUC", name="sucrose", kind="raw", unit="kg", **by(audit))

    def record(prefix: str) -> None:
        with AuditTrail(url) as audit, Genealogy(url) as genealogy:
            for k in range(8):
                lot = f"{prefix}-{k}"
                genealogy.add_lot(lot, material_id="SUC", quantity=1, unit="kg", **by(audit))
                genealogy.add_container(
                    f"{lot}-D1", lot_id=lot, kind="drum", quantity=1, unit="kg", **by(audit)
                )

    threads = [threading.Thread(target=record, args=(p,)) for p in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        assert genealogy.counts()["lots"] == 16 and genealogy.counts()["containers"] == 16
        for prefix in ("A", "B"):
            assert [c.container_id for c in genealogy.containers(f"{prefix}-3")] == [
                f"{prefix}-3-D1"
            ]
        assert audit.count() == 33 and audit.verify().ok


@pytest.fixture(params=["sqlite", "postgresql"])
def url_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    urls = fresh_url(request, tmp_path, request.param)
    yield next(urls)
    urls.close()


def test_a_trace_needs_one_start_and_a_direction(
    sqlite_example: tuple[Genealogy, AuditTrail],
) -> None:
    genealogy, _ = sqlite_example
    with pytest.raises(GenealogyError, match="direction: 'up' is not"):
        genealogy.trace(lot_id="SUC-1", direction="up")  # type: ignore[arg-type]
    with pytest.raises(GenealogyError, match="lot_id, container_id: give exactly one"):
        genealogy.trace(lot_id="SUC-1", container_id="V1", direction="forward")
    with pytest.raises(GenealogyError, match="container_id: no container 'V9'"):
        genealogy.trace(container_id="V9", direction="backward")
    with pytest.raises(GenealogyError, match="lot_id: no lot 'NOPE'"):
        genealogy.recall("NOPE")
    with pytest.raises(GenealogyError, match="lot_id: no lot 'NOPE'"):
        genealogy.containers("NOPE")
