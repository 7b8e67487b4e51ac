"""A historian with a real twin run in it, a runtime over it, users of every role, and apps.

The virtual plant runs the aeration-failure scenario; 110 h of its data are stored and a
30-member twin steps through them (the sparger fouls at 72 h; the twin raises a lactate alarm).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from fastapi.testclient import TestClient

from pharmatwin.core.actions import Action
from pharmatwin.gmp.users import UserStore
from pharmatwin.historian.files import SampleTable
from pharmatwin.historian.records import to_us
from pharmatwin.runtime.asset import Asset, load_asset
from pharmatwin.runtime.plant_config import AssetEntry, BatchConfig, PlantConfig, SourceConfig
from pharmatwin.runtime.plant_export import sensor_table
from pharmatwin.runtime.runner import Runtime
from pharmatwin.service.app import create_app
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.settings import ServiceSettings
from tests.conftest import plant_run

SCENARIO = "aeration-failure"
START = "2026-01-05T06:00:00Z"
BATCH = "B1"
STORED_H = 110.0
PASSWORD = "Correct-Horse-42"
ROLES = ("viewer", "operator", "engineer", "qa", "admin")


@dataclass
class FakePlant:
    """The plant-control boundary: records what it was asked to do."""

    calls: list[tuple[str, str, object]] = field(default_factory=list)

    def set_setpoint(self, asset: str, name: str, value: float) -> float:
        if name == "DO" and value > 100:  # as the virtual plant's operating envelope
            raise ValueError(f"DO: {value:g} % is outside [10, 100]")
        self.calls.append(("setpoint", asset, (name, value)))
        return STORED_H

    def apply(self, asset: str, action: Action) -> float:
        self.calls.append(("apply", asset, action.name))
        return STORED_H


@dataclass
class World:
    url: str
    runtime: Runtime
    table: SampleTable
    plant: FakePlant
    client: TestClient
    bare: TestClient
    tokens: dict[str, str]


def small_asset() -> Asset:
    asset = load_asset("br01")
    return asset.model_copy(
        update={
            "twin": asset.twin.model_copy(update={"members": 30}),
            "alarms": asset.alarms.model_copy(update={"persistence_h": 0.0}),
        }
    )


def login(client: TestClient, name: str) -> str:
    response = client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # tests choose how they authenticate
    return str(response.json()["token"])


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('service') / 'historian.db'}"
    config = PlantConfig(
        sources=[SourceConfig(name="files", kind="file", url="unused")],
        assets=[
            AssetEntry(
                asset=small_asset(),
                source="files",
                batch=BatchConfig(id=BATCH, start_utc=START),
            )
        ],
    )
    runtime = Runtime(config, url)
    runtime.start(connect=False)
    assert runtime.historian is not None
    table = sensor_table(plant_run(SCENARIO), START, BATCH)
    start_us = to_us(runtime.twins["BR01"].batch.start)
    pick = table.available_h <= STORED_H
    runtime.historian.write_columns(
        table.tag[pick].astype(str),
        start_us + np.round(table.time_h[pick] * 3.6e9).astype(np.int64),
        table.value[pick],
        available_us=start_us + np.round(table.available_h[pick] * 3.6e9).astype(np.int64),
    )
    runtime.poll()
    with UserStore(url) as users:
        for role in ROLES:
            users.add(role, role, PASSWORD)
        users.add("locky", "operator", PASSWORD)
    plant = FakePlant()
    settings = ServiceSettings(db=url, stream_poll_s=0.05)
    app = create_app(settings, ServiceContext(db_url=url, runtime=runtime, plant=plant))
    bare_app = create_app(settings, ServiceContext(db_url=url))
    with TestClient(app) as client, TestClient(bare_app) as bare:
        tokens = {role: login(client, role) for role in ROLES}
        yield World(url, runtime, table, plant, client, bare, tokens)
    runtime.stop()


def auth(world: World, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[role]}"}
