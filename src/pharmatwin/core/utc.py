"""Time stamps: timezone-aware UTC in storage and APIs; batch hours are the model's clock."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_utc(text: str) -> datetime:
    """A timezone-aware UTC time from ISO 8601 text (``Z`` or an offset required)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time such as 2026-01-05T06:00:00Z") from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; append Z for UTC")
    return value.astimezone(UTC)
