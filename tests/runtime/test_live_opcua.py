"""End to end over OPC UA: virtual plant server -> OPC UA connector -> historian -> runtime.

The twin raises the alarm of a failing feed pump, and its alarms and final forecast match
``pharmatwin twin replay`` on the data the historian recorded. Midway the runtime is stopped
and started again (as after a crash or an upgrade): the connector backfills what it missed
from the server's history, the twin steps the batch again from the historian, and the
historian ends with every reading the plant published, once.
"""

from __future__ import annotations

import time
from pathlib import Path

from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.plant_config import PlantConfig
from pharmatwin.runtime.runner import Runtime
from tests.runtime.live_e2e import (
    SPEED,
    assert_same_twin,
    expected_readings,
    live_and_replayed,
    plant_process,
    run_until_finished,
    stored_at_least,
    write_inputs,
)
from tests.services.mosquitto import free_port


def test_virtual_plant_over_opcua_to_a_live_twin(tmp_path: Path) -> None:
    scenario_file, asset_file, start_utc = write_inputs(tmp_path)
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/pharmatwin/"
    db = f"sqlite:///{tmp_path / 'historian.db'}"
    config = PlantConfig.model_validate(
        {
            "sources": [{"name": "plant", "kind": "opcua", "url": url}],
            "assets": [
                {
                    "asset": str(asset_file),
                    "source": "plant",
                    "batch": {"id": "B1", "start_utc": start_utc},
                }
            ],
        }
    )
    args = ["--opcua", url, "--speed", str(SPEED), "--scenario", str(scenario_file)]
    expected = expected_readings(scenario_file)
    with plant_process([*args, "--after-harvest", "stay"], port):
        run_until_finished(
            config, db, at_h=150.0, interrupt=restart, plant_done=stored_at_least(db, expected)
        )
    live, replayed = live_and_replayed(db, asset_file, tmp_path)
    assert_same_twin(live, replayed)
    with open_historian(db) as historian:
        assert historian.count() == expected
        assert not historian.quarantined()


def restart(runtime: Runtime) -> Runtime:
    """Stop the runtime, let the plant run on for a few batch hours, start a new one."""
    runtime.stop()
    time.sleep(2.0)  # 20 batch hours at this speed: the new connector must backfill them
    fresh = Runtime(runtime.config, runtime.db_url)
    fresh.start()
    twin = next(iter(fresh.twins.values()))
    assert twin.resumed_from_h >= 150.0
    return fresh
