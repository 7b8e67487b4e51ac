"""The live stream: new samples, forecasts and alarms as Server-Sent Events.

Server-Sent Events (WHATWG HTML Living Standard, section 9.2): each message is
``event: <type>`` / ``data: <JSON>`` and a blank line; types ``sample``, ``forecast`` and
``alarm``. The stream polls the historian every ``poll_s`` seconds (reads run in a worker
thread) and sends what was stored since the client connected. Each client is bounded: at most
``MAX_PER_POLL`` samples per poll (the rest follow at the next poll: nothing is skipped), at
most ``max_events`` messages and ``max_s`` seconds per connection (an EventSource reconnects by
itself), and it stops as soon as the client disconnects. A comment line (``: keep-alive``) is
sent every ``KEEPALIVE_S`` seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio
from anyio import to_thread

from pharmatwin.historian.records import from_us, to_us
from pharmatwin.historian.store import Historian
from pharmatwin.service.schemas.common import finite, utc_text
from pharmatwin.service.services.alarms import ALARM_KINDS, alarm_id
from pharmatwin.service.services.batches import twin_name

MAX_PER_POLL = 500
"""Samples sent per client per poll, at most."""

KEEPALIVE_S = 15.0
ONE_US = timedelta(microseconds=1)


def message(kind: str, data: dict[str, Any]) -> str:
    """One SSE message of type ``kind`` with a JSON payload."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@dataclass
class Cursor:
    """What a client has been sent: last sample time per tag, last forecast per twin and
    batch, alarm ids (all in microseconds since the epoch)."""

    samples: dict[str, int] = field(default_factory=dict)
    forecasts: dict[tuple[str, str], int] = field(default_factory=dict)
    alarms: set[str] = field(default_factory=set)
    alarms_since_us: int = 0


class LiveStream:
    """One client's stream over ``historian`` (optionally of one asset's tags and twin)."""

    def __init__(self, historian: Historian, asset: str | None, poll_s: float) -> None:
        self.historian = historian
        self.asset = asset
        self.poll_s = poll_s

    def _tags(self) -> list[str]:
        tags = self.historian.tags()
        if self.asset is None:
            return [t.name for t in tags]
        return [
            t.name for t in tags if t.asset == self.asset or t.name.startswith(f"{self.asset}.")
        ]

    def _batches(self) -> list[tuple[str, str]]:
        return [
            (b.asset, b.batch_id)
            for b in self.historian.batches(self.asset)
            if b.state == "running"
        ]

    def start(self) -> Cursor:
        """The cursor at connection: everything stored so far counts as sent."""
        cursor = Cursor()
        for tag, sample in self.historian.latest(self._tags()).items():
            cursor.samples[tag] = to_us(sample.time)
        for asset, batch_id in self._batches():
            outputs = self.historian.outputs(twin_name(asset), batch_id, "forecast")
            cursor.forecasts[(asset, batch_id)] = to_us(outputs[-1].time) if outputs else 0
        for e in self.historian.events(asset=self.asset):
            if e.kind in ALARM_KINDS:
                cursor.alarms.add(alarm_id(e.source, e.time, e.subject))
                cursor.alarms_since_us = max(cursor.alarms_since_us, to_us(e.time))
        return cursor

    def poll(self, cursor: Cursor) -> list[str]:
        """Messages for what was stored since ``cursor`` (advanced in place)."""
        out: list[str] = []
        budget = MAX_PER_POLL
        latest = self.historian.latest(self._tags())
        for tag, sample in sorted(latest.items()):
            last = cursor.samples.get(tag)
            if budget <= 0 or (last is not None and to_us(sample.time) <= last):
                continue
            since = None if last is None else from_us(last) + ONE_US
            frame = self.historian.window([tag], since, None)
            n = min(len(frame), budget)
            for t, v, q in zip(
                frame.time_us[:n].tolist(),
                frame.value[:n].tolist(),
                frame.quality[:n].tolist(),
                strict=True,
            ):
                out.append(
                    message(
                        "sample",
                        {
                            "tag": tag,
                            "time": utc_text(from_us(t)),
                            "value": finite(v),
                            "quality": q,
                        },
                    )
                )
            budget -= n
            if n:
                cursor.samples[tag] = int(frame.time_us[n - 1])
        for asset, batch_id in self._batches():
            key = (asset, batch_id)
            for o in self.historian.outputs(twin_name(asset), batch_id, "forecast"):
                if to_us(o.time) > cursor.forecasts.get(key, 0):
                    out.append(
                        message(
                            "forecast",
                            {
                                "asset": asset,
                                "batch_id": batch_id,
                                "time": utc_text(o.time),
                                "batch_h": o.batch_h,
                                "data": o.data,
                            },
                        )
                    )
                    cursor.forecasts[key] = to_us(o.time)
        since = from_us(cursor.alarms_since_us)
        for e in self.historian.events(asset=self.asset, since=since):
            ident = alarm_id(e.source, e.time, e.subject)
            if e.kind not in ALARM_KINDS or ident in cursor.alarms:
                continue
            cursor.alarms.add(ident)
            cursor.alarms_since_us = max(cursor.alarms_since_us, to_us(e.time))
            out.append(
                message(
                    "alarm",
                    {
                        "id": ident,
                        "kind": e.kind,
                        "asset": e.asset,
                        "batch_id": e.batch_id,
                        "time": utc_text(e.time),
                        "subject": e.subject,
                        "message": e.message,
                        "data": e.data,
                    },
                )
            )
        return out

    async def events(
        self,
        disconnected: Callable[[], Awaitable[bool]],
        max_events: int,
        max_s: float,
    ) -> AsyncIterator[str]:
        """The SSE text of this client's stream, until a bound is reached or it leaves."""
        cursor = await to_thread.run_sync(self.start)
        yield ": connected\n\n"
        sent = 0
        began = last_beat = time.monotonic()
        while sent < max_events and time.monotonic() - began < max_s:
            if await disconnected():
                return
            for text in await to_thread.run_sync(self.poll, cursor):
                yield text
                sent += 1
                if sent >= max_events:
                    return
            if time.monotonic() - last_beat >= KEEPALIVE_S:
                last_beat = time.monotonic()
                yield ": keep-alive\n\n"
            await anyio.sleep(self.poll_s)
