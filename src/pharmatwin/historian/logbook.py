"""Batches, events, twin outputs and checkpoints: the historian's records beside samples.

Events are idempotent on (kind, source, time, subject), twin outputs on (twin, batch, kind,
time): writing one again (a runtime that restarts and recomputes) keeps the first. Checkpoints
are a small key-value store of JSON documents for resume state (last value read, last step).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pharmatwin.historian.backend import Backend, Tx
from pharmatwin.historian.errors import UnknownBatch
from pharmatwin.historian.records import Batch, Event, TwinOutput, from_us, to_us

BATCH_STATES = ("running", "complete", "aborted")


def dump_json(field: str, data: Any) -> str:
    """JSON text of ``data`` (numpy scalars and arrays become numbers and lists)."""

    def plain(item: Any) -> Any:
        if hasattr(item, "tolist"):
            return item.tolist()
        raise TypeError(f"{type(item).__name__} is not JSON serializable")

    try:
        return json.dumps(data, sort_keys=True, allow_nan=False, default=plain)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field}: cannot be stored as JSON: {exc}") from exc


def load_json(data: Any) -> dict[str, Any]:
    """A stored JSON object (PostgreSQL returns it parsed, SQLite as text)."""
    loaded = json.loads(data) if isinstance(data, str | bytes) else data
    if not isinstance(loaded, dict):
        raise ValueError(f"data: a JSON object expected, found {type(loaded).__name__}")
    return loaded


class Logbook:
    """Batches, events, twin outputs and checkpoints (a part of ``Historian``)."""

    _backend: Backend

    # batches ------------------------------------------------------------------------------

    def start_batch(self, batch: Batch) -> None:
        """Record a batch; starting the same batch again does nothing.

        Raises ``ValueError`` if the id is stored with another asset, recipe or start.
        """
        if batch.state not in BATCH_STATES:
            raise ValueError(f"state: {batch.state!r} is not one of {', '.join(BATCH_STATES)}")
        start = to_us(batch.start)
        end = None if batch.end is None else to_us(batch.end)

        def work(tx: Tx) -> None:
            rows = tx.run(
                "SELECT asset, recipe, start_us FROM batches WHERE batch_id = ?",
                (batch.batch_id,),
            )
            if not rows:
                tx.run(
                    "INSERT INTO batches (batch_id, asset, recipe, start_us, end_us, state) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (batch.batch_id, batch.asset, batch.recipe, start, end, batch.state),
                )
            elif tuple(rows[0]) != (batch.asset, batch.recipe, start):
                asset, recipe, start_us = rows[0]
                raise ValueError(
                    f"batch_id: {batch.batch_id!r} is stored for asset {asset!r}, recipe "
                    f"{recipe!r}, started {from_us(start_us).isoformat()}; not restarted"
                )

        self._backend.write(work)

    def end_batch(self, batch_id: str, end: datetime, state: str) -> None:
        """Close a batch at ``end`` with state ``complete`` or ``aborted``."""
        if state not in BATCH_STATES[1:]:
            raise ValueError(f"state: {state!r} is not one of {', '.join(BATCH_STATES[1:])}")
        batch = self._require_batch(batch_id)
        if end < batch.start:
            raise ValueError(
                f"end: {end.isoformat()} is before the batch's start {batch.start.isoformat()}"
            )
        self._backend.write(
            lambda tx: tx.run(
                "UPDATE batches SET end_us = ?, state = ? WHERE batch_id = ?",
                (to_us(end), state, batch_id),
            )
        )

    def batches(self, asset: str | None = None) -> list[Batch]:
        """Batches (of one asset, if given) by start time."""
        sql = "SELECT batch_id, asset, recipe, start_us, end_us, state FROM batches"
        rows = (
            self._backend.read(sql + " WHERE asset = ?", (asset,))
            if asset is not None
            else self._backend.read(sql)
        )
        return sorted((_batch(row) for row in rows), key=lambda b: (b.start, b.batch_id))

    def batch(self, batch_id: str) -> Batch | None:
        """One batch, or ``None``."""
        rows = self._backend.read(
            "SELECT batch_id, asset, recipe, start_us, end_us, state FROM batches "
            "WHERE batch_id = ?",
            (batch_id,),
        )
        return _batch(rows[0]) if rows else None

    def _require_batch(self, batch_id: str) -> Batch:
        batch = self.batch(batch_id)
        if batch is None:
            raise UnknownBatch(f"batch_id: no batch {batch_id!r} in {self._backend.label}")
        return batch

    # events -------------------------------------------------------------------------------

    def add_event(self, event: Event) -> None:
        """Record an event; the same (kind, source, time, subject) again does nothing."""
        data = dump_json("data", event.data)
        row = (
            event.kind,
            event.source,
            to_us(event.time),
            event.subject,
            event.message,
            event.asset,
            event.batch_id,
            data,
        )
        sql = (
            "INSERT INTO events (kind, source, time_us, subject, message, asset, batch_id, data) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, {self._backend.json_param}) ON CONFLICT DO NOTHING"
        )
        self._backend.write(lambda tx: tx.run(sql, row))

    def events(
        self,
        kind: str | None = None,
        asset: str | None = None,
        batch_id: str | None = None,
        since: datetime | None = None,
    ) -> list[Event]:
        """Events matching every given filter (``since`` inclusive), by time."""
        sql = "SELECT kind, source, time_us, subject, message, asset, batch_id, data FROM events"
        sql += " WHERE 1 = 1"
        params: list[object] = []
        for column, value in (("kind", kind), ("asset", asset), ("batch_id", batch_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if since is not None:
            sql += " AND time_us >= ?"
            params.append(to_us(since))
        rows = self._backend.read(sql + " ORDER BY time_us, id", params)
        return [
            Event(k, s, from_us(t), subj, m, a, b, load_json(d))
            for k, s, t, subj, m, a, b, d in rows
        ]

    # twin outputs -------------------------------------------------------------------------

    def write_output(self, out: TwinOutput) -> None:
        """Record a belief or forecast; the same (twin, batch, kind, time) again does nothing."""
        if out.kind not in ("belief", "forecast"):
            raise ValueError(f"kind: {out.kind!r} is not belief or forecast")
        row = (out.twin, out.batch_id, out.kind, to_us(out.time), float(out.batch_h))
        data = dump_json("data", out.data)
        sql = (
            "INSERT INTO twin_outputs (twin, batch_id, kind, time_us, batch_h, data) "
            f"VALUES (?, ?, ?, ?, ?, {self._backend.json_param}) ON CONFLICT DO NOTHING"
        )
        self._backend.write(lambda tx: tx.run(sql, (*row, data)))

    def outputs(
        self,
        twin: str,
        batch_id: str,
        kind: str | None = None,
        after: datetime | None = None,
    ) -> list[TwinOutput]:
        """A twin's outputs for a batch (of one kind, if given; later than ``after``, if
        given), by time. Outputs are written once and never changed, so a reader may keep
        what it has and ask only for what is newer."""
        sql = "SELECT twin, batch_id, kind, time_us, batch_h, data FROM twin_outputs "
        sql += "WHERE twin = ? AND batch_id = ?"
        params: list[object] = [twin, batch_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if after is not None:
            sql += " AND time_us > ?"
            params.append(to_us(after))
        rows = self._backend.read(sql + " ORDER BY time_us, kind", params)
        return [
            TwinOutput(tw, b, k, from_us(t), float(h), load_json(d)) for tw, b, k, t, h, d in rows
        ]

    def latest_output(self, twin: str, batch_id: str, kind: str) -> TwinOutput | None:
        """A twin's newest output of ``kind`` for a batch (one indexed row), or ``None``."""
        sql = (
            "SELECT twin, batch_id, kind, time_us, batch_h, data FROM twin_outputs "
            "WHERE twin = ? AND batch_id = ? AND kind = ? ORDER BY time_us DESC LIMIT 1"
        )
        rows = self._backend.read(sql, [twin, batch_id, kind])
        return next(
            (
                TwinOutput(tw, b, k, from_us(t), float(h), load_json(d))
                for tw, b, k, t, h, d in rows
            ),
            None,
        )

    # checkpoints --------------------------------------------------------------------------

    def set_checkpoint(self, name: str, data: dict[str, Any]) -> None:
        """Store (replace) the JSON document ``data`` under ``name``."""
        if not name:
            raise ValueError("name: a checkpoint needs a non-empty name")
        text = dump_json("data", data)
        sql = (
            "INSERT INTO checkpoints (name, data, updated_us) "
            f"VALUES (?, {self._backend.json_param}, ?) ON CONFLICT (name) DO UPDATE "
            "SET data = excluded.data, updated_us = excluded.updated_us"
        )
        now = to_us(datetime.now(UTC))
        self._backend.write(lambda tx: tx.run(sql, (name, text, now)))

    def checkpoint(self, name: str) -> dict[str, Any] | None:
        """The document stored under ``name``, or ``None``."""
        rows = self._backend.read("SELECT data FROM checkpoints WHERE name = ?", (name,))
        return load_json(rows[0][0]) if rows else None


def _batch(row: tuple[Any, ...]) -> Batch:
    batch_id, asset, recipe, start, end, state = row
    return Batch(
        batch_id, asset, recipe, from_us(start), None if end is None else from_us(end), state
    )
