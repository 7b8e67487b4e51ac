"""Export samples to, and import them from, historian files (CSV or Parquet).

The columns are those of ``pharmatwin.historian.files`` (what ``pharmatwin simulate --out``
writes): ``time_utc`` (ISO 8601 with ``Z`` in CSV, a UTC timestamp in Parquet), ``batch_h``,
``tag``, ``value``, ``unit``, ``quality``, ``available_utc``, ``batch_id``. On import
``time_utc``, ``tag`` and ``value`` are required; an empty ``quality`` means good (192), an
empty ``available_utc`` means known at its time; ``batch_h`` and ``batch_id`` are not stored
(batches are recorded with ``Historian.start_batch``). A row that fails a check is quarantined
with its row number (1 = the first row after the header) and the reason, never dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from pharmatwin.core.utc import parse_utc
from pharmatwin.historian.checks import known_quality
from pharmatwin.historian.files import COLUMNS
from pharmatwin.historian.frame import SampleFrame
from pharmatwin.historian.records import (
    QUALITY_GOOD,
    Quarantined,
    Sample,
    TagInfo,
    WriteResult,
    from_us,
    to_us,
)
from pharmatwin.historian.store import Historian

REQUIRED = ("time_utc", "tag", "value")
CHUNK_ROWS = 50_000


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"{path}: unknown file type {suffix or '(none)'!r}; use .csv or .parquet")
    return suffix


# export -------------------------------------------------------------------------------------


def _text_time(us: int) -> str:
    """ISO 8601 UTC: milliseconds (as ``files.py`` writes), microseconds when needed."""
    spec = "milliseconds" if us % 1000 == 0 else "microseconds"
    return from_us(us).isoformat(timespec=spec).replace("+00:00", "Z")


def _batch_columns(historian: Historian, frame: SampleFrame) -> tuple[list[str], list[float]]:
    """Batch id and batch hours of each sample, from the batches of its tag's asset."""
    batch_id = [""] * len(frame)
    batch_h = [float("nan")] * len(frame)
    assets = {t.name: t.asset for t in historian.tags()}
    by_asset: dict[str, list[Any]] = {}
    for batch in historian.batches():
        by_asset.setdefault(batch.asset, []).append(batch)
    for name in frame.tags():
        batches = by_asset.get(assets.get(name, ""), []) if assets.get(name) else []
        rows = np.flatnonzero(frame.tag == name)
        for batch in batches:
            start = to_us(batch.start)
            end = np.iinfo(np.int64).max if batch.end is None else to_us(batch.end)
            times = frame.time_us[rows]
            for i in rows[(times >= start) & (times <= end)].tolist():
                batch_id[i] = batch.batch_id
                batch_h[i] = (int(frame.time_us[i]) - start) / 3.6e9
    return batch_id, batch_h


