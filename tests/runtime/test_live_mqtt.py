"""End to end over MQTT: the virtual plant publishes Sparkplug B through Mosquitto, the
runtime's subscriber (QoS 1, persistent session) stores it, and the live twin matches
``pharmatwin twin replay`` on the recorded data. Midway the broker is killed and restarted:
the edge node's buffered data and the broker's persisted session bring every reading through,
none lost and none stored twice."""

from __future__ import annotations

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
from tests.services.mosquitto import Mosquitto, free_port, mosquitto

__all__ = ["mosquitto"]


def test_virtual_plant_over_sparkplug_to_a_live_twin(tmp_path: Path, mosquitto: Mosquitto) -> None:
    scenario_file, asset_file, start_utc = write_inputs(tmp_path)
    port = free_port()
    db = f"sqlite:///{tmp_path / 'historian.db'}"
    config = PlantConfig.model_validate(
        {
            "sources": [
                {
                    "name": "broker",
                    "kind": "mqtt",
                    "url": mosquitto.url,
                    "format": "sparkplug",
                    "client_id": "runtime-e2e",
                }
            ],
            "assets": [
                {
                    "asset": str(asset_file),
                    "source": "broker",
                    "batch": {"id": "B1", "start_utc": start_utc},
                }
            ],
        }
    )
    expected = expected_readings(scenario_file)

    def restart_broker(runtime: Runtime) -> Runtime:
        mosquitto.stop()
        mosquitto.start()
        return runtime

    # the runtime subscribes first (its persistent session then exists), then the plant starts
    runtime = Runtime(config, db)
    runtime.start()
    runtime.stop()
    args = [
        "--opcua",
        f"opc.tcp://127.0.0.1:{port}/pharmatwin/",
        "--mqtt",
        mosquitto.url,
        "--speed",
        str(SPEED),
        "--scenario",
        str(scenario_file),
        "--after-harvest",
        "stay",
    ]
    with plant_process(args, port):
        run_until_finished(
            config,
            db,
            at_h=120.0,
            interrupt=restart_broker,
            plant_done=stored_at_least(db, expected),
        )
    live, replayed = live_and_replayed(db, asset_file, tmp_path)
    assert_same_twin(live, replayed)
    with open_historian(db) as historian:
        assert historian.count() == expected
        reasons = {q.reason for q in historian.quarantined()}
    # a broker restart may redeliver messages already stored: those are quarantined as
    # repeats (with their reason), never stored twice; no data goes missing
    assert all("repeat" in r or "session" in r for r in reasons), reasons
