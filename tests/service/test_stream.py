"""The live stream sends samples, forecasts and alarms stored after the client connected."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from pharmatwin.core.utc import parse_utc
from pharmatwin.gmp.users import UserStore
from pharmatwin.historian.records import Batch, Event, Sample, TagInfo, TwinOutput
from pharmatwin.historian.urls import open_historian
from pharmatwin.service.app import create_app
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.settings import ServiceSettings
from tests.service.conftest import PASSWORD, login

START = parse_utc("2026-01-05T06:00:00Z")


def test_stream_sends_what_is_stored_after_connecting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with open_historian(url) as h, UserStore(url) as users:
        users.add("viewer", "viewer", PASSWORD)
        h.ensure_tags(
            [TagInfo("BR01.TT101.PV", "degC", "BR01"), TagInfo("BR02.TT101.PV", "degC", "BR02")]
        )
        h.start_batch(Batch("B1", "BR01", "r", START))
        h.write([Sample("BR01.TT101.PV", START, 36.5)])  # before connecting: not sent
        app = create_app(ServiceSettings(db=url, stream_poll_s=0.05), ServiceContext(db_url=url))
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {login(client, 'viewer')}"}
            params = {"asset": "BR01", "max_events": "3", "max_s": "20"}
            received: list[tuple[str, dict[str, object]]] = []
            with client.stream("GET", "/api/stream", params=params, headers=headers) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                lines = response.iter_lines()
                assert next(lines) == ": connected"
                later = START + timedelta(hours=1)
                h.write([Sample("BR02.TT101.PV", later, 1.0)])  # another asset: filtered out
                h.write([Sample("BR01.TT101.PV", later, 36.7)])
                h.write_output(TwinOutput("BR01.twin", "B1", "forecast", later, 1.0, {"cqa": {}}))
                h.add_event(
                    Event(
                        "alarm",
                        "BR01.twin",
                        later,
                        "lactate",
                        "high",
                        "BR01",
                        "B1",
                        {"raised_at_h": 1.0},
                    )
                )
                kind = ""
                for line in lines:  # bounded: the server ends after 3 events or 20 s
                    if line.startswith("event: "):
                        kind = line[len("event: ") :]
                    elif line.startswith("data: "):
                        received.append((kind, json.loads(line[len("data: ") :])))
    kinds = sorted(k for k, _ in received)
    assert kinds == ["alarm", "forecast", "sample"], received
    sample = next(d for k, d in received if k == "sample")
    assert sample == {
        "tag": "BR01.TT101.PV",
        "time": "2026-01-05T07:00:00Z",
        "value": 36.7,
        "quality": 192,
    }
    alarm = next(d for k, d in received if k == "alarm")
    assert alarm["subject"] == "lactate" and alarm["asset"] == "BR01"
