"""The history service keeps beliefs it has read and shares identical answers briefly."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pharmatwin.historian.records import Batch, Sample, TwinOutput
from pharmatwin.historian.store import Historian
from pharmatwin.historian.urls import open_historian
from pharmatwin.service.schemas.assets import SignalsOut
from pharmatwin.service.services.batches import twin_name
from pharmatwin.service.services.history import HistoryService

START = datetime(2026, 3, 1, 6, tzinfo=UTC)


def _belief(hour: int, glucose: float) -> TwinOutput:
    return TwinOutput(
        twin=twin_name("BR01"),
        batch_id="B1",
        kind="belief",
        time=START + timedelta(hours=hour),
        batch_h=float(hour),
        data={"states": {"Glc": {"mean": glucose, "p05": glucose - 1, "p95": glucose + 1}}},
    )


def _historian(tmp_path: Path) -> Historian:
    h = open_historian(f"sqlite:///{tmp_path / 'h.db'}")
    h.start_batch(Batch("B1", "BR01", "fed-batch", START))
    h.write([Sample("BR01.TT101.PV", START + timedelta(minutes=m), 36.5) for m in range(5)])
    return h


def test_beliefs_are_read_once_and_newer_ones_appended(tmp_path: Path) -> None:
    with _historian(tmp_path) as h:
        svc = HistoryService(h, reuse_s=0)
        h.write_output(_belief(1, 30.0))
        h.write_output(_belief(2, 29.0))
        first = svc.beliefs(twin_name("BR01"), "B1")
        h.write_output(_belief(3, 28.0))
        second = svc.beliefs(twin_name("BR01"), "B1")
        assert [b.batch_h for b in second] == [1.0, 2.0, 3.0]
        assert second[0] is first[0] and second[1] is first[1]  # kept, not read again
        assert svc.beliefs(twin_name("BR01"), "B2") == []


def test_identical_signal_requests_share_an_answer_within_the_reuse_window(
    tmp_path: Path,
) -> None:
    with _historian(tmp_path) as h:
        h.write_output(_belief(1, 30.0))
        shared, fresh = HistoryService(h, reuse_s=600), HistoryService(h, reuse_s=0)
        tags = ["BR01.TT101.PV"]
        a, b = (
            shared.signals("BR01", tags, None, None, None),
            fresh.signals("BR01", tags, None, None, None),
        )
        h.write_output(_belief(2, 29.0))
        assert shared.signals("BR01", tags, None, None, None) is a  # within the window
        assert fresh.signals("BR01", tags, None, None, None).estimated.batch_h == [1.0, 2.0]
        assert b.estimated.batch_h == [1.0]
        other = shared.signals("BR01", tags, START, None, None)  # another query: computed
        assert other is not a and other.estimated.batch_h == [1.0, 2.0]


def test_concurrent_identical_requests_are_computed_once(tmp_path: Path) -> None:
    with _historian(tmp_path) as h:
        h.write_output(_belief(1, 30.0))
        svc = HistoryService(h, reuse_s=600)
        computed = []
        compute = svc._signals

        def counting(*args: Any, **kwargs: Any) -> SignalsOut:
            computed.append(1)
            time.sleep(0.2)  # long enough for every thread to arrive while it runs
            return compute(*args, **kwargs)

        svc._signals = counting  # type: ignore[method-assign]
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda _: svc.signals("BR01", ["BR01.TT101.PV"], None, None, None), range(8)
                )
            )
        assert len(computed) == 1 and all(a is answers[0] for a in answers)
