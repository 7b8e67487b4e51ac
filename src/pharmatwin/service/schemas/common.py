"""Shared pieces of the schemas: UTC times, JSON numbers and required reasons."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)


def utc_text(time: datetime) -> str:
    """ISO 8601 UTC with a ``Z``, e.g. ``2026-01-05T06:00:00Z`` (microseconds when present)."""
    return time.astimezone(UTC).isoformat().replace("+00:00", "Z")


UtcTime = Annotated[AwareDatetime, PlainSerializer(utc_text, return_type=str)]
"""A timezone-aware time, serialized as ISO 8601 UTC with ``Z``."""


def finite(value: float) -> float | None:
    """``value``, or ``None`` for NaN and infinities (JSON has neither)."""
    return float(value) if math.isfinite(value) else None


class Out(BaseModel):
    """Base of every response model."""

    model_config = ConfigDict(frozen=True)


class In(BaseModel):
    """Base of every request model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ErrorItem(Out):
    """One problem of a request: the (dotted) field and what is wrong with it."""

    field: str
    message: str


class ErrorOut(Out):
    """The body of every error: ``message`` for people, ``detail`` per field (422)."""

    message: str
    detail: list[ErrorItem] = []


def _seconds(value: object) -> object:
    """A number given as text (``"3600"``) is seconds; other text is ISO 8601 (``PT1H``)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


Every = Annotated[timedelta, BeforeValidator(_seconds)]
"""A bin width: seconds (``3600``) or an ISO 8601 duration (``PT1H``)."""


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Reason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        description="Why (required, not blank; kept in the audit trail: 21 CFR 11.10(e), "
        "EU GMP Annex 11 section 9).",
    ),
    AfterValidator(_not_blank),
]
"""A required reason for a change: 1 to 1000 characters, not only spaces."""

Comment = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_not_blank)]
"""A required comment: 1 to 500 characters, not only spaces."""
