"""Electronic signatures and batch records through the API: manifestations, binding to the
record's content, the four-eyes rule, wrong passwords, and the HTML / PDF batch record."""

from __future__ import annotations

from typing import Any

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.batch_record import build_batch_record
from pharmatwin.gmp.signatures import Signatures
from pharmatwin.gmp.users import UserStore
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.versioned_twin import twin_config_content
from tests.service.conftest import BATCH, PASSWORD, World, auth, small_asset


def _sign(world: World, role: str, **fields: Any) -> Any:
    body = {
        "record_type": "batch_record",
        "record_id": BATCH,
        "meaning": "reviewed",
        "password": PASSWORD,
        "reason": "batch record reviewed",
    } | fields
    return world.client.post("/api/signatures", json=body, headers=auth(world, role))


def _listed(world: World, record_type: str = "batch_record", record_id: str = BATCH) -> Any:
    response = world.client.get(
        "/api/signatures",
        params={"record_type": record_type, "record_id": record_id},
        headers=auth(world, "viewer"),
    )
    assert response.status_code == 200, response.text
    return response.json()


def _content_hash(world: World) -> str:
    with open_historian(world.url) as historian:
        return build_batch_record(historian, BATCH, asset=small_asset()).content_hash


def test_a_signature_shows_its_manifestation_and_goes_invalid_on_change(world: World) -> None:
    listed = _listed(world)
    assert listed["content_hash"] == _content_hash(world)
    response = _sign(world, "engineer", reason="CPPs checked against the recipe")
    assert response.status_code == 200, response.text
    signed = response.json()
    assert signed["printed_name"] == "engineer" and signed["meaning"] == "reviewed"
    assert signed["signed_at"].endswith("Z") and signed["valid"] is True
    assert signed["content_hash"] == listed["content_hash"]
    assert signed["manifestation"].startswith("engineer (engineer), ")
    assert signed["manifestation"].endswith(" UTC, reviewed")
    mine = [s for s in _listed(world)["signatures"] if s["signature_id"] == signed["signature_id"]]
    assert mine == [signed]
    with AuditTrail(world.url) as trail:
        record = [r for r in trail.records(record_type="batch_record") if r.action == "sign"][-1]
    assert (record.user, record.record_id, record.reason) == (
        "engineer",
        BATCH,
        "CPPs checked against the recipe",
    )
    assert record.new["signature_id"] == signed["signature_id"]
    # the record changes (an alarm acknowledged): the signature no longer covers it
    alarm = world.client.get("/api/alarms", headers=auth(world, "viewer")).json()[0]
    world.client.post(
        f"/api/alarms/{alarm['id']}/acknowledge",
        json={"comment": "after the review"},
        headers=auth(world, "operator"),
    )
    after = _listed(world)
    assert after["content_hash"] != listed["content_hash"]
    now = next(s for s in after["signatures"] if s["signature_id"] == signed["signature_id"])
    assert now["valid"] is False and "changed after it was signed" in now["problem"]


def test_a_wrong_password_is_refused_clearly_and_the_session_stays(world: World) -> None:
    response = _sign(world, "operator", password="Wrong-Horse-42")
    assert response.status_code == 401
    assert response.json()["message"] == "password: wrong user name or password"
    me = world.client.get("/api/auth/me", headers=auth(world, "operator"))
    assert me.status_code == 200


def test_the_reviewed_content_must_still_be_the_records(world: World) -> None:
    stale = "0" * 64
    response = _sign(world, "qa", content_hash=stale)
    assert response.status_code == 409
    assert response.json()["message"].startswith("content_hash: batch_record 'B1' changed")
    current = _listed(world)["content_hash"]
    assert _sign(world, "qa", content_hash=current).status_code == 200


def test_bad_requests_name_the_field(world: World) -> None:
    unknown_type = _sign(world, "qa", record_type="deviation")
    assert unknown_type.status_code == 422
    assert unknown_type.json()["detail"][0]["field"] == "record_type"
    meaning = _sign(world, "qa", meaning="signed")
    assert meaning.status_code == 422 and meaning.json()["detail"][0]["field"] == "meaning"
    no_reason = _sign(world, "qa", reason=" ")
    assert no_reason.json()["message"] == "reason: must not be blank"
    body = {"record_type": "batch_record", "record_id": BATCH, "meaning": "reviewed"}
    missing = world.client.post("/api/signatures", json=body, headers=auth(world, "qa"))
    assert missing.status_code == 422
    assert [d["field"] for d in missing.json()["detail"]] == ["password", "reason"]
    no_batch = _sign(world, "qa", record_id="B-none")
    assert no_batch.status_code == 404 and "B-none" in no_batch.json()["message"]
    bad_id = _sign(world, "qa", record_type="recipe_version", record_id="no-version")
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["field"] == "record_id"
    listing = world.client.get(
        "/api/signatures",
        params={"record_type": "deviation", "record_id": "D1"},
        headers=auth(world, "viewer"),
    )
    assert listing.status_code == 422 and listing.json()["detail"][0]["field"] == "record_type"


