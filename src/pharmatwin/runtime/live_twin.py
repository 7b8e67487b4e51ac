"""A bioreactor twin kept live from the historian.

Each poll reads the batch's samples from the historian, works out the whole batch hours whose
data are complete, and steps the twin through them (``TwinSession.step``), writing what it
produced back to the historian: a belief every hour, a forecast at the twin's cadence (with the
ranked corrective actions when there are some), and alarm, alarm-cleared and sensor-fault events.

An hour is complete when every online signal has a sample at least ``LAG_H`` past it (the feed
and base flows are interpolated from totalizers at the hour's edge), or when any signal is
``MAX_WAIT_H`` past it (a silent instrument does not stop the twin), and the last hour once
every signal has reached harvest or the batch is ended in the historian. Because every step depends
only on the data up to its hour and on the twin's seed, a runtime that restarts simply steps the
batch again from its stored data: it reaches the same state and rewrites the same outputs, which
the historian stores once (all twin outputs and events are idempotent).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from pharmatwin.connectors.tagmap import TagMapping
from pharmatwin.equipment.bioreactor.sensors import ONLINE
from pharmatwin.forecasting.alarms import Alarm
from pharmatwin.historian.records import Batch, Event, Sample, TwinOutput, from_us, to_us
from pharmatwin.runtime.asset import Asset
from pharmatwin.runtime.bioreactor_twin import ESTIMATED, StepResult, TwinSession
from pharmatwin.runtime.plant_record import PlantRecord
from pharmatwin.runtime.twin_documents import (
    alarm_document,
    belief_document,
    forecast_document,
    ranking_document,
)

LAG_H = 0.1
"""Data needed past an hour before the twin steps it, h (6 min of batch time)."""

MAX_WAIT_H = 1.0
"""A signal silent this long past an hour no longer holds the twin back, h."""

US_PER_H = 3_600_000_000
"""Microseconds in an hour."""

LATE_H = 12.0
"""How late a sample may arrive (behind the newest one) and still reach a running twin, h:
laboratory titres arrive 6 h after their sample. Later ones are stored, and a restarted twin
reads them."""


class TwinStore(Protocol):
    """What the live twin needs of the historian."""

    def batch_samples(self, batch_id: str, tags: Sequence[str] | None = None) -> Any: ...
    def window(
        self, tags: Sequence[str] | None, start: datetime | None, end: datetime | None
    ) -> Any: ...
    def latest(self, tags: Sequence[str] | None = None) -> dict[str, Sample]: ...
    def write_output(self, out: TwinOutput) -> None: ...
    def add_event(self, event: Event) -> None: ...
    def set_checkpoint(self, name: str, data: dict[str, Any]) -> None: ...
    def checkpoint(self, name: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Progress:
    """Where a live twin stands: the last hour stepped, and the hour the data allow."""

    hour: float
    ready_h: float
    finished: bool


class LiveTwin:
    """One asset's twin over one batch, stepped from the historian's data."""

    def __init__(self, asset: Asset, batch: Batch, store: TwinStore, source_prefix: str = ""):
        self.asset = asset
        self.batch = batch
        self.store = store
        self.name = f"{asset.name}.twin"
        self.twin = asset.build_twin()
        self.session: TwinSession = self.twin.session()
        mappings: list[TagMapping] = asset.tag_map(source_prefix)
        self.signal_of = {m.tag: m.signal or m.tag for m in mappings}
        online = {s.tag for s in ONLINE}
        self.online_tags = [m.tag for m in mappings if (m.signal or m.tag) in online]
        self.start_us = to_us(batch.start)
        self._rows: _Rows | None = None
        self.stepping = threading.Lock()
        """Held while the session steps an hour: readers (what-if) take a consistent view."""
        resumed = store.checkpoint(self.checkpoint_name)
        self.resumed_from_h = float(resumed["hour"]) if resumed else 0.0

    @property
    def checkpoint_name(self) -> str:
        return f"twin:{self.name}:{self.batch.batch_id}"

    def poll(self) -> list[StepResult]:
        """Step every hour whose data are complete; returns what each step produced."""
        if self.session.finished:
            return []
        ready = self.ready_hour()
        hours = [h for h in self.session.hours() if h <= ready]
        if not hours:
            return []
        record = self.record(self._refresh())
        results = []
        for hour in hours:
            with self.stepping:
                result = self.session.step(hour, record)
            self._write(result)
            results.append(result)
        self.store.set_checkpoint(
            self.checkpoint_name, {"hour": self.session.hour, "finished": self.session.finished}
        )
        return results

    def ready_hour(self) -> float:
        """The last whole batch hour whose online data are complete."""
        if self.batch.end is not None:
            return math.inf
        latest = self.store.latest(self.online_tags)
        if not latest:
            return -math.inf
        # whole microseconds since the batch start: no floating-point slip at an hour's edge
        elapsed = [to_us(s.time) - self.start_us for s in latest.values()]
        slowest = min(elapsed) if len(latest) == len(self.online_tags) else None
        if slowest is not None and slowest >= round((self.session.end - LAG_H) * US_PER_H):
            return math.inf  # every signal has reached harvest (the last reading may fall
            # a sampling period before it)
        ready = (max(elapsed) - round(MAX_WAIT_H * US_PER_H)) // US_PER_H
        if slowest is not None:
            ready = max(ready, (slowest - round(LAG_H * US_PER_H)) // US_PER_H)
        return float(ready)

    def _refresh(self) -> _Rows:
        """The batch's samples: all of them the first time, then only the last
        ``LATE_H`` hours again (what arrived since, late laboratory results included)."""
        tags = list(self.signal_of)
        if self._rows is None:
            self._rows = _Rows.of(self.store.batch_samples(self.batch.batch_id, tags))
        else:
            since = self._rows.last_us - round(LATE_H * 3.6e9)
            fresh = _Rows.of(self.store.window(tags, from_us(since), None))
            self._rows = self._rows.before(since).then(fresh)
        return self._rows

    def record(self, frame: _Rows) -> PlantRecord:
        """The batch's samples as the twin reads them (tags renamed to the twin's signals)."""
        rows: dict[str, list[tuple[float, float, float]]] = {}
        hours = (np.asarray(frame.time_us, dtype=np.int64) - self.start_us) / 3.6e9
        available = (np.asarray(frame.available_us, dtype=np.int64) - self.start_us) / 3.6e9
        tags = np.asarray(frame.tag)
        values = np.asarray(frame.value, dtype=float)
        for tag in np.unique(tags):
            signal = self.signal_of.get(str(tag))
            if signal is None:
                continue
            pick = tags == tag
            rows[signal] = list(
                zip(
                    hours[pick].tolist(),
                    available[pick].tolist(),
                    values[pick].tolist(),
                    strict=True,
                )
            )
        return PlantRecord.from_rows(rows, self.batch.start.isoformat())

    def _at(self, hour: float) -> datetime:
        return self.batch.start + timedelta(microseconds=round(hour * 3.6e9))

    def _write(self, result: StepResult) -> None:
        batch_id = self.batch.batch_id
        belief = self.session.tracker.belief
        self.store.write_output(
            TwinOutput(
                twin=self.name,
                batch_id=batch_id,
                kind="belief",
                time=self._at(result.hour),
                batch_h=result.hour,
                data=belief_document(
                    self.twin.model,
                    belief,
                    ESTIMATED,
                    self.session.current.inputs_at(belief.t),
                ),
            )
        )
        if result.forecast is not None:
            document = forecast_document(result.forecast)
            if result.recommendations:
                document["recommendations"] = ranking_document(result.hour, result.recommendations)
            self.store.write_output(
                TwinOutput(
                    twin=self.name,
                    batch_id=batch_id,
                    kind="forecast",
                    time=self._at(result.hour),
                    batch_h=result.hour,
                    data=document,
                )
            )
        for alarm in result.alarms:
            self.store.add_event(self._alarm_event(alarm))
        for alarm in self.session.policy.timeline:
            if alarm.cleared_at_h == result.hour:
                self.store.add_event(
                    Event(
                        kind="alarm_cleared",
                        source=self.name,
                        time=self._at(result.hour),
                        subject=alarm.spec,
                        message=f"{alarm.spec}: cleared at {result.hour:g} h",
                        asset=self.asset.name,
                        batch_id=batch_id,
                        data=alarm_document(alarm),
                    )
                )

    def _alarm_event(self, alarm: Alarm) -> Event:
        if alarm.kind == "sensor":
            message = f"{alarm.spec}: sensor fault found at {alarm.raised_at_h:g} h"
        elif alarm.kind == "multivariate":  # no forecast behind it: the evidence says why
            evidence = "; ".join(alarm.evidence[:2])
            message = f"{alarm.spec}: multivariate alarm at {alarm.raised_at_h:g} h: {evidence}"
        else:
            message = (
                f"{alarm.spec}: P(fail) {alarm.probability:.0%} at {alarm.raised_at_h:g} h, "
                f"violation predicted at {alarm.predicted_violation_h:.0f} h"
            )
        return Event(
            kind="sensor_fault" if alarm.kind == "sensor" else "alarm",
            source=self.name,
            time=self._at(alarm.raised_at_h),
            subject=alarm.spec,
            message=message,
            asset=self.asset.name,
            batch_id=self.batch.batch_id,
            data=alarm_document(alarm),
        )


@dataclass(frozen=True)
class _Rows:
    """A batch's samples as columns, in time order within each tag."""

    tag: Any
    time_us: Any
    value: Any
    available_us: Any

    @classmethod
    def of(cls, frame: Any) -> _Rows:
        """From a historian ``SampleFrame``."""
        return cls(
            np.asarray(frame.tag, dtype=object),
            np.asarray(frame.time_us, dtype=np.int64),
            np.asarray(frame.value, dtype=float),
            np.asarray(frame.available_us, dtype=np.int64),
        )

    @property
    def last_us(self) -> int:
        return int(self.time_us.max()) if self.time_us.size else 0

    def before(self, time_us: int) -> _Rows:
        keep = self.time_us < time_us
        return _Rows(self.tag[keep], self.time_us[keep], self.value[keep], self.available_us[keep])

    def then(self, other: _Rows) -> _Rows:
        tag = np.concatenate([self.tag, other.tag])
        time_us = np.concatenate([self.time_us, other.time_us])
        order = np.lexsort((time_us, tag.astype(str)))
        return _Rows(
            tag[order],
            time_us[order],
            np.concatenate([self.value, other.value])[order],
            np.concatenate([self.available_us, other.available_us])[order],
        )
