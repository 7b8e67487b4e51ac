"""Every mutating endpoint leaves its audit record (who, when, what, old, new, reason); the
audit trail is read, filtered, verified and exported through the API; tampering shows."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from pharmatwin.gmp.audit import AuditRecord, AuditTrail
from pharmatwin.gmp.audit_schema import AUDIT_TABLE
from pharmatwin.gmp.users import UserStore
from pharmatwin.service.app import create_app
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.settings import ServiceSettings
from tests.service.conftest import BATCH, PASSWORD, World, auth, login

RESTORE_DO = {"name": "restore aeration", "kind": "restore", "input": "DO"}


def _records(world: World, **filters: str) -> list[AuditRecord]:
    with AuditTrail(world.url) as trail:
        return trail.records(**filters)  # type: ignore[arg-type]


def _one(world: World, seq: int) -> AuditRecord:
    with AuditTrail(world.url) as trail:
        found = [r for r in trail.iter_records() if r.seq == seq]
    assert len(found) == 1
    return found[0]


def _between(record: AuditRecord, before: datetime) -> None:
    assert before <= record.at <= datetime.now(UTC)


def test_an_acknowledgement_is_audited_with_its_comment_as_reason(world: World) -> None:
    alarm = world.client.get("/api/alarms", headers=auth(world, "viewer")).json()[-1]
    before = datetime.now(UTC)
    response = world.client.post(
        f"/api/alarms/{alarm['id']}/acknowledge",
        json={"comment": "DO probe checked, sparger fouling confirmed"},
        headers=auth(world, "operator"),
    )
    assert response.status_code == 200, response.text
    record = _one(world, response.json()["audit_seq"])
    _between(record, before)
    assert (record.user, record.action, record.record_type, record.record_id) == (
        "operator",
        "acknowledge",
        "alarm",
        alarm["id"],
    )
    assert record.old is None and record.reason == "DO probe checked, sparger fouling confirmed"
    assert record.new["acknowledged"] is True and record.new["by"] == "operator"
    assert record.new["alarm"]["subject"] == alarm["subject"]
    assert record.new["alarm"]["batch_id"] == BATCH
    blank = world.client.post(
        f"/api/alarms/{alarm['id']}/acknowledge",
        json={"comment": "   "},
        headers=auth(world, "operator"),
    )
    assert blank.status_code == 422 and blank.json()["message"] == "comment: must not be blank"


def test_setpoint_changes_are_audited_with_old_and_new_value(world: World) -> None:
    headers = auth(world, "operator")
    before = datetime.now(UTC)
    first = world.client.put(
        "/api/assets/BR01/setpoints/pH",
        json={"value": 7.05, "reason": "pH drifting low"},
        headers=headers,
    )
    assert first.status_code == 200, first.text
    second = world.client.put(
        "/api/assets/BR01/setpoints/pH",
        json={"value": 7.1, "reason": "back to the recipe"},
        headers=headers,
    )
    # the first pH change of this session: before it, the recipe's phase at 110 h said 7.0
    assert first.json()["previous"] == 7.0
    assert second.json()["previous"] == 7.05
    records = _records(world, record_type="setpoint", record_id="BR01.pH")
    assert [r.seq for r in records[-2:]] == [first.json()["audit_seq"], second.json()["audit_seq"]]
    one, two = records[-2:]
    for r in (one, two):
        _between(r, before)
        assert (r.user, r.action) == ("operator", "change")
    assert one.reason == "pH drifting low" and two.reason == "back to the recipe"
    assert one.old == {"value": 7.0, "source": "recipe 'cho-mab-fedbatch-14d' phase 'growth'"}
    assert one.new == {"value": 7.05, "effective_h": 110.0, "batch_id": BATCH}
    assert two.old is not None and two.old["value"] == 7.05
    assert two.new["value"] == 7.1


def test_an_applied_action_is_audited(world: World) -> None:
    before = datetime.now(UTC)
    response = world.client.post(
        "/api/assets/BR01/actions/apply",
        json={"action": RESTORE_DO, "reason": "lactate alarm: restore aeration"},
        headers=auth(world, "engineer"),
    )
    assert response.status_code == 200, response.text
    record = _one(world, response.json()["audit_seq"])
    _between(record, before)
    assert (record.user, record.action, record.record_type, record.record_id) == (
        "engineer",
        "apply",
        "action",
        "BR01:restore aeration",
    )
    assert record.old is None and record.reason == "lactate alarm: restore aeration"
    assert record.new["action"]["input"] == "DO" and record.new["effective_h"] == 110.0


def test_a_twin_configuration_change_is_audited_old_to_new(world: World) -> None:
    headers = auth(world, "engineer")
    first = world.client.put(
        "/api/assets/BR01/twin-config",
        json={"members": 60, "reason": "more members for the pH study"},
        headers=headers,
    )
    second = world.client.put(
        "/api/assets/BR01/twin-config",
        json={"alarms": {"threshold": 0.4}, "reason": "earlier warnings"},
        headers=headers,
    )
    assert second.status_code == 200, second.text
    record = _one(world, second.json()["audit_seq"])
    assert (record.user, record.action, record.record_type, record.record_id) == (
        "engineer",
        "change",
        "twin_config",
        "BR01",
    )
    assert record.old["twin"] == first.json()["twin"]
    assert record.old["alarms"] == first.json()["alarms"]
    assert record.new["alarms"]["threshold"] == 0.4 and record.new["twin"]["members"] == 60
    assert record.new["changed"] == {"alarms": {"threshold": 0.4}}
    assert record.reason == "earlier warnings"


def test_refused_and_invalid_requests_leave_no_record(world: World) -> None:
    with AuditTrail(world.url) as trail:
        head = trail.head()
    world.client.put(
        "/api/assets/BR01/setpoints/T",
        json={"value": 36.0, "reason": "x"},
        headers=auth(world, "viewer"),
    )
    world.client.put(
        "/api/assets/BR01/setpoints/T", json={"value": 36.0}, headers=auth(world, "operator")
    )
    world.client.put(
        "/api/assets/BR01/twin-config",
        json={"members": 5, "reason": "too few"},
        headers=auth(world, "engineer"),
    )
    refused = world.client.put(
        "/api/assets/BR01/setpoints/DO",
        json={"value": 150.0, "reason": "more oxygen"},
        headers=auth(world, "operator"),
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {"field": "value", "message": "the plant refused it: DO: 150 % is outside [10, 100]"}
    ]
    with AuditTrail(world.url) as trail:
        assert trail.head() == head


def test_the_trail_is_read_filtered_and_verified(world: World) -> None:
    headers = auth(world, "qa")
    world.client.put(
        "/api/assets/BR01/setpoints/DO",
        json={"value": 42.0, "reason": "filter test"},
        headers=auth(world, "operator"),
    )
    every = world.client.get("/api/audit", headers=headers).json()
    assert every["total"] == len(every["records"]) >= 1
    seqs = [r["seq"] for r in every["records"]]
    assert seqs == sorted(seqs)
    mine = world.client.get(
        "/api/audit",
        params={"record_type": "setpoint", "user": "operator", "record_id": "BR01.DO"},
        headers=headers,
    ).json()["records"]
    assert mine and all(r["user"] == "operator" for r in mine)
    assert mine[-1]["reason"] == "filter test" and mine[-1]["at"].endswith("Z")
    assert mine[-1]["new"]["value"] == 42.0
    last = world.client.get("/api/audit", params={"limit": 1}, headers=headers).json()
    assert last["limit"] == 1 and [r["seq"] for r in last["records"]] == [seqs[-1]]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert world.client.get("/api/audit", params={"since": future}, headers=headers).json() == {
        "total": 0,
        "limit": 1000,
        "records": [],
    }
    until = world.client.get("/api/audit", params={"until": future}, headers=headers).json()
    assert until["total"] >= every["total"]
    naive = world.client.get("/api/audit", params={"since": "2026-01-05T06:00:00"}, headers=headers)
    assert naive.status_code == 422 and naive.json()["detail"][0]["field"] == "since"
    too_many = world.client.get("/api/audit", params={"limit": 0}, headers=headers)
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["field"] == "limit"
    verify = world.client.get("/api/audit/verify", headers=headers).json()
    assert verify["ok"] is True and verify["first_bad_seq"] is None
    with AuditTrail(world.url) as trail:
        seq, digest = trail.head()
    assert verify["checked"] == verify["head_seq"] >= seqs[-1]
    assert (verify["head_seq"], verify["head_hash"]) == (seq, digest)


def test_the_review_report_exports_as_csv_and_pdf(world: World) -> None:
    headers = auth(world, "admin")
    world.client.put(
        "/api/assets/BR01/setpoints/DO",
        json={"value": 41.0, "reason": "export test, with a comma"},
        headers=auth(world, "operator"),
    )
    params = {"record_type": "setpoint"}
    exported = world.client.get("/api/audit/export.csv", params=params, headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["record_type"] for r in rows} == {"setpoint"}
    assert rows[-1]["reason"] == "export test, with a comma" and rows[-1]["user"] == "operator"
    pdf = world.client.get("/api/audit/export.pdf", params=params, headers=headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and len(pdf.content) > 1000


def _trail_of_three(tmp_path: Path) -> str:
    """A database with a QA account and three audit records."""
    url = f"sqlite:///{tmp_path / 'tamper.db'}"
    with UserStore(url) as users:
        users.add("qa", "qa", PASSWORD)
    with AuditTrail(url) as trail:
        for i in range(3):
            trail.append(
                user="qa",
                action="change",
                record_type="setpoint",
                record_id="BR01.T",
                old={"value": 36 + i},
                new={"value": 37 + i},
                reason=f"change {i}",
            )
    return url


def test_an_altered_record_shows_in_verify(tmp_path: Path) -> None:
    url = _trail_of_three(tmp_path)
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:  # someone with write access to the file
        triggers = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for (name,) in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        db.execute(f"UPDATE {AUDIT_TABLE} SET reason = 'rewritten' WHERE seq = 2")
    app = create_app(ServiceSettings(db=url), ServiceContext(db_url=url))
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {login(client, 'qa')}"}
        verify = client.get("/api/audit/verify", headers=headers).json()
    assert verify["ok"] is False and verify["first_bad_seq"] == 2
    assert verify["message"].startswith("record 2")
