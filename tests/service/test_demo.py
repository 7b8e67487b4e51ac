"""The demo end to end through the API: the virtual plant develops its fault, the live twin
raises the alarm before the specification is violated, an operator acknowledges it and a
viewer may not; an operator's setpoint reaches the virtual plant; the demo accounts, the
acknowledgement and the setpoint are in the audit trail."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from pharmatwin.service.demo import Demo

DEADLINE_S = 180.0


def _login(client: TestClient, demo: Demo, role: str) -> dict[str, str]:
    reply = client.post("/api/auth/login", json={"name": role, "password": demo.logins[role]})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def _wait_for_alarm(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        alarms = client.get("/api/alarms", headers=headers).json()
        if alarms:
            return list(alarms)
        time.sleep(0.5)
    raise AssertionError(f"no alarm within {DEADLINE_S:g} s")


def test_the_demo_warns_in_time_and_obeys_roles(tmp_path: Path) -> None:
    demo = Demo(f"sqlite:///{tmp_path / 'demo.db'}", speed=18_000.0, members=40)
    app = demo.start()
    try:
        with TestClient(app) as client:
            operator = _login(client, demo, "operator")
            viewer = _login(client, demo, "viewer")
            alarms = _wait_for_alarm(client, viewer)
            first = alarms[0]
            assert first["kind"] == "alarm"
            assert first["subject"] in {"lactate", "titre", "viability"}
            # raised before the predicted violation: a positive lead time
            assert first["lead_time_h"] is not None and first["lead_time_h"] > 0
            refused = client.post(
                f"/api/alarms/{first['id']}/acknowledge",
                json={"comment": "seen"},
                headers=viewer,
            )
            assert refused.status_code == 403
            done = client.post(
                f"/api/alarms/{first['id']}/acknowledge",
                json={"comment": "sparger checked"},
                headers=operator,
            )
            assert done.status_code == 200, done.text
            again = client.get("/api/alarms", headers=viewer).json()
            assert next(a for a in again if a["id"] == first["id"])["acknowledged"]
            changed = client.put(
                "/api/assets/BR01/setpoints/T",
                json={"value": 36.0, "reason": "lower the temperature"},
                headers=operator,
            )
            assert changed.status_code == 200, changed.text
            qa = _login(client, demo, "qa")
            trail = client.get("/api/audit", headers=qa).json()["records"]
            assert {(r["record_type"], r["record_id"]) for r in trail} >= {
                ("user", "viewer"),
                ("alarm", first["id"]),
                ("setpoint", "BR01.T"),
            }
            assert not any(demo.logins["qa"] in str(r) for r in trail)  # never a password
            assert client.get("/api/audit/verify", headers=qa).json()["ok"] is True
            versions = client.get("/api/versions", headers=qa).json()  # the versions run
            assert {v["kind"] for v in versions} == {"twin_config", "recipe"}, versions
            server = demo.server
            assert server is not None

            def carried_out() -> bool:
                return any(a.input == "T" and a.value == 36.0 for _, a in server.plant.actions)

            deadline = time.monotonic() + 60.0  # the plant re-runs from the change (seconds)
            while not carried_out() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert carried_out()
    finally:
        demo.stop()
