"""``pharmatwin genealogy`` through typer's CliRunner, on the example plant of
``tests.gmp.test_genealogy`` (SQLite; one run on PostgreSQL)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pharmatwin.cli.genealogy import genealogy_app
from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.genealogy import Genealogy
from tests.gmp.test_genealogy import build_example, fresh_url
from tests.services.postgres import postgres_url

__all__ = ["postgres_url"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(genealogy_app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'historian.db'}"
    with AuditTrail(url) as audit, Genealogy(url) as genealogy:
        build_example(genealogy, audit)
    return url


def test_trace_forward_json(db: str) -> None:
    code, out, err = run("trace", "--lot", "BULK-2", "--forward", "--db", db, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["direction"] == "forward" and data["start"]["id"] == "BULK-2"
    assert [lot["id"] for lot in data["lots"]] == ["DP-1", "DP-2"]
    assert {g["lot_id"]: g["ids"] for g in data["containers"]} == {
        "DP-1": ["V3", "V4"],
        "DP-2": ["V5", "V6"],
    }
    assert [s["step_id"] for s in data["steps"]] == ["FILL-2", "FILL-3"]
    assert data["batches"] == ["B2", "B3"] and data["equipment"] == ["FILLER-1"]
    assert data["steps"][0]["start"] == "2026-01-05T11:00:00Z"


def test_trace_backward_table(db: str) -> None:
    code, out, err = run("trace", "--lot", "BULK-1", "--backward", "--db", db)
    assert (code, err) == (0, "")
    assert out.startswith("backward trace upstream of lot BULK-1: 4 lots, 1 containers, 2 steps")
    for word in ("NACL-1", "SUC-1", "SUC-2", "BUF-1", "PREP-1", "FORM-1", "TANK-1"):
        assert word in out


def test_trace_takes_the_url_from_the_environment(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHARMATWIN_DB", db)
    code, out, _ = run("trace", "--lot", "SUC-2", "--forward", "--json")
    assert code == 0
    assert json.loads(out)["batches"] == ["B1"]


def test_recall_json_and_csv(db: str, tmp_path: Path) -> None:
    path = tmp_path / "recall.csv"
    code, out, err = run("recall", "--lot", "BULK-1", "--db", db, "--json", "--csv", str(path))
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["finished_lots"] == [
        {"lot_id": "DP-1", "material_id": "DP", "affected": 2, "total": 4}
    ]
    assert [c["path"] for c in data["containers"]] == [
        "BULK-1 > [FILL-1] > DP-1/V1",
        "BULK-1 > [FILL-1] > DP-1/V2",
    ]
    assert [h["step_id"] for h in data["containers"][0]["hops"]] == [None, "FILL-1"]
    assert data["batches"] == ["B1"]
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["container_id"], r["lot_id"], r["path"]) for r in rows] == [
        ("V1", "DP-1", "BULK-1 > [FILL-1] > DP-1/V1"),
        ("V2", "DP-1", "BULK-1 > [FILL-1] > DP-1/V2"),
    ]


def test_recall_table(db: str) -> None:
    code, out, _ = run("recall", "--lot", "NACL-1", "--db", db)
    assert code == 0
    assert out.startswith("recall of lot NACL-1: 6 finished containers in 2 lots, 3 batches")
    assert "DP-2" in out and "FILL-3" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("trace", "--lot", "NOPE", "--forward"), "error: --lot: no lot 'NOPE'"),
        (("trace", "--lot", "a b", "--forward"), "error: --lot: 'a b' is not an id"),
        (("trace", "--lot", "SUC-1"), "error: --forward/--backward: give exactly one"),
        (("trace", "--lot", "SUC-1", "--forward", "--backward"), "error: --forward/--backward"),
        (("recall", "--lot", "NOPE"), "error: --lot: no lot 'NOPE'"),
    ],
)
def test_bad_input_exits_2_naming_the_option(db: str, args: tuple[str, ...], message: str) -> None:
    code, out, err = run(*args, "--db", db)
    assert code == 2
    assert err.startswith(message), err
    assert out == ""


def test_a_csv_file_that_cannot_be_written_exits_2(db: str, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "recall.csv"
    code, _, err = run("recall", "--lot", "BULK-1", "--db", db, "--csv", str(target))
    assert code == 2
    assert err.startswith("error: --csv: cannot write")


def test_an_unknown_database_scheme_exits_2() -> None:
    code, _, err = run("trace", "--lot", "X", "--forward", "--db", "mysql://x")
    assert code == 2
    assert "--db: unknown database URL scheme" in err


def test_trace_on_postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    urls = fresh_url(request, tmp_path, "postgresql")
    url = next(urls)
    try:
        with AuditTrail(url) as audit, Genealogy(url) as genealogy:
            build_example(genealogy, audit)
        code, out, _ = run("recall", "--lot", "BULK-2", "--db", url, "--json")
        assert code == 0
        assert [(f["lot_id"], f["affected"]) for f in json.loads(out)["finished_lots"]] == [
            ("DP-1", 2),
            ("DP-2", 2),
        ]
    finally:
        urls.close()