def test_self_approval_is_refused(world: World) -> None:
    """QA signs a version "authored", then may not approve it: a second person must."""
    content = twin_config_content(small_asset()) | {"parameters": {"mu_max": 0.03}}
    proposed = world.client.post(
        "/api/versions/twin_config/SELF-APPROVAL",
        json={"content": content, "reason": "for the four-eyes test"},
        headers=auth(world, "engineer"),
    )
    assert proposed.status_code == 201, proposed.text
    record_id = proposed.json()["record_id"]
    version = {"record_type": "twin_config_version", "record_id": record_id}
    authored = _sign(world, "qa", meaning="authored", **version)
    assert authored.status_code == 200, authored.text
    refused = _sign(world, "qa", meaning="approved", **version)
    assert refused.status_code == 409
    assert refused.json()["message"].startswith("four-eyes rule: 'qa' authored")
    released = _sign(world, "qa", meaning="released", **version)
    assert released.status_code == 409
    listed = _listed(world, **version)
    assert [s["meaning"] for s in listed["signatures"]] == ["authored"]


def test_only_qa_approves_or_releases(world: World) -> None:
    for role in ("operator", "engineer", "admin"):
        response = _sign(world, role, meaning="released")
        assert response.status_code == 403
        assert response.json()["message"] == f"forbidden: role {role!r} may not 'approve_record'"


def test_the_batch_record_as_html_and_pdf(world: World) -> None:
    signed = _sign(world, "admin", reason="for the HTML record").json()
    page = world.client.get(f"/api/batches/{BATCH}/record.html", headers=auth(world, "viewer"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"Electronic batch record {BATCH}" in page.text
    when = signed["signed_at"].replace("T", " ")[:19] + " UTC"
    row = f"<td>reviewed</td><td>admin</td><td>admin</td><td>{when}</td><td>valid</td>"
    assert row in page.text and "for the HTML record" in page.text
    pdf = world.client.get(f"/api/batches/{BATCH}/record.pdf", headers=auth(world, "engineer"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert f'filename="batch-record-{BATCH}.pdf"' in pdf.headers["content-disposition"]
    assert (
        world.client.get(
            f"/api/batches/{BATCH}/record.pdf", headers=auth(world, "operator")
        ).status_code
        == 403
    )
    missing = world.client.get("/api/batches/B-none/record.html", headers=auth(world, "viewer"))
    assert missing.status_code == 404 and "B-none" in missing.json()["message"]


def test_a_locked_account_cannot_sign(world: World) -> None:
    with UserStore(world.url) as users:
        users.add("signer", "operator", PASSWORD)
    login = world.client.post("/api/auth/login", json={"name": "signer", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    world.client.cookies.clear()
    body = {
        "record_type": "batch_record",
        "record_id": BATCH,
        "meaning": "reviewed",
        "password": "Wrong-Horse-42",
        "reason": "lockout test",
    }
    codes = [
        world.client.post("/api/signatures", json=body, headers=headers).status_code
        for _ in range(5)
    ]
    assert codes == [401, 401, 401, 401, 423]
    with AuditTrail(world.url) as trail, UserStore(world.url) as users:
        signatures = Signatures(users=users, audit=trail)
        assert not [s for s in signatures.signatures("batch_record", BATCH) if s.user == "signer"]


def test_a_changed_password_no_longer_signs(world: World) -> None:
    """The old password is refused at once after a password change (checked on every
    signing, never remembered from an earlier one)."""
    with UserStore(world.url) as users:
        users.add("changer", "operator", PASSWORD)
    token = world.client.post("/api/auth/login", json={"name": "changer", "password": PASSWORD})
    world.client.cookies.clear()
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    body = {
        "record_type": "batch_record",
        "record_id": BATCH,
        "meaning": "reviewed",
        "password": PASSWORD,
        "reason": "before the change",
    }
    assert world.client.post("/api/signatures", json=body, headers=headers).status_code == 200
    with UserStore(world.url) as users:
        users.set_password("changer", "Brand-New-Horse-7")  # ends the sessions too
    token = world.client.post(
        "/api/auth/login", json={"name": "changer", "password": "Brand-New-Horse-7"}
    )
    world.client.cookies.clear()
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    old = world.client.post("/api/signatures", json=body, headers=headers)
    assert old.status_code == 401, old.text
    assert old.json()["message"] == "password: wrong user name or password"
    new = world.client.post(
        "/api/signatures", json=body | {"password": "Brand-New-Horse-7"}, headers=headers
    )
    assert new.status_code == 200, new.text
