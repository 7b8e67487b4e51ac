"""Logins, the role x action matrix (issue 5's writes and issue 8's GMP endpoints),
acknowledgements, what-if, plant writes, twin config."""

from __future__ import annotations

from typing import Any

import pytest

from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.versioned_twin import twin_config_content
from tests.service.conftest import BATCH, PASSWORD, ROLES, World, auth, small_asset

RESTORE_DO = {"name": "restore aeration", "kind": "restore", "input": "DO"}

WHY = "test of the access matrix"
# the briefs' access matrix (issues 5 and 8), written out rather than read from gmp.permissions
MAY = {
    "acknowledge": {"operator", "engineer", "qa", "admin"},
    "setpoint": {"operator", "engineer", "admin"},
    "apply": {"operator", "engineer", "admin"},
    "whatif": {"operator", "engineer", "qa", "admin"},
    "twin_config": {"engineer"},
    # GMP records (issue 8)
    "audit_list": {"qa", "admin"},
    "audit_verify": {"qa", "admin"},
    "audit_csv": {"qa", "admin"},  # view_audit and export_records
    "record_pdf": {"engineer", "qa", "admin"},
    "sign_reviewed": {"operator", "engineer", "qa", "admin"},
    "sign_approved": {"qa"},
    "propose_version": {"engineer"},
    "approve_version": {"qa"},
}
ACTION_NAMES = {
    "acknowledge": "acknowledge_alarm",
    "setpoint": "change_setpoint",
    "apply": "apply_action",
    "whatif": "evaluate_whatif",
    "twin_config": "change_twin_config",
    "audit_list": "view_audit",
    "audit_verify": "view_audit",
    "audit_csv": "view_audit",  # the first permission the viewer, operator, engineer lack
    "record_pdf": "export_records",
    "sign_reviewed": "sign_record",
    "sign_approved": "approve_record",  # (a viewer lacks sign_record already)
    "propose_version": "propose_version",
    "approve_version": "approve_version",
}
CREATED = {"propose_version": 201}


def _alarm(world: World) -> str:
    alarms = world.client.get("/api/alarms", headers=auth(world, "viewer")).json()
    return str(alarms[0]["id"])


def _draft(world: World) -> str:
    """A draft version proposed by the engineer (once), for the approval row."""
    content = twin_config_content(small_asset())
    path = "/api/versions/twin_config/APPROVE-MATRIX"
    body = {"content": content, "reason": "to be approved in the matrix"}
    response = world.client.post(path, json=body, headers=auth(world, "engineer"))
    assert response.status_code in (201, 409), response.text
    return f"{path}/1/approve"


def _sign(world: World, role: str, meaning: str) -> Any:
    body = {
        "record_type": "batch_record",
        "record_id": BATCH,
        "meaning": meaning,
        "password": PASSWORD,
        "reason": WHY,
    }
    return world.client.post("/api/signatures", json=body, headers=auth(world, role))


