"""Reading samples back: windows, latest values and bins, checked against numpy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from pharmatwin.historian.errors import UnknownBatch
from pharmatwin.historian.frame import SampleFrame
from pharmatwin.historian.records import Batch, Sample, to_us
from pharmatwin.historian.store import Historian

T0 = datetime(2026, 1, 5, tzinfo=UTC)
US = 1_000_000


def known_data(historian: Historian) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Three tags at irregular times over 6 h, written in shuffled order."""
    rng = np.random.default_rng(3)
    data = {}
    for name, n in (("DO", 300), ("pH", 200), ("T", 50)):
        times = to_us(T0) + np.sort(rng.choice(6 * 3600, n, replace=False)) * US
        data[name] = (times, rng.normal(7.0, 0.5, n))
    tags = np.concatenate([[k] * len(v[0]) for k, v in data.items()]).astype(object)
    times = np.concatenate([v[0] for v in data.values()])
    values = np.concatenate([v[1] for v in data.values()])
    order = rng.permutation(len(times))
    historian.write_columns(tags[order], times[order], values[order])
    return data


def test_window_is_sorted_by_tag_then_time_and_half_open(historian: Historian) -> None:
    data = known_data(historian)
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    frame = historian.window(["pH", "T", "missing"], start, end)
    assert frame.tags() == ["T", "pH"]
    assert frame.tag.tolist() == sorted(frame.tag.tolist())
    for name in ("T", "pH"):
        times, values = data[name]
        keep = (times >= to_us(start)) & (times < to_us(end))
        part = frame.for_tag(name)
        np.testing.assert_array_equal(part.time_us, times[keep])
        np.testing.assert_array_equal(part.value, values[keep])
    assert len(historian.window()) == 550 == historian.count()
    assert len(historian.window([])) == 0
    edge = int(data["T"][0][3])
    at_edge = historian.window(["T"], start=T0 + timedelta(microseconds=edge - to_us(T0)))
    assert int(at_edge.time_us[0]) == edge


def test_window_rejects_a_single_string_for_tags(historian: Historian) -> None:
    with pytest.raises(ValueError, match="tags: a list"):
        historian.window("pH")


def test_latest_is_the_last_sample_of_each_tag(historian: Historian) -> None:
    data = known_data(historian)
    latest = historian.latest()
    assert sorted(latest) == ["DO", "T", "pH"]
    for name, (times, values) in data.items():
        assert to_us(latest[name].time) == times[-1]
        assert latest[name].value == values[-1]
    assert list(historian.latest(["T", "nope"])) == ["T"]


@pytest.mark.parametrize("how", ["mean", "min", "max", "first", "last", "count"])
def test_resample_matches_numpy(historian: Historian, how: str) -> None:
    data = known_data(historian)
    start, end, every = (
        T0 + timedelta(minutes=30),
        T0 + timedelta(hours=5, minutes=7),
        timedelta(minutes=20),
    )
    edges, values = historian.resample("pH", start, end, every, how)  # type: ignore[arg-type]
    times, raw = data["pH"]
    step = every // timedelta(microseconds=1)
    expected_edges = to_us(start) + step * np.arange(
        int(np.ceil((to_us(end) - to_us(start)) / step))
    )
    np.testing.assert_array_equal(edges, expected_edges)
    reducers: dict[str, Callable[[np.ndarray], Any]] = {
        "mean": np.mean,
        "min": np.min,
        "max": np.max,
        "first": lambda a: a[0],
        "last": lambda a: a[-1],
        "count": len,
    }
    for k, edge in enumerate(edges):
        keep = (times >= edge) & (times < min(edge + step, to_us(end)))
        if keep.any():
            assert values[k] == pytest.approx(float(reducers[how](raw[keep])), rel=1e-12)
        else:
            assert values[k] == 0 if how == "count" else np.isnan(values[k])


def test_resample_marks_empty_bins_and_checks_its_arguments(historian: Historian) -> None:
    historian.write(
        [Sample("x", T0 + timedelta(minutes=5), 1.0), Sample("x", T0 + timedelta(minutes=6), 3.0)]
    )
    edges, values = historian.resample(
        "x", T0, T0 + timedelta(minutes=30), timedelta(minutes=10), "mean"
    )
    assert len(edges) == 3
    assert values[0] == 2.0 and np.isnan(values[1:]).all()
    _, counts = historian.resample(
        "x", T0, T0 + timedelta(minutes=30), timedelta(minutes=10), "count"
    )
    assert counts.tolist() == [2.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="every"):
        historian.resample("x", T0, T0 + timedelta(hours=1), timedelta(0), "mean")
    with pytest.raises(ValueError, match="end"):
        historian.resample("x", T0, T0, timedelta(minutes=1), "mean")
    with pytest.raises(ValueError, match="how"):
        historian.resample("x", T0, T0 + timedelta(hours=1), timedelta(minutes=1), "median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tag: 'y'"):
        historian.resample("y", T0, T0 + timedelta(hours=1), timedelta(minutes=1), "mean")


def test_batch_samples_cover_the_batch_window(historian: Historian) -> None:
    data = known_data(historian)
    start = T0 + timedelta(hours=2)
    historian.start_batch(Batch("B1", "br-1", "cho", start))
    running = historian.batch_samples("B1", ["DO"])
    times = data["DO"][0]
    np.testing.assert_array_equal(running.time_us, times[times >= to_us(start)])
    end_us = int(times[times >= to_us(start)][10])
    historian.end_batch("B1", T0 + timedelta(microseconds=end_us - to_us(T0)), "complete")
    done = historian.batch_samples("B1", ["DO"])
    assert len(done) == 11 and int(done.time_us[-1]) == end_us  # the end is included
    assert set(historian.batch_samples("B1").tags()) == {"DO", "T", "pH"}
    with pytest.raises(UnknownBatch, match="batch_id: no batch 'B9'"):
        historian.batch_samples("B9")


def test_frame_helpers(historian: Historian) -> None:
    late = T0 + timedelta(hours=4)
    samples = [Sample("a", T0, 1.0), Sample("b", T0, 2.0, 64, late)]
    historian.write(samples)
    frame = historian.window()
    assert frame.to_samples() == samples
    assert frame.for_tag("b").available_us.tolist() == [to_us(late)]
    assert frame.quality.dtype == np.int32 and frame.time_us.dtype == np.int64
    assert len(SampleFrame.empty()) == 0
    with pytest.raises(ValueError, match="time_us: length"):
        SampleFrame.from_columns(["a"], [], [1.0], [192], [0])
