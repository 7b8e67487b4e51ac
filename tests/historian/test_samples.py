"""Writing samples: idempotent, conflicts and bad values quarantined, never overwritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pharmatwin.historian.records import (
    QUALITY_GOOD,
    QUALITY_UNCERTAIN,
    Quarantined,
    Sample,
    SampleSink,
    TagInfo,
    WriteResult,
    to_us,
)
from pharmatwin.historian.store import Historian
from pharmatwin.historian.urls import open_historian

T0 = datetime(2026, 1, 5, 6, tzinfo=UTC)


def test_the_historian_is_a_sample_sink(historian: Historian) -> None:
    sink: SampleSink = historian
    assert sink.write([]) == WriteResult(0, 0, 0)


def test_the_same_sample_twice_is_stored_once(historian: Historian) -> None:
    sample = Sample("pH", T0, 7.01)
    assert historian.write([sample]) == WriteResult(1, 0, 0)
    assert historian.write([sample]) == WriteResult(0, 1, 0)
    assert historian.write([sample, sample]) == WriteResult(0, 2, 0)
    assert historian.count() == 1
    assert historian.window().to_samples() == [sample]
    assert historian.quarantined() == []


def test_a_conflicting_value_is_quarantined_and_the_stored_one_kept(
    historian: Historian,
) -> None:
    historian.write([Sample("pH", T0, 7.01)])
    result = historian.write([Sample("pH", T0, 7.02), Sample("pH", T0 + timedelta(minutes=1), 7.0)])
    assert result == WriteResult(1, 0, 1)
    assert historian.latest(["pH"])["pH"].value == 7.0
    assert historian.window(["pH"], T0, T0 + timedelta(seconds=1)).value.tolist() == [7.01]
    [item] = historian.quarantined()
    assert item.reason == "conflicts with the stored value 7.01 at 2026-01-05T06:00:00Z"
    assert (item.tag, item.time, item.raw) == ("pH", T0, "7.02")


def test_a_different_quality_at_the_same_time_is_a_conflict(historian: Historian) -> None:
    historian.write([Sample("pH", T0, 7.01)])
    result = historian.write([Sample("pH", T0, 7.01, QUALITY_UNCERTAIN)])
    assert result == WriteResult(0, 0, 1)
    [item] = historian.quarantined()
    assert "stored quality 192" in item.reason
    assert historian.window().quality.tolist() == [QUALITY_GOOD]


def test_within_one_write_the_first_value_of_a_tag_and_time_wins(historian: Historian) -> None:
    result = historian.write_columns(
        ["a", "a", "a", "b"],
        np.array([1, 1, 1, 1]) * 1_000_000,
        np.array([1.0, 1.0, 2.0, 3.0]),
    )
    assert result == WriteResult(2, 1, 1)
    frame = historian.window()
    assert frame.tag.tolist() == ["a", "b"]
    assert frame.value.tolist() == [1.0, 3.0]
    assert "stored value 1.0" in historian.quarantined()[0].reason


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_are_quarantined(historian: Historian, bad: float) -> None:
    result = historian.write([Sample("pH", T0, bad), Sample("pH", T0 + timedelta(seconds=1), 7.0)])
    assert result == WriteResult(1, 0, 1)
    [item] = historian.quarantined()
    assert item.reason == f"value {bad!r} is not a finite number"
    assert item.tag == "pH" and item.time == T0 and item.source == "historian"
    assert historian.count() == 1


@pytest.mark.parametrize("quality", [-1, 128, 191, 256])
def test_unknown_quality_bytes_are_quarantined(historian: Historian, quality: int) -> None:
    result = historian.write_columns("pH", np.array([0, 1]), np.array([7.0, 7.1]), quality)
    assert result == WriteResult(0, 0, 2)
    assert all(f"quality {quality}" in q.reason for q in historian.quarantined())
    assert historian.count() == 0


def test_bad_samples_from_a_connector_are_quarantined_not_raised(historian: Historian) -> None:
    naive = datetime(2026, 1, 5, 6)
    samples = [Sample("pH", naive, 7.0), Sample("pH", T0, "seven"), Sample("", T0, 1.0)]  # type: ignore[arg-type]
    assert historian.write(samples, source="opcua") == WriteResult(0, 0, 3)
    reasons = [q.reason for q in historian.quarantined(source="opcua")]
    assert "timezone-aware" in reasons[0]
    assert "seven" in reasons[1] or "float" in reasons[1]
    assert reasons[2] == "tag: empty name"


def test_unknown_tags_are_created_with_an_empty_unit(historian: Historian) -> None:
    historian.ensure_tags([TagInfo("pH", "1", "bioreactor-1", "culture pH")])
    historian.write([Sample("pH", T0, 7.0), Sample("DO", T0, 40.0)])
    assert historian.tags() == [
        TagInfo("DO", ""),
        TagInfo("pH", "1", "bioreactor-1", "culture pH"),
    ]


def test_ensure_tags_fills_empty_fields_and_refuses_a_new_unit(historian: Historian) -> None:
    historian.write([Sample("T", T0, 36.8)])
    historian.ensure_tags([TagInfo("T", "degC", "br-1")])
    historian.ensure_tags([TagInfo("T", "", "", "culture temperature")])
    assert historian.tags() == [TagInfo("T", "degC", "br-1", "culture temperature")]
    with pytest.raises(ValueError, match="unit: tag 'T' is stored in 'degC', not 'K'"):
        historian.ensure_tags([TagInfo("T", "K")])
    with pytest.raises(ValueError, match="name"):
        historian.ensure_tags([TagInfo("", "K")])


def test_write_and_write_columns_store_the_same(historian: Historian, db_url: str) -> None:
    times = [T0 + timedelta(minutes=k) for k in range(5)]
    late = T0 + timedelta(hours=3)
    samples = [
        Sample("glc", t, 30.0 - k, QUALITY_GOOD, late if k == 2 else None)
        for k, t in enumerate(times)
    ]
    assert historian.write(samples) == WriteResult(5, 0, 0)
    first = historian.window()
    available = np.array([to_us(late) if k == 2 else to_us(t) for k, t in enumerate(times)])
    again = historian.write_columns(
        "glc", np.array([to_us(t) for t in times]), 30.0 - np.arange(5.0), QUALITY_GOOD, available
    )
    assert again == WriteResult(0, 5, 0)
    assert historian.window().equals(first)
    assert historian.window().to_samples() == samples


def test_column_lengths_are_checked(historian: Historian) -> None:
    with pytest.raises(ValueError, match="value: expected 2 values"):
        historian.write_columns("a", np.array([1, 2]), np.array([1.0]))
    with pytest.raises(ValueError, match="tag: expected 2 names"):
        historian.write_columns(["a"], np.array([1, 2]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="time_us: integer microseconds"):
        historian.write_columns("a", np.array([1.5]), np.array([1.0]))


def test_quarantine_keeps_items_and_filters_them(historian: Historian) -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = datetime(2026, 1, 2, tzinfo=UTC)
    items = [
        Quarantined("mqtt", "payload is not protobuf", "\x00\x01", received=early),
        Quarantined("opcua", "Bad_NodeIdUnknown", "ns=2;s=X", "X", T0, late),
    ]
    historian.quarantine(items)
    assert historian.quarantined() == items
    assert historian.quarantined(source="opcua") == items[1:]
    assert historian.quarantined(since=late) == items[1:]
    assert historian.quarantined(source="mqtt", since=late) == []


def test_a_failed_write_stores_nothing(historian: Historian) -> None:
    historian.write([Sample("pH", T0, 7.0)])
    with pytest.raises(ValueError, match="value"):
        historian.write_columns("pH", np.array([5, 6]), np.array([1.0, 2.0, 3.0]))
    assert historian.count() == 1


def test_opening_twice_keeps_everything(db_url: str) -> None:
    with open_historian(db_url) as first:
        first.write([Sample("pH", T0, 7.0)])
    with open_historian(db_url) as second, open_historian(db_url) as third:
        assert second.count() == 1
        assert third.write([Sample("pH", T0, 7.0)]) == WriteResult(0, 1, 0)


def test_a_tag_name_with_a_nul_character_is_quarantined(historian: Historian) -> None:
    assert historian.write([Sample("p\x00H", T0, 7.0)]) == WriteResult(0, 0, 1)
    [item] = historian.quarantined()
    assert item.reason == "tag: contains a NUL character"
    assert item.tag == "p\\x00H"
