"""Reading samples: windows, latest values, bins computed in SQL, counts.

Samples of one tag are read in time order through the (tag, time) primary key, one query per
tag, so the result is sorted by tag name then time on both backends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from pharmatwin.historian.backend import Backend
from pharmatwin.historian.checks import MAX_US, MIN_US
from pharmatwin.historian.frame import SampleFrame
from pharmatwin.historian.records import Sample, to_us

How = Literal["mean", "min", "max", "first", "last", "count"]
_AGGREGATE = {"mean": "AVG(value)", "min": "MIN(value)", "max": "MAX(value)", "count": "COUNT(*)"}
CHUNK = 500
"""Names per ``IN (...)`` list."""
_SAMPLE_COLUMNS = "time_us, value, quality, COALESCE(available_us, time_us)"


class Queries:
    """Sample queries (a part of ``Historian``)."""

    _backend: Backend

    def _lookup_ids(self, run: Any, names: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        unique = sorted(set(names))
        for i in range(0, len(unique), CHUNK):
            part = unique[i : i + CHUNK]
            marks = ", ".join("?" * len(part))
            out.update(run(f"SELECT name, id FROM tags WHERE name IN ({marks})", part))
        return out

    def _known(self, tags: Sequence[str] | None) -> list[tuple[str, int]]:
        """(name, id) of the given tags that exist (every tag if ``None``), sorted by name."""
        if tags is None:
            rows = self._backend.read("SELECT name, id FROM tags")
            return sorted((str(n), int(i)) for n, i in rows)
        if isinstance(tags, str):
            raise ValueError(f"tags: a list of tag names expected, got the string {tags!r}")
        found = self._lookup_ids(self._backend.read, list(tags))
        return sorted(found.items())

    def window(
        self,
        tags: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> SampleFrame:
        """Samples with ``start <= time < end`` (open where ``None``) of the given tags (every
        tag if ``None``; unknown names give no rows), sorted by tag then time."""
        low = MIN_US if start is None else to_us(start)
        high = MAX_US + 1 if end is None else to_us(end)
        sql = f"SELECT {_SAMPLE_COLUMNS} FROM samples "
        sql += "WHERE tag_id = ? AND time_us >= ? AND time_us < ? ORDER BY time_us"
        names: list[str] = []
        parts: list[list[tuple[Any, ...]]] = []
        for name, tag_id in self._known(tags):
            rows = self._backend.read(sql, (tag_id, low, high))
            names.extend([name] * len(rows))
            parts.append(rows)
        return _frame(names, [row for rows in parts for row in rows])

    def latest(self, tags: Sequence[str] | None = None) -> dict[str, Sample]:
        """The last sample (by time) of each of the given tags that has one."""
        sql = f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE tag_id = ? "
        sql += "ORDER BY time_us DESC LIMIT 1"
        out: dict[str, Sample] = {}
        for name, tag_id in self._known(tags):
            rows = self._backend.read(sql, (tag_id,))
            if rows:
                out[name] = _frame([name], rows).to_samples()[0]
        return out

    def resample(
        self, tag: str, start: datetime, end: datetime, every: timedelta, how: How
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """One value per bin of ``every`` from ``start`` (bins ``[b, b + every)`` up to
        ``end``): bin starts (us) and the aggregate of the bin's samples, computed in SQL.

        Empty bins are NaN (0 for ``count``). Every sample counts, whatever its quality.
        """
        if how not in get_args(How):
            raise ValueError(f"how: {how!r} is not one of {', '.join(get_args(How))}")
        step = every // timedelta(microseconds=1)
        if step <= 0:
            raise ValueError(f"every: must be positive, got {every}")
        low, high = to_us(start), to_us(end)
        if high <= low:
            raise ValueError(f"end: {end.isoformat()} is not after start {start.isoformat()}")
        ids = self._known([tag])
        if not ids:
            raise ValueError(f"tag: {tag!r} is not a tag of {self._backend.label}")
        n = math.ceil((high - low) / step)
        edges = low + step * np.arange(n, dtype=np.int64)
        values = np.zeros(n) if how == "count" else np.full(n, np.nan)
        bucket = "(time_us - ?) / ?"
        where = "WHERE tag_id = ? AND time_us >= ? AND time_us < ?"
        params: tuple[object, ...] = (low, step, ids[0][1], low, high)
        if how in _AGGREGATE:
            sql = f"SELECT {bucket} AS b, {_AGGREGATE[how]} FROM samples {where} GROUP BY b"
        else:
            order = "time_us" if how == "first" else "time_us DESC"
            sql = (
                f"SELECT b, value FROM (SELECT {bucket} AS b, value, ROW_NUMBER() OVER "
                f"(PARTITION BY {bucket} ORDER BY {order}) AS rn FROM samples {where}) AS w "
                "WHERE rn = 1"
            )
            params = (low, step, low, step, *params[2:])
        for b, v in self._backend.read(sql, params):
            values[int(b)] = float(v)
        return edges, values

    def count(self) -> int:
        """The number of stored samples."""
        return int(self._backend.read("SELECT COUNT(*) FROM samples")[0][0])


def _frame(names: list[str], rows: list[tuple[Any, ...]]) -> SampleFrame:
    if not rows:
        return SampleFrame.empty()
    t, v, q, a = zip(*rows, strict=True)
    return SampleFrame.from_columns(names, t, v, q, a)
