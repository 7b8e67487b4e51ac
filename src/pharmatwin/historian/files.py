"""Sample tables as a plant historian holds them, written to CSV or Parquet.

One row per sample: UTC timestamp, tag, value, engineering unit, OPC UA quality code, the UTC
time the value became available (later than the timestamp for laboratory results), the batch
and, for ensembles, the member.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from pharmatwin.core.types import AnyArray, FloatArray

QUALITY_GOOD = 192
"""OPC UA StatusCode Good, as its legacy 8-bit quality byte (0xC0)."""

COLUMNS = ("time_utc", "batch_h", "tag", "value", "unit", "quality", "available_utc", "batch_id")


@dataclass(frozen=True)
class SampleTable:
    """Columns of equal length; times in batch hours since ``start``."""

    start: datetime
    time_h: FloatArray
    tag: AnyArray
    value: FloatArray
    unit: AnyArray
    available_h: FloatArray
    batch_id: AnyArray

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start: a timezone-aware UTC time is required")
        n = len(self.time_h)
        for name in ("tag", "value", "unit", "available_h", "batch_id"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: length differs from time_h")

    def __len__(self) -> int:
        return len(self.time_h)

    def iso_times(self, hours: FloatArray) -> list[str]:
        """ISO 8601 UTC strings (millisecond precision) for batch hours."""
        start = self.start.astimezone(UTC)
        return [
            (start + timedelta(hours=float(h)))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
            for h in hours
        ]


def write_samples(table: SampleTable, path: Path) -> None:
    """Write ``table`` to ``path``: CSV for ``.csv``, Parquet for ``.parquet``."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _write_csv(table, path)
    elif suffix == ".parquet":
        _write_parquet(table, path)
    else:
        raise ValueError(f"--out: unknown file type {suffix or '(none)'!r}; use .csv or .parquet")


def _write_csv(table: SampleTable, path: Path) -> None:
    times = table.iso_times(table.time_h)
    available = table.iso_times(table.available_h)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(len(table)):
            writer.writerow(
                (
                    times[i],
                    f"{table.time_h[i]:.6f}",
                    table.tag[i],
                    repr(float(table.value[i])),
                    table.unit[i],
                    QUALITY_GOOD,
                    available[i],
                    table.batch_id[i],
                )
            )


def _write_parquet(table: SampleTable, path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ValueError(
            "--out: Parquet needs the 'parquet' extra: pip install 'pharmatwin[parquet]'"
        ) from exc
    start = np.datetime64(table.start.astimezone(UTC).replace(tzinfo=None), "ms")

    def to_ts(hours: FloatArray) -> AnyArray:
        return start + np.round(np.asarray(hours) * 3.6e6).astype("timedelta64[ms]")

    arrow = pa.table(
        {
            "time_utc": pa.array(to_ts(table.time_h), type=pa.timestamp("ms", tz="UTC")),
            "batch_h": pa.array(table.time_h, type=pa.float64()),
            "tag": pa.array(table.tag.astype(str)),
            "value": pa.array(table.value, type=pa.float64()),
            "unit": pa.array(table.unit.astype(str)),
            "quality": pa.array(np.full(len(table), QUALITY_GOOD), type=pa.int32()),
            "available_utc": pa.array(to_ts(table.available_h), type=pa.timestamp("ms", tz="UTC")),
            "batch_id": pa.array(table.batch_id.astype(str)),
        }
    )
    pq.write_table(arrow, path)
