"""The audit-trail review report: filter, chain check in the header, CSV/JSON/PDF exports."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.audit_report import (
    ReportFilter,
    build_report,
    dumps,
    header_lines,
    write_csv,
    write_pdf,
)
from tests.cli.test_audit import pdf_text
from tests.gmp.conftest import START, Clock
from tests.gmp.test_audit import fill
from tests.gmp.test_audit_tamper import tamper

PRINTED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_the_filter_in_words() -> None:
    assert ReportFilter().describe() == "all records"
    described = ReportFilter("recipe", "r1", "bob", START, START + timedelta(days=1)).describe()
    assert described == (
        "record type = recipe, record id = r1, user = bob, from 2026-01-05T06:00:00.000000Z, "
        "before 2026-01-06T06:00:00.000000Z"
    )


def test_the_header_says_when_the_chain_is_broken(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    tamper(url, "delete a row")
    with AuditTrail(url) as trail:
        report = build_report(trail, ReportFilter(record_id="r1"), clock=lambda: PRINTED)
    lines = list(header_lines(report))
    assert lines[1] == "Filter: record id = r1 (9 records)"
    assert lines[2].startswith("Chain check (whole trail): NOT INTACT - record 17: removed")
    assert lines[3] == "Printed: 2026-02-01T12:00:00.000000Z"
    assert json.loads(dumps(report))["verify"]["first_bad_seq"] == 17


def test_csv_and_json_hold_every_value_whole(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    big = {"trace": list(range(400)), "note": 'a "quoted", multi-line\nnote'}
    with AuditTrail(url, clock=Clock()) as trail:
        trail.append(
            user="alice",
            action="change",
            record_type="twin_config",
            record_id="br-1",
            old=None,
            new=big,
            reason="new estimator, see CC-7",
        )
        report = build_report(trail)
    assert write_csv(report, tmp_path / "r.csv") == 1
    with (tmp_path / "r.csv").open(encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert json.loads(row["new"]) == big
    assert row["old"] == "null"
    assert json.loads(dumps(report))["records"][0]["new"] == big


def test_the_pdf_repeats_titles_on_each_page_and_cuts_long_values(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    with AuditTrail(url, clock=Clock()) as trail:
        fill(trail, 60)
        trail.append(
            user="bob",
            action="change",
            record_type="recipe",
            record_id="r9",
            old=None,
            new={"x": "y" * 2000},
            reason="long",
        )
        report = build_report(trail, clock=lambda: PRINTED)
    path = tmp_path / "r.pdf"
    write_pdf(report, path)
    data = path.read_bytes()
    pages = data.count(b"/Type /Page\n")
    assert pages >= 2
    text = pdf_text(data)
    assert text.count("Old -> new") == pages  # the column titles on every page
    assert "characters; whole in CSV/JSON)" in text
    assert f"page {pages}" in text
    assert "Anchor (keep outside the database): seq 61, hash" in text
