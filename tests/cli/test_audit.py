"""``pharmatwin audit verify`` and ``audit report`` through typer's CliRunner, on SQLite and
PostgreSQL: tampering done directly in the database exits 1 naming the record."""

from __future__ import annotations

import base64
import csv
import json
import re
import subprocess
import sys
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pharmatwin.cli.audit import audit_app
from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.signatures import Signatures
from pharmatwin.gmp.users import UserStore
from tests.gmp.conftest import PASSWORD, START, Clock
from tests.gmp.test_audit import audit_url, fill, postgres_url
from tests.gmp.test_audit_tamper import tamper

__all__ = ["audit_url", "postgres_url"]

KINDS = {
    "change a value": "content altered",
    "delete a row": "removed",
    "insert a row": "inserted",
    "reorder two rows": "reordered",
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(audit_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_an_intact_trail_exits_0(audit_url: str) -> None:
    with AuditTrail(audit_url) as trail:
        fill(trail, 12)
        head = trail.head()
    code, out, err = run("verify", "--db", audit_url)
    assert (code, err) == (0, "")
    assert out == f"12 records, chain intact\nanchor: {head[0]}:{head[1]}\n"
    assert run("verify", "--db", audit_url, "--anchor", f"{head[0]}:{head[1]}")[0] == 0


@pytest.mark.parametrize("name", sorted(KINDS))
def test_tampering_exits_1_naming_the_record(audit_url: str, name: str) -> None:
    expected = tamper(audit_url, name)
    code, out, _ = run("verify", "--db", audit_url)
    assert code == 1
    assert out.startswith(f"audit trail NOT intact: record 17: {KINDS[name]}"), out
    assert expected in out
    code, out, _ = run("verify", "--db", audit_url, "--json")
    assert code == 1
    assert json.loads(out)["first_bad_seq"] == 17


def test_the_command_line_program_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    tamper(url, "change a value")
    code = "from pharmatwin.cli.audit import audit_app; audit_app()"
    done = subprocess.run(
        [sys.executable, "-c", code, "verify", "--db", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "record 17: content altered (hash mismatch)" in done.stdout


def test_a_removed_tail_exits_1_with_the_anchor(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    with AuditTrail(url) as trail:
        fill(trail, 5)
        seq, digest = trail.head()
    import sqlite3

    connection = sqlite3.connect(tmp_path / "historian.db")
    connection.execute("DROP TRIGGER audit_trail_no_delete")
    connection.execute("DELETE FROM audit_trail WHERE seq = 5")
    connection.commit()
    connection.close()
    assert run("verify", "--db", url)[0] == 0
    code, out, _ = run("verify", "--db", url, "--anchor", f"{seq}:{digest}")
    assert code == 1
    assert "record 5: removed" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("verify", "--anchor", "x"), "error: --anchor: 'x' is not SEQ:HASH"),
        (("report", "--since", "yesterday"), "error: --since: 'yesterday' is not an ISO 8601"),
        (("report", "--until", "2026-01-05T06:00"), "error: --until: '2026-01-05T06:00' has no"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    AuditTrail(url).close()
    code, out, err = run(*args, "--db", url)
    assert code == 2
    assert err.startswith(message), err
    assert out == ""


def test_a_missing_database_file_is_not_an_empty_trail(tmp_path: Path) -> None:
    code, _, err = run("verify", "--db", f"sqlite:///{tmp_path / 'typo.db'}")
    assert code == 2
    assert err.startswith("error: --db: there is no database file")
    assert not (tmp_path / "typo.db").exists()


@pytest.fixture
def signed_db(tmp_path: Path) -> str:
    """Changes to two recipes by alice and bob, one of them signed by both."""
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    clock = Clock()
    with UserStore(url, clock=clock) as users, AuditTrail(url, clock=clock) as trail:
        users.add("alice", "engineer", PASSWORD)
        users.add("bob", "qa", PASSWORD)
        for k, (user, recipe) in enumerate((("alice", "r1"), ("bob", "r2"), ("alice", "r1"))):
            trail.append(
                user=user,
                action="create" if k < 2 else "change",
                record_type="recipe",
                record_id=recipe,
                old=None if k < 2 else {"T": 36.5},
                new={"T": 36.5 + k},
                reason=f"change {k + 1}",
            )
            clock.advance(timedelta(hours=1))
        signatures = Signatures(url, users=users, audit=trail, clock=clock)
        for user, meaning in (("alice", "authored"), ("bob", "approved")):
            signatures.sign(
                user=user,
                password=PASSWORD,
                record_type="recipe",
                record_id="r1",
                content={"T": 38.5},
                meaning=meaning,  # type: ignore[arg-type]
                reason=f"{meaning} v2",
            )
    return url


def test_report_filters_and_exports_csv(signed_db: str, tmp_path: Path) -> None:
    out_csv = tmp_path / "review.csv"
    code, _, err = run("report", "--db", signed_db, "--record-id", "r1", "--csv", str(out_csv))
    assert code == 0
    assert err == f"4 records written to {out_csv}\n"
    with out_csv.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["seq"], r["user"], r["action"]) for r in rows] == [
        ("1", "alice", "create"),
        ("3", "alice", "change"),
        ("4", "alice", "sign"),
        ("5", "bob", "sign"),
    ]
    assert rows[0]["time_utc"] == "2026-01-05T06:00:00.000000Z"
    assert (rows[1]["old"], rows[1]["new"], rows[1]["reason"]) == (
        '{"T":36.5}',
        '{"T":38.5}',
        "change 3",
    )
    assert rows[0]["signatures"] == (
        "alice (alice), 2026-01-05 09:00:00 UTC, authored; "
        "bob (bob), 2026-01-05 09:00:00 UTC, approved"
    )


def test_report_json_filters_by_user_and_time(signed_db: str) -> None:
    since = (START + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, _ = run("report", "--db", signed_db, "--user", "alice", "--since", since, "--json")
    assert code == 0
    report = json.loads(out)
    assert [r["seq"] for r in report["records"]] == [3, 4]
    assert report["verify"]["message"] == "5 records, chain intact"
    assert report["filter"] == "user = alice, from 2026-01-05T06:30:00.000000Z"
    assert [s["meaning"] for s in report["records"][0]["signatures"]] == ["authored", "approved"]


def pdf_text(data: bytes) -> str:
    """The text shown by the PDF's pages, a line per line of text (reportlab keeps ASCII
    readable in its page streams, which are ASCII85- and Flate-encoded)."""
    lines = []
    for match in re.finditer(
        rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream",
        data,
        re.S,
    ):
        encoded = match.group(1).strip()
        content = zlib.decompress(base64.a85decode(b"<~" + encoded.removeprefix(b"<~"), adobe=True))
        for block in re.findall(rb"BT (.*?) ET", content, re.S):
            for line in block.split(b"T*"):
                shown = re.findall(rb"\((.*?)(?<!\\)\) Tj", line)
                if shown:
                    text = b"".join(re.sub(rb"\\([()\\])", rb"\1", s) for s in shown)
                    lines.append(text.decode("latin-1"))
    return "\n".join(lines)


def test_report_pdf_has_the_header_rows_and_signatures(signed_db: str, tmp_path: Path) -> None:
    out_pdf = tmp_path / "review.pdf"
    code, _, _ = run("report", "--db", signed_db, "--pdf", str(out_pdf))
    assert code == 0
    data = out_pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in (
        "Audit trail review report",
        "Filter: all records (5 records)",
        "5 records, chain intact",
        "change 3",
        "bob (bob), 2026-01-05 09:00:00 UTC, approved",
    ):
        assert expected in text


def test_report_table_on_stdout(signed_db: str) -> None:
    code, out, _ = run("report", "--db", signed_db, "--record-type", "recipe")
    assert code == 0
    assert "5 records, chain intact" in out
    assert "alice (alice), 2026-01-05 09:00:00 UTC, authored" in out
