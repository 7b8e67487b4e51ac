"""Versioned twin configurations and recipes through the API: propose (engineer), diff,
approve by e-signature (QA, never the author), and the errors that name the field."""

from __future__ import annotations

from typing import Any

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.users import UserStore
from pharmatwin.runtime.versioned_twin import recipe_content, twin_config_content
from tests.service.conftest import PASSWORD, World, auth, small_asset

BASE = "/api/versions/twin_config/VERSIONED"


def _propose(world: World, content: dict[str, Any], role: str = "engineer", **kw: Any) -> Any:
    path = kw.pop("path", BASE)
    body = {"content": content, "reason": kw.pop("reason", "tuned for the pH study")}
    return world.client.post(path, json=body, headers=auth(world, role))


def _content(members: int) -> dict[str, Any]:
    content = twin_config_content(small_asset())
    content["twin"] = content["twin"] | {"members": members}
    return content


def test_propose_diff_and_approve(world: World) -> None:
    first = _propose(world, _content(30))
    assert first.status_code == 201, first.text
    v1 = first.json()
    assert (v1["version"], v1["status"], v1["author"], v1["record_id"]) == (
        1,
        "draft",
        "engineer",
        "VERSIONED@v1",
    )
    assert len(v1["content_hash"]) == 64 and v1["signatures"] == []
    again = _propose(world, _content(30))
    assert again.status_code == 409 and again.json()["message"].startswith("content: identical")
    v2 = _propose(world, _content(50), reason="more members").json()
    assert v2["version"] == 2
    diff = world.client.get(f"{BASE}/diff", params={"a": 1, "b": 2}, headers=auth(world, "viewer"))
    assert diff.json()["changes"] == [
        {"path": "twin.members", "change": "changed", "old": 30, "new": 50}
    ]
    wrong = world.client.post(
        f"{BASE}/2/approve",
        json={"password": "Wrong-Horse-42", "reason": "approved"},
        headers=auth(world, "qa"),
    )
    assert wrong.status_code == 401 and wrong.json()["message"].startswith("password:")
    approved = world.client.post(
        f"{BASE}/2/approve",
        json={"password": PASSWORD, "reason": "reviewed the ensemble study"},
        headers=auth(world, "qa"),
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    [signature] = body["signatures"]
    assert (signature["meaning"], signature["printed_name"], signature["valid"]) == (
        "approved",
        "qa",
        True,
    )
    listed = world.client.get(BASE, headers=auth(world, "viewer")).json()
    assert [(v["version"], v["status"]) for v in listed] == [(1, "draft"), (2, "approved")]
    names = world.client.get("/api/versions", headers=auth(world, "viewer")).json()
    assert {"kind": "twin_config", "name": "VERSIONED", "latest": 2} in names
    with AuditTrail(world.url) as trail:
        records = trail.records(record_type="twin_config_version", record_id="VERSIONED@v2")
    assert [(r.user, r.action, r.reason) for r in records] == [
        ("engineer", "create", "more members"),
        ("qa", "sign", "reviewed the ensemble study"),
    ]


def test_the_author_cannot_approve_even_as_qa(world: World) -> None:
    """An engineer proposes, is made QA, and may still not approve their own version."""
    with UserStore(world.url) as users:
        users.add("eng2", "engineer", PASSWORD)
    token = world.client.post("/api/auth/login", json={"name": "eng2", "password": PASSWORD})
    world.client.cookies.clear()
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    path = "/api/versions/twin_config/OWN"
    body = {"content": _content(40), "reason": "mine"}
    assert world.client.post(path, json=body, headers=headers).status_code == 201
    with UserStore(world.url) as users:
        users.set_role("eng2", "qa")  # the open session gets the new role
    refused = world.client.post(
        f"{path}/1/approve", json={"password": PASSWORD, "reason": "looks fine"}, headers=headers
    )
    assert refused.status_code == 409
    assert refused.json()["message"].startswith("four-eyes rule: 'eng2' proposed")
    assert world.client.get(path, headers=headers).json()[0]["status"] == "draft"


def test_recipes_are_versioned_by_name(world: World) -> None:
    content = recipe_content(small_asset())
    name = content["name"]
    created = _propose(world, content, path=f"/api/versions/recipe/{name}")
    assert created.status_code == 201, created.text
    mismatch = _propose(world, content, path="/api/versions/recipe/other-name")
    assert mismatch.status_code == 422
    assert mismatch.json()["detail"][0]["field"] == "content.name"


def test_bad_input_names_the_field(world: World) -> None:
    kind = _propose(world, _content(30), path="/api/versions/model/X")
    assert kind.status_code == 422 and kind.json()["detail"][0]["field"] == "kind"
    members = _propose(world, _content(5), path="/api/versions/twin_config/BAD")
    assert members.status_code == 422
    assert members.json()["detail"][0]["field"] == "content.twin.members"
    no_reason = world.client.post(
        BASE, json={"content": _content(30)}, headers=auth(world, "engineer")
    )
    assert no_reason.json()["message"] == "reason: Field required"
    viewer = auth(world, "viewer")
    unknown = world.client.get("/api/versions/twin_config/NOTHING", headers=viewer)
    assert unknown.status_code == 404 and "NOTHING" in unknown.json()["message"]
    _propose(world, _content(31), path="/api/versions/twin_config/DIFF")
    no_version = world.client.get(
        "/api/versions/twin_config/DIFF/diff", params={"a": 1, "b": 9}, headers=viewer
    )
    assert no_version.status_code == 404 and "v9" in no_version.json()["message"]
    approve_missing = world.client.post(
        "/api/versions/twin_config/DIFF/9/approve",
        json={"password": PASSWORD, "reason": "x"},
        headers=auth(world, "qa"),
    )
    assert approve_missing.status_code == 404
