"""Genealogy through the API on the genealogy tests' example plant (known answers: see
``tests.gmp.test_genealogy``): forward and backward traces, the recall scope, the errors."""

from __future__ import annotations

import pytest

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.genealogy import Genealogy
from tests.gmp.test_genealogy import build_example
from tests.service.conftest import ROLES, World, auth


@pytest.fixture(scope="module")
def example(world: World) -> World:
    """The example plant recorded (with its audit records) in the service's database."""
    with AuditTrail(world.url) as audit, Genealogy(world.url) as genealogy:
        build_example(genealogy, audit, user="engineer")
    return world


@pytest.mark.parametrize("role", ROLES)
def test_every_role_traces_forward(example: World, role: str) -> None:
    response = example.client.get(
        "/api/genealogy/trace",
        params={"lot": "SUC-1", "direction": "forward"},
        headers=auth(example, role),
    )
    assert response.status_code == 200, response.text
    trace = response.json()
    assert trace["start"] == {
        "kind": "lot",
        "id": "SUC-1",
        "lot_id": "SUC-1",
        "material_id": "SUC",
        "material_kind": "raw",
    }
    assert {u["id"] for u in trace["lots"]} == {
        "BUF-1",
        "BUF-2",
        "BULK-1",
        "BULK-2",
        "DP-1",
        "DP-2",
    }
    finished = [
        (g["lot_id"], g["ids"]) for g in trace["containers"] if g["material_kind"] == "finished"
    ]
    assert finished == [("DP-1", ["V1", "V2", "V3", "V4"]), ("DP-2", ["V5", "V6"])]
    assert trace["batches"] == ["B1", "B2", "B3"] and trace["container_count"] == 8
    assert all(s["start"].endswith("Z") for s in trace["steps"])


def test_backward_from_a_container(example: World) -> None:
    response = example.client.get(
        "/api/genealogy/trace",
        params={"container": "V3", "direction": "backward"},
        headers=auth(example, "viewer"),
    )
    assert response.status_code == 200, response.text
    lots = {u["id"] for u in response.json()["lots"]}
    assert {"BULK-2", "BUF-2", "NACL-1", "SUC-1", "STOP-1"} <= lots
    assert "BULK-1" not in lots and "SUC-2" not in lots


def test_the_recall_scope(example: World) -> None:
    response = example.client.get(
        "/api/genealogy/recall", params={"lot": "SUC-2"}, headers=auth(example, "qa")
    )
    assert response.status_code == 200, response.text
    scope = response.json()
    assert [(f["lot_id"], f["affected"], f["total"]) for f in scope["finished_lots"]] == [
        ("DP-1", 2, 4)
    ]
    assert [c["container_id"] for c in scope["containers"]] == ["V1", "V2"]
    assert scope["containers"][0]["path"].startswith("SUC-2 > [FORM-1] > BULK-1 > [FILL-1]")
    assert scope["batches"] == ["B1"]


def test_errors_name_the_parameter(example: World) -> None:
    headers = auth(example, "viewer")
    unknown = example.client.get("/api/genealogy/recall", params={"lot": "NO-LOT"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["message"] == "lot: no lot 'NO-LOT'"
    both = example.client.get(
        "/api/genealogy/trace",
        params={"lot": "SUC-1", "container": "V1", "direction": "forward"},
        headers=headers,
    )
    assert both.status_code == 422 and both.json()["detail"][0]["field"] == "lot, container"
    direction = example.client.get(
        "/api/genealogy/trace", params={"lot": "SUC-1", "direction": "up"}, headers=headers
    )
    assert direction.status_code == 422 and direction.json()["detail"][0]["field"] == "direction"
    missing = example.client.get("/api/genealogy/recall", headers=headers)
    assert missing.json()["message"] == "lot: Field required"
