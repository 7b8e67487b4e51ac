"""Tags and their history; an asset's measured signals beside its twin's estimates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import get_args

from pharmatwin.historian.queries import How
from pharmatwin.historian.records import from_us
from pharmatwin.historian.store import Historian
from pharmatwin.service.schemas.assets import Band, EstimatedOut, SeriesOut, SignalsOut, TagOut
from pharmatwin.service.schemas.common import finite
from pharmatwin.service.services.batches import current_batch, twin_name
from pharmatwin.service.services.errors import BadInputError, NotFoundError

ONE_US = timedelta(microseconds=1)


class HistoryService:
    def __init__(self, historian: Historian) -> None:
        self.historian = historian

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

    def signals(
        self,
        asset: str,
        tags: list[str],
        start: datetime | None,
        end: datetime | None,
        every: timedelta | None,
    ) -> SignalsOut:
        """The asset's measured tags and its twin's estimated states over the same window
        (the current batch's beliefs)."""
        measured = [self.series(tag, start, end, every) for tag in tags]
        batch = current_batch(self.historian, asset)
        beliefs = (
            []
            if batch is None
            else self.historian.outputs(twin_name(asset), batch.batch_id, "belief")
        )
        beliefs = [
            b
            for b in beliefs
            if (start is None or b.time >= start) and (end is None or b.time < end)
        ]
        states: dict[str, dict[str, list[float | None]]] = {}
        for b in beliefs:
            for name, stats in b.data.get("states", {}).items():
                row = states.setdefault(name, {"mean": [], "p05": [], "p95": []})
                for key in row:
                    row[key].append(stats.get(key))
        return SignalsOut(
            asset=asset,
            measured=measured,
            estimated=EstimatedOut(
                batch_id=None if batch is None else batch.batch_id,
                times=[b.time for b in beliefs],
                batch_h=[b.batch_h for b in beliefs],
                states={name: Band(**row) for name, row in states.items()},
            ),
        )
