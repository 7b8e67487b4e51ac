"""Checks of incoming samples before they are stored, and the texts of quarantine reasons.

Quality is the legacy 8-bit OPC quality byte (OPC Data Access 2.05, "Quality flags"): bits 7-6
are the major status, 00 bad (0-63), 01 uncertain (64-127), 11 good (192-255); 10 (128-191) is
not used, so such a byte is treated as unknown and quarantined, as is anything outside 0-255.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pharmatwin.historian.records import QUALITY_GOOD, Quarantined, from_us

SAMPLE_SOURCE = "historian"
"""The quarantine ``source`` of values the historian itself rejected on a write."""


def iso_z(time_us: int) -> str:
    """ISO 8601 UTC text with ``Z``; microseconds only when not zero."""
    time = from_us(time_us)
    spec = "seconds" if time.microsecond == 0 else "microseconds"
    return time.isoformat(timespec=spec).replace("+00:00", "Z")


MIN_US = -62_135_596_800_000_000
"""0001-01-01T00:00:00Z, the earliest time a ``datetime`` holds."""
MAX_US = 253_402_300_799_999_999
"""9999-12-31T23:59:59.999999Z, the latest."""


def known_quality(quality: NDArray[np.int64]) -> NDArray[np.bool_]:
    """True where ``quality`` is a defined OPC quality byte (bad, uncertain or good)."""
    in_byte = (quality >= 0) & (quality <= 255)
    known: NDArray[np.bool_] = in_byte & ((quality & 0xC0) != 0x80)
    return known


def raw_text(value: float, quality: int) -> str:
    """What arrived, as kept in the quarantine ``raw`` column."""
    return repr(value) if quality == QUALITY_GOOD else f"{value!r} (quality {quality})"


def conflict_reason(stored: float, stored_quality: int, value: float, quality: int, t: int) -> str:
    """Why a value for an already stored tag and time was not written over the stored one."""
    if stored != value:
        return f"conflicts with the stored value {stored!r} at {iso_z(t)}"
    return (
        f"conflicts with the stored quality {stored_quality} of the value {stored!r} at "
        f"{iso_z(t)} (received quality {quality})"
    )


@dataclass(frozen=True)
class Columns:
    """Validated columns of one write: rows that may be stored, and what was rejected."""

    tag: list[str]
    time_us: NDArray[np.int64]
    value: NDArray[np.float64]
    quality: NDArray[np.int64]
    available_us: NDArray[np.int64]
    rejected: list[Quarantined]


def _column(name: str, data: Any, n: int, dtype: type[np.generic]) -> NDArray[Any]:
    array = np.asarray(data)
    if array.ndim == 0:
        array = np.full(n, array)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} values (one per tag), got shape {array.shape}")
    if dtype is np.int64 and array.size and array.dtype.kind not in "iu":
        raise ValueError(
            f"{name}: integer microseconds since the epoch expected, not {array.dtype}"
        )
    return array.astype(dtype, copy=False)


def check_columns(
    tag: str | Sequence[str] | NDArray[Any],
    time_us: Any,
    value: Any,
    quality: Any,
    available_us: Any,
    *,
    source: str,
) -> Columns:
    """Shape-check the columns (``ValueError`` naming the column) and split off bad rows.

    A non-finite value, an unknown quality byte or an empty tag name is quarantined with its
    reason; the other rows are returned for storage.
    """
    times = np.asarray(time_us)
    n = len(times) if times.ndim else 1
    tags = [tag] * n if isinstance(tag, str) else [str(t) for t in tag]
    if len(tags) != n:
        raise ValueError(f"tag: expected {n} names (one per time), got {len(tags)}")
    t = _column("time_us", times, n, np.int64)
    v = _column("value", value, n, np.float64)
    q = _column("quality", quality, n, np.int64)
    a = t if available_us is None else _column("available_us", available_us, n, np.int64)
    in_range = (t >= MIN_US) & (t <= MAX_US)
    good = np.isfinite(v) & known_quality(q) & in_range
    bad_names = [i for i, name in enumerate(tags) if not name or "\x00" in name]
    if bad_names:
        good[bad_names] = False
    if bool(good.all()):
        return Columns(tags, t, v, q, a, [])
    received = datetime.now(UTC)
    rejected = []
    for i in np.flatnonzero(~good).tolist():
        if not in_range[i]:
            reason = f"time_us {int(t[i])} is outside the years 1 to 9999"
        elif not tags[i]:
            reason = "tag: empty name"
        elif "\x00" in tags[i]:
            reason = "tag: contains a NUL character"
        elif not np.isfinite(v[i]):
            reason = f"value {float(v[i])!r} is not a finite number"
        else:
            reason = (
                f"quality {int(q[i])} is not an OPC quality byte "
                "(bad 0-63, uncertain 64-127, good 192-255)"
            )
        rejected.append(
            Quarantined(
                source=source,
                reason=reason,
                raw=raw_text(float(v[i]), int(q[i])),
                tag=tags[i],
                time=from_us(int(t[i])) if in_range[i] else None,
                received=received,
            )
        )
    keep = np.flatnonzero(good)
    return Columns([tags[i] for i in keep.tolist()], t[keep], v[keep], q[keep], a[keep], rejected)