def export_file(
    historian: Historian,
    path: Path | str,
    tags: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Write the samples of ``window(tags, start, end)`` to ``path``; the rows written."""
    path = Path(path)
    suffix = _suffix(path)
    frame = historian.window(tags, start, end)
    units = {t.name: t.unit for t in historian.tags()}
    batch_id, batch_h = _batch_columns(historian, frame)
    unit = [units.get(str(t), "") for t in frame.tag.tolist()]
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for i, (t, v, q, a) in enumerate(
                zip(
                    frame.time_us.tolist(),
                    frame.value.tolist(),
                    frame.quality.tolist(),
                    frame.available_us.tolist(),
                    strict=True,
                )
            ):
                hours = "" if np.isnan(batch_h[i]) else f"{batch_h[i]:.6f}"
                row = (_text_time(t), hours, frame.tag[i], repr(v), unit[i], q, _text_time(a))
                writer.writerow((*row, batch_id[i]))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        stamp = pa.timestamp("us", tz="UTC")
        table = pa.table(
            {
                "time_utc": pa.array(frame.time_us, type=pa.int64()).cast(stamp),
                "batch_h": pa.array(batch_h, type=pa.float64(), from_pandas=True),
                "tag": pa.array(frame.tag.astype(str)),
                "value": pa.array(frame.value, type=pa.float64()),
                "unit": pa.array(unit, type=pa.string()),
                "quality": pa.array(frame.quality, type=pa.int32()),
                "available_utc": pa.array(frame.available_us, type=pa.int64()).cast(stamp),
                "batch_id": pa.array(batch_id, type=pa.string()),
            }
        )
        pq.write_table(table, path)
    return len(frame)


# import -------------------------------------------------------------------------------------


@dataclass
class _Accepted:
    tag: list[str] = field(default_factory=list)
    time_us: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    available_us: list[int] = field(default_factory=list)
    rejected: list[Quarantined] = field(default_factory=list)


def _as_time(cell: Any, column: str) -> int:
    if isinstance(cell, int) and not isinstance(cell, bool):
        return cell
    if isinstance(cell, datetime):
        return to_us(cell)
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        raise ValueError(f"{column}: empty")
    if isinstance(cell, str):
        return to_us(parse_utc(cell.strip()))
    raise ValueError(f"{column}: {cell!r} is not a time")


def _as_value(cell: Any) -> float:
    try:
        value = float(cell)
    except (TypeError, ValueError):
        raise ValueError(f"value: {cell!r} is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"value: {value!r} is not a finite number")
    return value


def _as_quality(cell: Any) -> int:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return QUALITY_GOOD
    try:
        quality = int(cell)
    except (TypeError, ValueError):
        raise ValueError(f"quality: {cell!r} is not an integer") from None
    if not bool(known_quality(np.array([quality]))[0]):
        raise ValueError(f"quality: {quality} is not an OPC quality byte")
    return quality


class _RowChecker:
    """Checks rows one by one, remembering the unit of each tag."""

    def __init__(self, units: dict[str, str], source: str) -> None:
        self.units = units
        self.new_tags: dict[str, str] = {}
        self.source = source

    def check(self, number: int, row: dict[str, Any], out: _Accepted) -> None:
        tag = str(row.get("tag") or "").strip()
        time_us: int | None = None
        try:
            time_us = _as_time(row.get("time_utc"), "time_utc")
            if not tag:
                raise ValueError("tag: empty")
            value = _as_value(row.get("value"))
            quality = _as_quality(row.get("quality"))
            available = row.get("available_utc")
            empty = available is None or (isinstance(available, str) and not available.strip())
            available_us = time_us if empty else _as_time(available, "available_utc")
            self._check_unit(tag, str(row.get("unit") or "").strip())
        except (ValueError, OverflowError) as exc:
            raw = ",".join("" if row.get(c) is None else str(row.get(c)) for c in COLUMNS)
            out.rejected.append(
                Quarantined(
                    self.source,
                    f"row {number}: {exc}",
                    raw,
                    tag,
                    None if time_us is None else _safe_time(time_us),
                )
            )
            return
        out.tag.append(tag)
        out.time_us.append(time_us)
        out.value.append(value)
        out.quality.append(quality)
        out.available_us.append(available_us)

    def _check_unit(self, tag: str, unit: str) -> None:
        known = self.units.get(tag)
        if known is None or (not known and unit):
            self.units[tag] = unit
            self.new_tags[tag] = unit
        elif unit and known != unit:
            raise ValueError(f"unit: {unit!r} differs from the tag's unit {known!r}")


def _safe_time(us: int) -> datetime | None:
    try:
        return from_us(us)
    except OverflowError:
        return None


def _csv_chunks(path: Path) -> Iterator[list[dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        _require(reader.fieldnames or [], path)
        chunk: list[dict[str, Any]] = []
        for row in reader:
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _parquet_chunks(path: Path) -> Iterator[list[dict[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    _require(handle.schema_arrow.names, path)
    for batch in handle.iter_batches(batch_size=CHUNK_ROWS):
        columns: dict[str, list[Any]] = {}
        for name in batch.schema.names:
            column = batch.column(name)
            if pa.types.is_timestamp(column.type):
                if column.type.tz is None:
                    raise ValueError(f"{path}: {name}: timestamps without a time zone; use UTC")
                column = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
            columns[name] = column.to_pylist()
        names = list(columns)
        yield [
            dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]


def _require(names: Sequence[str], path: Path) -> None:
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(missing)}")


def import_file(historian: Historian, path: Path | str, source: str = "file") -> WriteResult:
    """Store the samples of a CSV or Parquet file; bad rows are quarantined with reasons.

    Written in chunks of ``CHUNK_ROWS`` rows, one transaction each; importing the same file
    again stores nothing new (duplicates).
    """
    path = Path(path)
    chunks = _csv_chunks(path) if _suffix(path) == ".csv" else _parquet_chunks(path)
    checker = _RowChecker({t.name: t.unit for t in historian.tags()}, source)
    inserted = duplicates = quarantined = 0
    number = 0
    for chunk in chunks:
        accepted = _Accepted()
        for row in chunk:
            number += 1
            checker.check(number, row, accepted)
        if checker.new_tags:
            historian.ensure_tags([TagInfo(n, u) for n, u in checker.new_tags.items()])
            checker.new_tags.clear()
        historian.quarantine(accepted.rejected)
        result = historian.write_columns(
            np.array(accepted.tag, dtype=object),
            np.array(accepted.time_us, dtype=np.int64),
            np.array(accepted.value, dtype=np.float64),
            np.array(accepted.quality, dtype=np.int64),
            np.array(accepted.available_us, dtype=np.int64),
            source=source,
        )
        inserted += result.inserted
        duplicates += result.duplicates
        quarantined += result.quarantined + len(accepted.rejected)
    return WriteResult(inserted, duplicates, quarantined)


def read_samples(
    path: Path | str, source: str = "file"
) -> Iterator[tuple[list[Sample], list[Quarantined], dict[str, str]]]:
    """The samples of a CSV or Parquet file, chunk by chunk, with the rows that failed a check
    and the unit each tag's rows gave (for a tag map to convert); nothing is stored."""
    path = Path(path)
    chunks = _csv_chunks(path) if _suffix(path) == ".csv" else _parquet_chunks(path)
    checker = _RowChecker({}, source)
    number = 0
    for chunk in chunks:
        accepted = _Accepted()
        for row in chunk:
            number += 1
            checker.check(number, row, accepted)
        samples = [
            Sample(tag, from_us(t), v, q, from_us(a) if a != t else None)
            for tag, t, v, q, a in zip(
                accepted.tag,
                accepted.time_us,
                accepted.value,
                accepted.quality,
                accepted.available_us,
                strict=True,
            )
        ]
        yield samples, accepted.rejected, dict(checker.units)


def describe(result: WriteResult) -> str:
    """One line for people: counts of a write."""
    return (
        f"{result.inserted:,} stored, {result.duplicates:,} already stored, "
        f"{result.quarantined:,} quarantined"
    )
