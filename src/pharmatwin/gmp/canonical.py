"""Canonical JSON of a GMP record's content, and its SHA-256 content hash.

One value has exactly one byte form: object keys sorted (by code point), no whitespace, UTF-8
(no ``\\u`` escapes except for control characters), floats in Python's shortest round-trip
``repr`` form, integers in decimal. This follows the idea of the JSON Canonicalization Scheme
(RFC 8785) but not its number format (RFC 8785 prints numbers as ECMAScript does:
``10000000000000000`` where Python writes ``1e+16``, ``1e-7`` for ``1e-07``), nor its key order
for characters outside the Basic Multilingual Plane (UTF-16 code units there), so hashes are
stable within pharmatwin, not across implementations of RFC 8785.

Accepted values: ``None``, ``bool``, ``int``, finite ``float``, ``str``, lists and tuples (as
arrays), dicts with ``str`` keys, and timezone-aware ``datetime`` (as ISO 8601 UTC text with
microseconds and ``Z``). Anything else is a ``ValueError`` naming where in the value it is
(``content.steps[2].T: ...``). NaN and infinities are refused (JSON has no such numbers).

The content hash binds an electronic signature to the exact content signed (21 CFR 11.70).
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonValue", "canonical_json", "canonical_text", "content_hash", "to_json_value"]

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


def _iso_utc(time: datetime, where: str) -> str:
    if time.tzinfo is None:
        raise ValueError(f"{where}: a naive datetime {time.isoformat()}; give a UTC time")
    return time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_json_value(value: Any, where: str = "value") -> JsonValue:
    """``value`` as plain JSON data (tuples to lists, datetimes to ISO 8601 UTC text).

    Raises ``ValueError`` starting with ``where`` (the path to the bad part) for a type JSON
    cannot hold, a non-string key, NaN or an infinity.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a finite number (JSON has no NaN/inf)")
        return value
    if isinstance(value, dict):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            out[key] = to_json_value(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [to_json_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, datetime):
        return _iso_utc(value, where)
    raise ValueError(f"{where}: a {type(value).__name__} is not JSON data")


def canonical_text(value: Any, where: str = "value") -> str:
    """The canonical JSON of ``value`` as text (see the module)."""
    plain = to_json_value(value, where)
    text = json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{where}: text that is not valid Unicode ({exc.reason})") from None
    return text


def canonical_json(value: Any) -> bytes:
    """The canonical JSON of ``value``, UTF-8 encoded (see the module)."""
    return canonical_text(value).encode("utf-8")


def content_hash(value: Any) -> str:
    """SHA-256 (FIPS 180-4) of ``canonical_json(value)``, as 64 lower-case hex digits."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
