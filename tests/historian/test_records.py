"""Batches, events, twin outputs and checkpoints: idempotent writes, filters, order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pharmatwin.historian.errors import UnknownBatch
from pharmatwin.historian.records import Batch, Event, TwinOutput
from pharmatwin.historian.store import Historian

T0 = datetime(2026, 1, 5, 6, tzinfo=UTC)


def test_batches_start_idempotently_end_and_list_by_asset(historian: Historian) -> None:
    b1 = Batch("B1", "br-1", "cho-14d", T0)
    b2 = Batch("B2", "br-2", "cho-14d", T0 + timedelta(days=1))
    b0 = Batch("B0", "br-1", "cho-14d", T0 - timedelta(days=20), T0 - timedelta(days=6), "complete")
    for batch in (b1, b1, b2, b0):
        historian.start_batch(batch)
    assert historian.batches() == [b0, b1, b2]
    assert historian.batches("br-1") == [b0, b1]
    assert historian.batch("B9") is None
    end = T0 + timedelta(days=14)
    historian.end_batch("B1", end, "complete")
    assert historian.batch("B1") == Batch("B1", "br-1", "cho-14d", T0, end, "complete")
    historian.start_batch(b1)  # a restarted runtime: still complete
    assert historian.batch("B1") == Batch("B1", "br-1", "cho-14d", T0, end, "complete")


def test_batch_errors_name_the_field(historian: Historian) -> None:
    historian.start_batch(Batch("B1", "br-1", "cho", T0))
    with pytest.raises(ValueError, match="batch_id: 'B1' is stored for asset 'br-1'"):
        historian.start_batch(Batch("B1", "br-2", "cho", T0))
    with pytest.raises(ValueError, match="state"):
        historian.end_batch("B1", T0 + timedelta(days=1), "done")
    with pytest.raises(ValueError, match=r"end: .* is before"):
        historian.end_batch("B1", T0 - timedelta(days=1), "aborted")
    with pytest.raises(UnknownBatch, match="B7"):
        historian.end_batch("B7", T0, "aborted")
    with pytest.raises(ValueError, match="state"):
        historian.start_batch(Batch("B2", "br-1", "cho", T0, state="paused"))


def test_events_are_idempotent_and_filtered(historian: Historian) -> None:
    alarm = Event(
        "alarm", "twin:br-1", T0, "titre", "titre forecast below 3 g/L", "br-1", "B1", {"p": 0.4}
    )
    gap = Event(
        "connector_gap", "opcua", T0 - timedelta(hours=1), "plant", "no data for 5 min", "br-1"
    )
    other = Event("alarm", "twin:br-2", T0 + timedelta(hours=1), "DO", "DO low", "br-2", "B2")
    for event in (alarm, gap, alarm, other, alarm):
        historian.add_event(event)
    assert historian.events() == [gap, alarm, other]
    assert historian.events(kind="alarm") == [alarm, other]
    assert historian.events(asset="br-1") == [gap, alarm]
    assert historian.events(batch_id="B2") == [other]
    assert historian.events(since=T0) == [alarm, other]
    assert historian.events(kind="alarm", asset="br-1", since=T0 + timedelta(seconds=1)) == []
    changed = Event("alarm", "twin:br-1", T0, "titre", "another message")
    historian.add_event(changed)
    assert historian.events(kind="alarm")[0].message == alarm.message  # the first one is kept


def test_event_data_must_be_json(historian: Historian) -> None:
    with pytest.raises(ValueError, match="data: cannot be stored as JSON"):
        historian.add_event(Event("alarm", "t", T0, "x", "m", data={"p": float("nan")}))
    historian.add_event(
        Event("alarm", "t", T0, "x", "m", data={"q": np.array([0.1, 0.5]), "n": np.int64(3)})
    )
    assert historian.events()[0].data == {"q": [0.1, 0.5], "n": 3}


def test_twin_outputs_are_idempotent_and_sorted_by_time(historian: Historian) -> None:
    outs = [
        TwinOutput("cho-twin", "B1", kind, T0 + timedelta(hours=h), h, {"titre": [1.0 + h, 2.0]})
        for h in (2.0, 0.0, 1.0)
        for kind in ("forecast", "belief")
    ]
    for out in outs + outs:
        historian.write_output(out)
    historian.write_output(TwinOutput("cho-twin", "B2", "belief", T0, 0.0, {}))
    beliefs = historian.outputs("cho-twin", "B1", "belief")
    assert [o.batch_h for o in beliefs] == [0.0, 1.0, 2.0]
    assert beliefs[1] == TwinOutput(
        "cho-twin", "B1", "belief", T0 + timedelta(hours=1), 1.0, {"titre": [2.0, 2.0]}
    )
    assert len(historian.outputs("cho-twin", "B1")) == 6
    assert historian.outputs("other", "B1") == []
    newest = historian.latest_output("cho-twin", "B1", "forecast")
    assert newest is not None and newest.batch_h == 2.0 and newest.data == {"titre": [3.0, 2.0]}
    assert historian.latest_output("cho-twin", "B3", "forecast") is None
    with pytest.raises(ValueError, match="kind"):
        historian.write_output(TwinOutput("t", "B1", "guess", T0, 0.0, {}))  # type: ignore[arg-type]


def test_checkpoints_store_and_replace_documents(historian: Historian) -> None:
    assert historian.checkpoint("opcua:plant") is None
    historian.set_checkpoint("opcua:plant", {"since": {"pH": "2026-01-05T06:00:00Z"}})
    historian.set_checkpoint("runtime:B1", {"step": 12, "t_h": 12.5})
    historian.set_checkpoint("opcua:plant", {"since": {"pH": "2026-01-05T07:00:00Z"}, "n": [1, 2]})
    assert historian.checkpoint("opcua:plant") == {
        "since": {"pH": "2026-01-05T07:00:00Z"},
        "n": [1, 2],
    }
    assert historian.checkpoint("runtime:B1") == {"step": 12, "t_h": 12.5}
    with pytest.raises(ValueError, match="name"):
        historian.set_checkpoint("", {})
