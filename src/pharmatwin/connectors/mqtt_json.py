"""Plain JSON sample messages, as read and written by the MQTT connector.

A message is UTF-8 JSON in one of three shapes:

* one sample: ``{"tag": "R1.pH", "time": "2026-01-05T06:00:00Z", "value": 7.02}`` with the
  optional ``"quality"`` (OPC quality byte, integer 0-255, default 192 good) and
  ``"available"`` (when the value became known, e.g. a laboratory result);
* several samples: a JSON array of such objects;
* one time, several tags: ``{"time": "...", "values": {"R1.pH": 7.02, "R1.DO": 41.5}}`` with
  the optional ``"quality"`` and ``"available"`` applying to all of them.

``time`` and ``available`` are ISO 8601 with ``Z`` or an offset (a time without a zone is
rejected); ``value`` is a finite JSON number (not a boolean, not a string), in the tag's
engineering unit. Unknown fields are rejected (they are usually typos). Each sample stands
alone: a bad one is quarantined with the reason and its JSON text, the others are kept; a
message that is not JSON is quarantined whole.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pharmatwin.core.utc import parse_utc
from pharmatwin.historian.records import QUALITY_GOOD, Quarantined, Sample

JsonTagMapping = Mapping[str, str] | Callable[[str], str | None]
"""Incoming tag -> historian tag: a dict (tags not in it are quarantined) or a function
(``None``: no tag)."""

SAMPLE_FIELDS = frozenset({"tag", "time", "value", "quality", "available"})
GROUP_FIELDS = frozenset({"time", "values", "quality", "available"})


class JsonSampleError(ValueError):
    """A JSON sample that cannot be stored; the message names the field."""


def parse_json_samples(
    payload: bytes,
    source: str,
    tags: JsonTagMapping | None = None,
    received: datetime | None = None,
) -> tuple[list[Sample], list[Quarantined]]:
    """The samples of one message and the quarantine records of what could not be read."""
    now = received or datetime.now(UTC)
    text = payload.decode("utf-8", errors="replace")
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], [Quarantined(source, f"malformed JSON: {exc}", text, received=now)]
    if isinstance(document, list):
        items: list[Any] = document
    elif isinstance(document, dict) and "values" in document:
        items = _expand_group(document, source, now)
        if not items:
            return [], []
    elif isinstance(document, dict):
        items = [document]
    else:
        reason = f"a JSON object or array is required, got {type(document).__name__}"
        return [], [Quarantined(source, reason, text, received=now)]
    samples: list[Sample] = []
    rejected: list[Quarantined] = []
    for item in items:
        if isinstance(item, Quarantined):
            rejected.append(item)
            continue
        try:
            samples.append(_sample(item, tags))
        except JsonSampleError as exc:
            rejected.append(_reject(item, str(exc), source, now))
    return samples, rejected


def _expand_group(document: dict[str, Any], source: str, now: datetime) -> list[Any]:
    """``{"time", "values": {tag: value}}`` -> one sample object per tag."""
    unknown = sorted(set(document) - GROUP_FIELDS)
    values = document["values"]
    if unknown or not isinstance(values, dict):
        problem = f"unknown field(s) {', '.join(unknown)}" if unknown else "values: an object"
        reason = f"{problem} (expected {{time, values: {{tag: value}}}})"
        return [Quarantined(source, reason, json.dumps(document), received=now)]
    common = {k: v for k, v in document.items() if k != "values"}
    return [{"tag": tag, "value": value, **common} for tag, value in values.items()]


def _sample(item: Any, tags: JsonTagMapping | None) -> Sample:
    if not isinstance(item, dict):
        raise JsonSampleError(f"sample: a JSON object is required, got {type(item).__name__}")
    unknown = sorted(set(item) - SAMPLE_FIELDS)
    if unknown:
        raise JsonSampleError(f"unknown field(s) {', '.join(unknown)}")
    for name in ("tag", "time", "value"):
        if name not in item:
            raise JsonSampleError(f"missing field {name!r}")
    tag = item["tag"]
    if not isinstance(tag, str) or not tag:
        raise JsonSampleError(f"tag: a non-empty string is required, got {tag!r}")
    mapped = _map(tags, tag)
    if mapped is None:
        raise JsonSampleError(f"tag {tag!r} is not in the tag map")
    time = _time(item, "time")
    value = item["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "boolean" if isinstance(value, bool) else type(value).__name__
        raise JsonSampleError(f"value: {value!r} is a {kind}, a number is required")
    try:
        number = float(value)
    except OverflowError:
        raise JsonSampleError(f"value: {value} is too large for a double") from None
    if not math.isfinite(number):
        raise JsonSampleError(f"value: {value!r} is not a finite number")
    quality = item.get("quality", QUALITY_GOOD)
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 255:
        raise JsonSampleError(f"quality: {quality!r} is not an integer 0-255")
    available = _time(item, "available") if item.get("available") is not None else None
    return Sample(mapped, time, number, quality, available)


def _map(tags: JsonTagMapping | None, tag: str) -> str | None:
    if tags is None:
        return tag
    if isinstance(tags, Mapping):
        return tags.get(tag)
    return tags(tag)


def _time(item: dict[str, Any], name: str) -> datetime:
    text = item[name]
    if not isinstance(text, str):
        raise JsonSampleError(f"{name}: ISO 8601 text is required, got {text!r}")
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise JsonSampleError(f"{name}: {exc}") from None


def _reject(item: Any, reason: str, source: str, now: datetime) -> Quarantined:
    tag = ""
    time = None
    if isinstance(item, dict):
        tag = item["tag"] if isinstance(item.get("tag"), str) else ""
        try:
            time = _time(item, "time") if "time" in item else None
        except JsonSampleError:
            time = None
    return Quarantined(source, reason, json.dumps(item), tag=tag, time=time, received=now)


def sample_json(sample: Sample) -> dict[str, Any]:
    """The JSON object of one sample (times as ISO 8601 UTC with ``Z``)."""
    item: dict[str, Any] = {"tag": sample.tag, "time": _iso(sample.time), "value": sample.value}
    if sample.quality != QUALITY_GOOD:
        item["quality"] = sample.quality
    if sample.available is not None:
        item["available"] = _iso(sample.available)
    return item


def encode_json_samples(samples: Sequence[Sample]) -> bytes:
    """One message holding ``samples`` (a JSON array)."""
    return json.dumps([sample_json(s) for s in samples]).encode("utf-8")


def _iso(time: datetime) -> str:
    if time.tzinfo is None:
        raise ValueError(f"time {time.isoformat()}: a timezone-aware UTC time is required")
    return time.astimezone(UTC).isoformat().replace("+00:00", "Z")
