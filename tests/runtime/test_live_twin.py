"""The live twin, fed from the historian as data arrive, matches the replay of the same data,
and a twin that restarts mid-batch resumes without losing or double-counting anything."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from pharmatwin.core.utc import parse_utc
from pharmatwin.historian.records import Batch, to_us
from pharmatwin.historian.store import Historian
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.live_twin import LiveTwin
from pharmatwin.runtime.plant_export import sensor_table
from pharmatwin.runtime.plant_record import PlantRecord
from tests.conftest import plant_run

SCENARIO = "ph-probe-drift"
START = "2026-01-05T06:00:00Z"


def _asset():  # type: ignore[no-untyped-def]
    asset = load_asset("br01")
    return asset.model_copy(update={"twin": asset.twin.model_copy(update={"members": 60})})


def _store_until(historian: Historian, table, start_us: int, until_h: float, after_h: float):  # type: ignore[no-untyped-def]
    """Write the samples that became available in (after_h, until_h]."""
    pick = (table.available_h > after_h) & (table.available_h <= until_h)
    historian.write_columns(
        table.tag[pick].astype(str),
        start_us + np.round(table.time_h[pick] * 3.6e9).astype(np.int64),
        table.value[pick],
        available_us=start_us + np.round(table.available_h[pick] * 3.6e9).astype(np.int64),
    )


def _alarms(events):  # type: ignore[no-untyped-def]
    return [(e.data["raised_at_h"], e.data["spec"], e.data["probability"]) for e in events]


def test_live_twin_matches_replay_and_resumes_after_a_restart(tmp_path: Path) -> None:
    run = plant_run(SCENARIO)
    table = sensor_table(run, START, "B1")
    asset = _asset()
    replayed = asset.build_twin().replay(PlantRecord.from_run(run))
    start = parse_utc(START)
    start_us = to_us(start)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    batch = Batch("B1", asset.name, asset.recipe.name, start)
    with open_historian(url) as historian:
        historian.start_batch(batch)
        twin = LiveTwin(asset, batch, historian)
        previous = 0.0
        for until in np.arange(20.0, 170.0, 20.0):  # data arrive in 20-hour bursts
            _store_until(historian, table, start_us, until, previous)
            previous = until
            twin.poll()
        stepped_before_restart = twin.session.hour
        assert stepped_before_restart > 100
    # the runtime dies and comes back: a new twin over the same historian
    with open_historian(url) as historian:
        twin = LiveTwin(asset, batch, historian)
        assert twin.resumed_from_h == stepped_before_restart
        _store_until(historian, table, start_us, 1e9, previous)
        historian.end_batch("B1", start + timedelta(hours=float(table.time_h.max())), "complete")
        twin = LiveTwin(asset, historian.batch("B1") or batch, historian)
        twin.poll()
        assert twin.session.finished
        live = twin.session.result()
        events = historian.events(batch_id="B1")
        beliefs = historian.outputs(twin.name, "B1", "belief")
        forecasts = historian.outputs(twin.name, "B1", "forecast")
    assert replayed.alarms, "the scenario must raise alarms for this test to mean anything"
    expected = [(a.raised_at_h, a.spec, round(a.probability, 4)) for a in replayed.alarms]
    assert _alarms([e for e in events if e.kind in ("alarm", "sensor_fault")]) == expected
    assert [(a.raised_at_h, a.spec) for a in live.alarms] == [e[:2] for e in expected]
    final_live, final_replay = live.forecasts[-1], replayed.forecasts[-1]
    assert final_live.t == final_replay.t
    # Stored times are whole microseconds, so a sample can move by up to 0.5 us: the hourly
    # input means shift at the 1e-7 level. 1e-5 is ten times below the forecast's own
    # integration tolerance (forecasting.forecast.FORECAST_RTOL = 1e-4).
    np.testing.assert_allclose(final_live.bands, final_replay.bands, rtol=1e-5)
    # nothing counted twice: one belief per hour, one forecast per forecast time
    hours = [o.batch_h for o in beliefs]
    assert hours == sorted(set(hours)) == [float(h) for h in range(1, len(hours) + 1)]
    assert [o.batch_h for o in forecasts] == [fc.t for fc in replayed.forecasts]
    assert forecasts[-1].data["cqa"]["titre"]["p_fail"] == pytest.approx(
        final_replay.spec("titre").p_fail, abs=1e-4
    )


def test_an_hour_is_ready_once_every_signal_is_six_minutes_past_it(tmp_path: Path) -> None:
    asset = _asset()
    start = parse_utc(START)
    batch = Batch("B2", asset.name, asset.recipe.name, start)
    with open_historian(f"sqlite:///{tmp_path / 'h.db'}") as historian:
        historian.start_batch(batch)
        twin = LiveTwin(asset, batch, historian)
        assert twin.ready_hour() == -np.inf  # nothing stored yet

        def store(tags: list[str], hours: float) -> None:
            time_us = to_us(start + timedelta(hours=hours))
            historian.write_columns(tags, np.full(len(tags), time_us), np.ones(len(tags)))

        store(twin.online_tags, 4.1)  # 4.1 h is 4 h and 6 min exactly, in microseconds
        assert twin.ready_hour() == 4.0
        store(twin.online_tags[:1], 5.5)  # one signal ahead: the others hold the twin back
        assert twin.ready_hour() == 4.0
        store(twin.online_tags[:1], 6.0)  # ... until it is an hour past the next one
        assert twin.ready_hour() == 5.0
