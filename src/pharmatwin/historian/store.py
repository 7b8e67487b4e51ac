"""The historian: tags and time-series samples of a plant, in SQLite or PostgreSQL.

Writes are idempotent: a sample whose tag and time are stored with the same value and quality
is a duplicate (stored once); with another value it is quarantined with the reason, never
written over the stored one. Non-finite values and unknown quality bytes are quarantined too.
A sample of a tag the historian does not know creates the tag with an empty unit (call
``ensure_tags`` first to record units, assets and descriptions). Each write is one transaction.

Thread safety: a ``Historian`` may be shared between threads (its calls are serialized on one
connection); open one per thread for parallel work. Not shareable across processes (fork).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pharmatwin.historian.backend import Backend, Conflict, SampleRows, Tx
from pharmatwin.historian.checks import (
    SAMPLE_SOURCE,
    Columns,
    check_columns,
    conflict_reason,
    raw_text,
)
from pharmatwin.historian.frame import SampleFrame
from pharmatwin.historian.logbook import Logbook
from pharmatwin.historian.queries import CHUNK, Queries
from pharmatwin.historian.records import (
    QUALITY_GOOD,
    Quarantined,
    Sample,
    TagInfo,
    WriteResult,
    from_us,
    to_us,
)


class Historian(Logbook, Queries):
    """Samples, tags, quarantine, batches, events, twin outputs and checkpoints of one
    database. Open one with ``pharmatwin.historian.urls.open_historian``."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._ids: dict[str, int] = {}

    @property
    def label(self) -> str:
        """The database, for messages."""
        return self._backend.label

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._backend.dialect

    def close(self) -> None:
        """Close the connection."""
        self._backend.close()

    def __enter__(self) -> Historian:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # tags ---------------------------------------------------------------------------------

    def ensure_tags(self, tags: list[TagInfo]) -> None:
        """Create missing tags; fill an empty unit, asset or description of a stored one.

        Raises ``ValueError`` if a tag's unit differs from its stored (non-empty) unit: a tag
        keeps one unit for all its samples.
        """
        for tag in tags:
            if not tag.name or "\x00" in tag.name:
                raise ValueError(f"name: {tag.name!r} is not a tag name (empty or with NUL)")

        def work(tx: Tx) -> None:
            stored = self._stored_tags(tx, [t.name for t in tags])
            for tag in tags:
                old = stored.get(tag.name)
                if old is None:
                    tx.run(
                        "INSERT INTO tags (name, unit, asset, description) VALUES (?, ?, ?, ?)",
                        (tag.name, tag.unit, tag.asset, tag.description),
                    )
                    stored[tag.name] = tag
                    continue
                if old.unit and tag.unit and old.unit != tag.unit:
                    raise ValueError(
                        f"unit: tag {tag.name!r} is stored in {old.unit!r}, not {tag.unit!r}; "
                        "a tag keeps one unit (create a new tag for the new unit)"
                    )
                new = TagInfo(
                    tag.name,
                    tag.unit or old.unit,
                    tag.asset or old.asset,
                    tag.description or old.description,
                )
                if new != old:
                    tx.run(
                        "UPDATE tags SET unit = ?, asset = ?, description = ? WHERE name = ?",
                        (new.unit, new.asset, new.description, new.name),
                    )
                    stored[tag.name] = new

        self._backend.write(work)

    def tags(self) -> list[TagInfo]:
        """Every tag, sorted by name."""
        rows = self._backend.read("SELECT name, unit, asset, description FROM tags")
        return sorted((TagInfo(*row) for row in rows), key=lambda t: t.name)

    def _stored_tags(self, tx: Tx, names: Sequence[str]) -> dict[str, TagInfo]:
        out: dict[str, TagInfo] = {}
        unique = sorted(set(names))
        for i in range(0, len(unique), CHUNK):
            part = unique[i : i + CHUNK]
            marks = ", ".join("?" * len(part))
            sql = f"SELECT name, unit, asset, description FROM tags WHERE name IN ({marks})"
            out.update((row[0], TagInfo(*row)) for row in tx.run(sql, part))
        return out

    def _new_ids(self, tx: Tx, names: set[str]) -> dict[str, int]:
        """Ids of tags not yet cached, creating unknown tags (unit ""), inside ``tx``."""
        missing = sorted(names - self._ids.keys())
        if not missing:
            return {}
        found = self._lookup_ids(tx.run, missing)
        absent = [name for name in missing if name not in found]
        if absent:
            tx.run_many(
                "INSERT INTO tags (name, unit, asset, description) VALUES (?, '', '', '') "
                "ON CONFLICT DO NOTHING",
                ((name,) for name in absent),
            )
            found.update(self._lookup_ids(tx.run, absent))
        return found

    # writes -------------------------------------------------------------------------------

    def write(self, samples: list[Sample], source: str = SAMPLE_SOURCE) -> WriteResult:
        """Store samples (see the module docstring); ``source`` names the sender in the
        quarantine."""
        tags: list[str] = []
        times: list[int] = []
        values: list[float] = []
        qualities: list[int] = []
        available: list[int] = []
        rejected: list[Quarantined] = []
        for sample in samples:
            try:
                t = to_us(sample.time)
                a = t if sample.available is None else to_us(sample.available)
                v, q = float(sample.value), int(sample.quality)
            except (TypeError, ValueError, OverflowError) as exc:
                rejected.append(
                    Quarantined(source, f"sample: {exc}", repr(sample.value), str(sample.tag))
                )
                continue
            tags.append(sample.tag)
            times.append(t)
            values.append(v)
            qualities.append(q)
            available.append(a)
        columns = check_columns(
            tags,
            np.array(times, dtype=np.int64),
            np.array(values, dtype=np.float64),
            np.array(qualities, dtype=np.int64),
            np.array(available, dtype=np.int64),
            source=source,
        )
        columns.rejected[:0] = rejected
        return self._store(columns, source)

    def write_columns(
        self,
        tag: str | Sequence[str] | NDArray[Any],
        time_us: NDArray[np.int64],
        value: NDArray[np.float64],
        quality: NDArray[np.integer[Any]] | int = QUALITY_GOOD,
        available_us: NDArray[np.int64] | None = None,
        *,
        source: str = SAMPLE_SOURCE,
    ) -> WriteResult:
        """Store columns of samples (the fast path; same rules as ``write``).

        ``tag`` is one name per row (or a single name for all rows), ``time_us`` and
        ``available_us`` microseconds since the Unix epoch (UTC).
        """
        columns = check_columns(tag, time_us, value, quality, available_us, source=source)
        return self._store(columns, source)

    def _store(self, columns: Columns, source: str) -> WriteResult:
        names = set(columns.tag)

        def work(tx: Tx) -> tuple[int, list[Conflict], dict[str, int]]:
            new_ids = self._new_ids(tx, names)
            ids = self._ids | new_ids if new_ids else self._ids
            rows = SampleRows(
                np.fromiter((ids[t] for t in columns.tag), np.int64, len(columns.tag)),
                columns.time_us,
                columns.value,
                columns.quality,
                columns.available_us,
            )
            inserted, conflicts = (
                (0, []) if not len(rows) else self._backend.insert_samples(tx, rows)
            )
            items = columns.rejected + self._conflicted(columns, conflicts, source)
            if items:
                self._insert_quarantine(tx, items)
            return inserted, conflicts, new_ids

        inserted, conflicts, new_ids = self._backend.write(work)
        self._ids.update(new_ids)
        duplicates = len(columns.tag) - inserted - len(conflicts)
        return WriteResult(inserted, duplicates, len(columns.rejected) + len(conflicts))

    @staticmethod
    def _conflicted(columns: Columns, conflicts: list[Conflict], source: str) -> list[Quarantined]:
        received = datetime.now(UTC)
        out = []
        for c in conflicts:
            t, v, q = (
                int(columns.time_us[c.index]),
                float(columns.value[c.index]),
                int(columns.quality[c.index]),
            )
            reason = conflict_reason(c.stored_value, c.stored_quality, v, q, t)
            out.append(
                Quarantined(
                    source, reason, raw_text(v, q), columns.tag[c.index], from_us(t), received
                )
            )
        return out

    # quarantine ---------------------------------------------------------------------------

    def quarantine(self, items: list[Quarantined]) -> None:
        """Keep rejected values with their reasons (one transaction)."""
        if items:
            self._backend.write(lambda tx: self._insert_quarantine(tx, items))

    @staticmethod
    def _insert_quarantine(tx: Tx, items: list[Quarantined]) -> None:
        rows = [
            (
                to_us(q.received),
                _text(q.source),
                _text(q.tag),
                None if q.time is None else to_us(q.time),
                q.raw.encode("utf-8", "surrogatepass"),
                _text(q.reason),
            )
            for q in items
        ]
        tx.run_many(
            "INSERT INTO quarantine (received_us, source, tag, time_us, raw, reason) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def quarantined(
        self, source: str | None = None, since: datetime | None = None
    ) -> list[Quarantined]:
        """Quarantined values in the order received, optionally of one source and received at
        or after ``since``."""
        sql = "SELECT source, reason, raw, tag, time_us, received_us FROM quarantine WHERE 1 = 1"
        params: list[object] = []
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        if since is not None:
            sql += " AND received_us >= ?"
            params.append(to_us(since))
        rows = self._backend.read(sql + " ORDER BY id", params)
        return [
            Quarantined(
                s,
                r,
                bytes(raw).decode("utf-8", "surrogatepass"),
                tag,
                None if t is None else from_us(t),
                from_us(rec),
            )
            for s, r, raw, tag, t, rec in rows
        ]

    # queries ------------------------------------------------------------------------------

    def batch_samples(self, batch_id: str, tags: Sequence[str] | None = None) -> SampleFrame:
        """Samples in the batch's time window, its end included (open while it runs), of the
        given tags (every tag if ``None``)."""
        batch = self._require_batch(batch_id)
        end = None if batch.end is None else batch.end + timedelta(microseconds=1)
        return self.window(tags, batch.start, end)


def _text(text: str) -> str:
    """Text without NUL characters (PostgreSQL text cannot hold them), escaped as ``\\x00``."""
    return text.replace("\x00", "\\x00")
