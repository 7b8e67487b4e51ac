"""Tags and their history; an asset's measured signals beside its twin's estimates."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import get_args

from pharmatwin.historian.queries import How
from pharmatwin.historian.records import TwinOutput, from_us
from pharmatwin.historian.store import Historian
from pharmatwin.service.schemas.assets import Band, EstimatedOut, SeriesOut, SignalsOut, TagOut
from pharmatwin.service.schemas.common import finite
from pharmatwin.service.services.batches import current_batch, twin_name
from pharmatwin.service.services.errors import BadInputError, NotFoundError

ONE_US = timedelta(microseconds=1)
BELIEF_BATCHES = 8
"""Batches whose beliefs are kept in memory (the most recently read)."""
MAX_FLIGHTS = 256
"""Per-query locks kept before the idle ones are dropped."""


@dataclass
class _Answer:
    """A signals answer computed at ``at`` (monotonic s), and its JSON once asked for."""

    at: float
    answer: SignalsOut
    _json: bytes | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def json(self) -> bytes:
        with self._lock:
            if self._json is None:
                self._json = self.answer.model_dump_json().encode()
            return self._json


class HistoryService:
    def __init__(self, historian: Historian, reuse_s: float = 2.0) -> None:
        self.historian = historian
        self.reuse_s = reuse_s
        self._lock = threading.Lock()
        self._beliefs: dict[tuple[str, str], list[TwinOutput]] = {}
        self._answers: dict[tuple[object, ...], _Answer] = {}
        self._flights: dict[tuple[object, ...], threading.Lock] = {}

    def tags(self) -> list[TagOut]:
        return [
            TagOut(name=t.name, unit=t.unit, asset=t.asset, description=t.description)
            for t in self.historian.tags()
        ]

    def series(
        self,
        tag: str,
        start: datetime | None,
        end: datetime | None,
        every: timedelta | None,
        how: str = "mean",
    ) -> SeriesOut:
        """Samples of ``tag`` with ``start <= time < end``; with ``every``, one ``how``
        aggregate per bin from ``start`` (required then) to ``end`` (default: just after the
        latest sample)."""
        info = {t.name: t for t in self.historian.tags()}.get(tag)
        if info is None:
            raise NotFoundError(f"tag: no tag {tag!r}")
        if start is not None and end is not None and end <= start:
            raise BadInputError("end", f"{end.isoformat()} is not after start {start.isoformat()}")
        if every is None:
            frame = self.historian.window([tag], start, end)
            return SeriesOut(
                tag=tag,
                unit=info.unit,
                how=None,
                every_s=None,
                times=[from_us(t) for t in frame.time_us.tolist()],
                values=[finite(v) for v in frame.value.tolist()],
            )
        if how not in get_args(How):
            raise BadInputError("how", f"{how!r} is not one of {', '.join(get_args(How))}")
        if every <= timedelta(0):
            raise BadInputError("every", f"must be positive, got {every}")
        if start is None:
            raise BadInputError("start", "required when every is given")
        if end is None:
            latest = self.historian.latest([tag]).get(tag)
            end = latest.time + ONE_US if latest is not None else start + every
            end = max(end, start + ONE_US)
        edges, values = self.historian.resample(tag, start, end, every, how)  # type: ignore[arg-type]
        return SeriesOut(
            tag=tag,
            unit=info.unit,
            how=how,
            every_s=every.total_seconds(),
            times=[from_us(t) for t in edges.tolist()],
            values=[finite(v) for v in values.tolist()],
        )

    def beliefs(self, twin: str, batch_id: str) -> list[TwinOutput]:
        """Every stored belief of ``twin`` for a batch, by time. Beliefs are never changed once
        written, so the ones already read are kept and only newer ones are fetched."""
        key = (twin, batch_id)
        with self._lock:
            known = self._beliefs.get(key, [])
        newer = self.historian.outputs(
            twin, batch_id, "belief", after=known[-1].time if known else None
        )
        if not newer:
            return known
        merged = known + newer
        with self._lock:
            self._beliefs.pop(key, None)
            self._beliefs[key] = merged
            while len(self._beliefs) > BELIEF_BATCHES:
                self._beliefs.pop(next(iter(self._beliefs)))
        return merged

    def signals(
        self,
        asset: str,
        tags: list[str],
        start: datetime | None,
        end: datetime | None,
        every: timedelta | None,
        *,
        estimates: dict[str, str] | None = None,
    ) -> SignalsOut:
        """The asset's measured tags and its twin's estimates over the same window (the
        current batch's beliefs): every state, and every model output; ``estimates`` maps a
        measured tag to the output that predicts it. Identical requests within
        ``reuse_s`` seconds share one answer (dashboards poll the same view)."""
        return self._shared(asset, tags, start, end, every, estimates or {}).answer

    def signals_json(
        self,
        asset: str,
        tags: list[str],
        start: datetime | None,
        end: datetime | None,
        every: timedelta | None,
        *,
        estimates: dict[str, str] | None = None,
    ) -> bytes:
        """``signals`` as JSON, serialized once per shared answer (a 14-day batch is ~1 MB)."""
        return self._shared(asset, tags, start, end, every, estimates or {}).json()

    def _shared(  # noqa: PLR0917 - the query's fields, as in signals()
        self,
        asset: str,
        tags: list[str],
        start: datetime | None,
        end: datetime | None,
        every: timedelta | None,
        estimates: dict[str, str],
    ) -> _Answer:
        key = (asset, tuple(tags), start, end, every, tuple(sorted(estimates.items())))
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:  # one computation per query at a time; the others wait and share it
            with self._lock:
                hit = self._answers.get(key)
            if hit is not None and time.monotonic() - hit.at < self.reuse_s:
                return hit
            answer = _Answer(
                time.monotonic(),
                self._signals(
                    asset, tags=tags, start=start, end=end, every=every, estimates=estimates
                ),
            )
            with self._lock:
                self._answers = {
                    k: v for k, v in self._answers.items() if answer.at - v.at < self.reuse_s
                }
                if self.reuse_s > 0:
                    self._answers[key] = answer
                if len(self._flights) > MAX_FLIGHTS:
                    self._flights = {k: v for k, v in self._flights.items() if v.locked()}
        return answer

    def _signals(
        self,
        asset: str,
        *,
        tags: list[str],
        start: datetime | None,
        end: datetime | None,
        every: timedelta | None,
        estimates: dict[str, str],
    ) -> SignalsOut:
        measured = [self.series(tag, start, end, every) for tag in tags]
        batch = current_batch(self.historian, asset)
        beliefs = [] if batch is None else self.beliefs(twin_name(asset), batch.batch_id)
        beliefs = [
            b
            for b in beliefs
            if (start is None or b.time >= start) and (end is None or b.time < end)
        ]
        return SignalsOut(
            asset=asset,
            measured=measured,
            estimated=EstimatedOut(
                batch_id=None if batch is None else batch.batch_id,
                times=[b.time for b in beliefs],
                batch_h=[b.batch_h for b in beliefs],
                states=_bands(beliefs, "states"),
                outputs=_bands(beliefs, "outputs"),
            ),
            estimates={tag: out for tag, out in estimates.items() if tag in tags},
        )


def _bands(beliefs: list[TwinOutput], section: str) -> dict[str, Band]:
    """Mean and 5-95 % of each variable in ``section`` of the belief documents, over time
    (``None`` where a belief lacks the variable: documents stored before it was added)."""
    names: dict[str, None] = {}
    for b in beliefs:
        names.update(dict.fromkeys(b.data.get(section, {})))
    out = {}
    for name in names:
        rows = [b.data.get(section, {}).get(name, {}) for b in beliefs]
        out[name] = Band(
            mean=[r.get("mean") for r in rows],
            p05=[r.get("p05") for r in rows],
            p95=[r.get("p95") for r in rows],
        )
    return out