def _call(world: World, what: str, role: str) -> Any:
    c, headers = world.client, auth(world, role)
    body: dict[str, Any]
    if what == "acknowledge":
        body = {"comment": f"seen by {role}"}
        return c.post(f"/api/alarms/{_alarm(world)}/acknowledge", json=body, headers=headers)
    if what == "setpoint":
        body = {"value": 36.5, "reason": WHY}
        return c.put("/api/assets/BR01/setpoints/T", json=body, headers=headers)
    if what == "apply":
        body = {"action": RESTORE_DO, "reason": WHY}
        return c.post("/api/assets/BR01/actions/apply", json=body, headers=headers)
    if what == "whatif":  # on the app without a live twin: allowed means 409, not 403
        return world.bare.post(
            "/api/assets/BR01/whatif", json={"action": RESTORE_DO}, headers=headers
        )
    if what == "twin_config":
        body = {"members": 40, "reason": WHY}
        return c.put("/api/assets/BR01/twin-config", json=body, headers=headers)
    if what.startswith("audit_"):
        path = {"audit_list": "", "audit_verify": "/verify", "audit_csv": "/export.csv"}[what]
        return c.get(f"/api/audit{path}", headers=headers)
    if what == "record_pdf":
        return c.get(f"/api/batches/{BATCH}/record.pdf", headers=headers)
    if what.startswith("sign_"):
        return _sign(world, role, what.removeprefix("sign_"))
    if what == "propose_version":
        body = {"content": twin_config_content(small_asset()), "reason": WHY}
        return c.post("/api/versions/twin_config/PROPOSE-MATRIX", json=body, headers=headers)
    body = {"password": PASSWORD, "reason": WHY}
    return c.post(_draft(world), json=body, headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("what", sorted(MAY))
def test_role_matrix(world: World, what: str, role: str) -> None:
    response = _call(world, what, role)
    if role in MAY[what]:
        expected = 409 if what == "whatif" else CREATED.get(what, 200)
        assert response.status_code == expected, response.text
    else:
        assert response.status_code == 403, response.text
        message = response.json()["message"]
        refused = (
            "sign_record" if (what, role) == ("sign_approved", "viewer") else ACTION_NAMES[what]
        )
        assert message == f"forbidden: role {role!r} may not {refused!r}"


def test_login_logout_me_and_cookie(world: World) -> None:
    c = world.client
    response = c.post("/api/auth/login", json={"name": "qa", "password": PASSWORD})
    body = response.json()
    assert body["user"] == {"name": "qa", "role": "qa"} and body["expires"].endswith("Z")
    assert c.get("/api/auth/me").json()["user"]["role"] == "qa"  # the cookie works too
    c.cookies.clear()
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert c.get("/api/auth/me", headers=headers).json()["user"]["name"] == "qa"
    assert c.post("/api/auth/logout", headers=headers).status_code == 200
    c.cookies.clear()
    assert c.get("/api/auth/me", headers=headers).status_code == 401
    wrong = c.post("/api/auth/login", json={"name": "qa", "password": "Wrong-Horse-42"})
    assert wrong.status_code == 401 and wrong.json()["message"] == "wrong user name or password"
    assert c.post("/api/auth/login", json={"name": "qa"}).json()["message"] == (
        "password: Field required"
    )


def test_lockout_is_423_with_the_message(world: World) -> None:
    c = world.client
    codes = [
        c.post("/api/auth/login", json={"name": "locky", "password": "Wrong-Horse-42"})
        for _ in range(5)
    ]
    assert [r.status_code for r in codes] == [401, 401, 401, 401, 423]
    locked = c.post("/api/auth/login", json={"name": "locky", "password": PASSWORD})
    assert locked.status_code == 423 and "locked" in locked.json()["message"]


def test_acknowledgement_is_stored_as_an_event(world: World) -> None:
    ident = _alarm(world)
    response = world.client.post(
        f"/api/alarms/{ident}/acknowledge",
        json={"comment": "sparger checked"},
        headers=auth(world, "operator"),
    )
    assert response.status_code == 200, response.text
    with open_historian(world.url) as h:
        acks = [
            e for e in h.events(kind="acknowledgement") if e.data["comment"] == "sparger checked"
        ]
    assert len(acks) == 1 and acks[0].subject == ident
    assert acks[0].data == {"by": "operator", "comment": "sparger checked", "alarm": ident}
    alarm = next(
        a
        for a in world.client.get("/api/alarms", headers=auth(world, "viewer")).json()
        if a["id"] == ident
    )
    assert alarm["acknowledged"]
    assert {"operator", "sparger checked"} <= {
        v for a in alarm["acknowledgements"] for v in (a["by"], a["comment"])
    }
    missing = world.client.post(
        f"/api/alarms/{ident}/acknowledge", json={}, headers=auth(world, "operator")
    )
    assert missing.status_code == 422 and missing.json()["message"] == "comment: Field required"
    long = world.client.post(
        f"/api/alarms/{ident}/acknowledge", json={"comment": "x" * 501}, headers=auth(world, "qa")
    )
    assert long.status_code == 422 and long.json()["detail"][0]["field"] == "comment"
    unknown = world.client.post(
        "/api/alarms/0000/acknowledge", json={"comment": "?"}, headers=auth(world, "qa")
    )
    assert unknown.status_code == 404


def test_whatif_on_the_live_twin(world: World) -> None:
    headers = auth(world, "qa")
    first = world.client.post(
        "/api/assets/BR01/whatif", json={"action": RESTORE_DO}, headers=headers
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["at_h"] == world.runtime.twins["BR01"].session.hour and body["members"] == 30
    # the sparger fouled at 72 h: restoring aeration must help (lactate alarm active)
    assert body["p_ok_after"] > body["p_ok_before"]
    assert body["expected_titre_after"] > body["expected_titre_before"]
    again = world.client.post(
        "/api/assets/BR01/whatif", json={"action": RESTORE_DO}, headers=headers
    )
    assert again.json() == body
    bad_kind = world.client.post(
        "/api/assets/BR01/whatif", json={"action": {"name": "x", "kind": "pray"}}, headers=headers
    )
    assert bad_kind.status_code == 422
    assert bad_kind.json()["detail"][0]["field"] == "action.kind"
    bad_input = world.client.post(
        "/api/assets/BR01/whatif",
        json={"action": {"name": "x", "kind": "restore", "input": "rpm"}},
        headers=headers,
    )
    assert bad_input.status_code == 422 and bad_input.json()["message"].startswith("action.input:")
    incomplete = world.client.post(
        "/api/assets/BR01/whatif", json={"action": {"name": "x", "kind": "bolus"}}, headers=headers
    )
    assert (
        incomplete.status_code == 422 and "needs medium, volume_L" in incomplete.json()["message"]
    )


def test_plant_writes_go_through_the_plant_control(world: World) -> None:
    headers = auth(world, "engineer")
    before = len(world.plant.calls)
    response = world.client.put(
        "/api/assets/BR01/setpoints/DO", json={"value": 45.0, "reason": WHY}, headers=headers
    )
    body = response.json()
    assert {k: body[k] for k in ("asset", "name", "value", "effective_h")} == {
        "asset": "BR01",
        "name": "DO",
        "value": 45.0,
        "effective_h": 110.0,
    }
    assert isinstance(body["audit_seq"], int)
    applied = world.client.post(
        "/api/assets/BR01/actions/apply",
        json={"action": RESTORE_DO, "reason": WHY},
        headers=headers,
    )
    assert applied.json()["action"] == "restore aeration"
    assert world.plant.calls[before:] == [
        ("setpoint", "BR01", ("DO", 45.0)),
        ("apply", "BR01", "restore aeration"),
    ]

    def put(asset: str, name: str, body: dict[str, Any], client: Any = world.client) -> Any:
        return client.put(f"/api/assets/{asset}/setpoints/{name}", json=body, headers=headers)

    bad = put("BR01", "T", {"value": "warm", "reason": WHY})
    assert bad.status_code == 422 and bad.json()["message"].startswith("value:")
    name = put("BR01", "rpm", {"value": 1, "reason": WHY})
    assert name.status_code == 422 and name.json()["detail"][0]["field"] == "name"
    hot = put("BR01", "T", {"value": 80.0, "reason": WHY})
    assert hot.status_code == 422
    assert hot.json()["message"] == "value: 80 degC is outside the range of T [0, 50]"
    no_reason = put("BR01", "T", {"value": 36.0})
    assert no_reason.status_code == 422
    assert no_reason.json()["message"] == "reason: Field required"
    blank = put("BR01", "T", {"value": 36.0, "reason": "   "})
    assert blank.status_code == 422 and blank.json()["message"] == "reason: must not be blank"
    no_apply_reason = world.client.post(
        "/api/assets/BR01/actions/apply", json={"action": RESTORE_DO}, headers=headers
    )
    assert no_apply_reason.json()["detail"] == [{"field": "reason", "message": "Field required"}]
    assert len(world.plant.calls) == before + 2
    no_plant = put("BR01", "T", {"value": 36.0, "reason": WHY}, world.bare)
    assert no_plant.status_code == 409 and "plant" in no_plant.json()["message"]
    unknown = put("BR9", "T", {"value": 36.0, "reason": WHY})
    assert unknown.status_code == 404


def test_twin_config_is_validated_and_stored(world: World) -> None:
    headers = auth(world, "engineer")

    def put(body: dict[str, Any]) -> Any:
        return world.client.put("/api/assets/BR01/twin-config", json=body, headers=headers)

    change = {"members": 100, "forecast_every_h": 4, "alarms": {"threshold": 0.6}, "reason": WHY}
    response = put(change)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["twin"]["members"] == 100 and body["twin"]["estimator"] == "enkf"
    assert body["alarms"]["threshold"] == 0.6 and body["applies_to"] == "next batch"
    with open_historian(world.url) as h:
        stored = h.events(kind="twin_config", asset="BR01")[-1]
    assert stored.data["twin"] == body["twin"] and stored.data["by"] == "engineer"
    assert stored.data["reason"] == WHY and "reason" not in stored.data["changed"]
    too_few = put({"members": 5, "reason": WHY})
    assert too_few.status_code == 422 and too_few.json()["detail"][0]["field"] == "members"
    threshold = put({"alarms": {"threshold": 2}, "reason": WHY})
    assert threshold.json()["detail"][0]["field"] == "alarms.threshold"
    unknown = put({"ensemble": 5, "reason": WHY})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "ensemble"
    no_reason = put({"members": 50})
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["field"] == "reason"
