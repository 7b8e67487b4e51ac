"""Historian files: export and import round trips, files from `simulate --out`, bad rows."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from pharmatwin.historian.files import COLUMNS, SampleTable, write_samples
from pharmatwin.historian.records import Batch, Sample, TagInfo, WriteResult, to_us
from pharmatwin.historian.store import Historian
from pharmatwin.historian.transfer import export_file, import_file
from pharmatwin.historian.urls import open_historian

T0 = datetime(2026, 1, 5, 6, tzinfo=UTC)


def simulated_table() -> SampleTable:
    """Two tags over 10 h as `simulate --out` writes them: pH every 15 min, titre 2-hourly,
    available 4 h late."""
    ph_h = np.arange(0.0, 10.0, 0.25)
    titre_h = np.arange(0.0, 10.0, 2.0)
    n_ph, n_titre = len(ph_h), len(titre_h)
    return SampleTable(
        start=T0,
        time_h=np.concatenate([ph_h, titre_h]),
        tag=np.array(["pH"] * n_ph + ["titre"] * n_titre, dtype=object),
        value=np.concatenate([7.0 + 0.01 * np.sin(ph_h), 0.1 * titre_h**1.5]),
        unit=np.array(["1"] * n_ph + ["mg/L"] * n_titre, dtype=object),
        available_h=np.concatenate([ph_h, titre_h + 4.0]),
        batch_id=np.array(["nominal-1"] * (n_ph + n_titre), dtype=object),
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_simulate_file_imports(historian: Historian, tmp_path: Path, suffix: str) -> None:
    table = simulated_table()
    path = tmp_path / f"plant{suffix}"
    write_samples(table, path)
    assert import_file(historian, path) == WriteResult(len(table), 0, 0)
    assert historian.tags() == [TagInfo("pH", "1"), TagInfo("titre", "mg/L")]
    titre = historian.window(["titre"]).for_tag("titre")
    expected_us = to_us(T0) + np.round(table.time_h[-5:] * 3.6e9).astype(np.int64)
    np.testing.assert_array_equal(titre.time_us, expected_us)
    np.testing.assert_array_equal(titre.available_us, expected_us + 4 * 3_600_000_000)
    np.testing.assert_allclose(titre.value, table.value[-5:], rtol=0, atol=0)
    assert import_file(historian, path) == WriteResult(0, len(table), 0)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_then_import_gives_identical_samples(
    historian: Historian, tmp_path: Path, suffix: str
) -> None:
    rng = np.random.default_rng(5)
    n = 400
    times = to_us(T0) + np.sort(rng.choice(10**9, n, replace=False)) * 37  # odd microseconds
    historian.ensure_tags([TagInfo("DO", "%", "br-1"), TagInfo("glc", "mM", "br-1")])
    tags = np.where(np.arange(n) % 3 == 0, "glc", "DO").astype(object)
    available = times + np.where(tags == "glc", 3_600_000_000, 0)
    quality = np.where(np.arange(n) % 7 == 0, 64, 192)
    historian.write_columns(tags, times, rng.normal(size=n) * 1e3, quality, available)
    historian.start_batch(Batch("B1", "br-1", "cho", T0))
    path = tmp_path / f"export{suffix}"
    assert export_file(historian, path) == n
    with open_historian(f"sqlite:///{tmp_path / 'fresh.db'}") as fresh:
        assert import_file(fresh, path) == WriteResult(n, 0, 0)
        assert fresh.window().equals(historian.window())
        assert [t.unit for t in fresh.tags()] == ["%", "mM"]


def test_export_writes_the_simulate_columns_with_batches(
    historian: Historian, tmp_path: Path
) -> None:
    historian.ensure_tags([TagInfo("pH", "1", "br-1"), TagInfo("x", "g")])
    historian.start_batch(Batch("B1", "br-1", "cho", T0))
    historian.write([Sample("pH", T0 + timedelta(hours=1, minutes=30), 7.0), Sample("x", T0, 1.0)])
    historian.write([Sample("pH", T0 - timedelta(hours=1), 7.1)])
    path = tmp_path / "out.csv"
    export_file(historian, path, tags=["pH"], start=T0 - timedelta(hours=2))
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["time_utc"], r["batch_h"], r["batch_id"]) for r in rows] == [
        ("2026-01-05T05:00:00.000Z", "", ""),
        ("2026-01-05T07:30:00.000Z", "1.500000", "B1"),
    ]
    assert rows[1]["unit"] == "1" and rows[1]["quality"] == "192"


def test_bad_rows_are_quarantined_with_their_row_number(
    historian: Historian, tmp_path: Path
) -> None:
    historian.ensure_tags([TagInfo("pH", "1")])
    path = tmp_path / "bad.csv"
    lines = [
        ",".join(COLUMNS),
        "2026-01-05T06:00:00Z,0,pH,7.0,1,192,,B1",
        "yesterday,0,pH,7.0,1,192,,B1",
        "2026-01-05T06:01:00Z,0,pH,seven,1,192,,B1",
        "2026-01-05T06:02:00Z,0,pH,nan,1,192,,B1",
        "2026-01-05T06:03:00Z,0,,7.0,1,192,,B1",
        "2026-01-05T06:04:00Z,0,pH,7.0,mol/L,192,,B1",
        "2026-01-05T06:05:00Z,0,pH,7.0,1,130,,B1",
        "2026-01-05T06:06:00,0,pH,7.0,1,192,,B1",
        "2026-01-05T06:07:00Z,0,pH,7.2,1,,2026-01-05T09:00:00Z,",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert import_file(historian, path, source="lims") == WriteResult(2, 0, 7)
    reasons = [q.reason for q in historian.quarantined(source="lims")]
    assert reasons[0].startswith("row 2: ") and "'yesterday' is not an ISO 8601 time" in reasons[0]
    assert reasons[1] == "row 3: value: 'seven' is not a number"
    assert reasons[2] == "row 4: value: nan is not a finite number"
    assert reasons[3] == "row 5: tag: empty"
    assert reasons[4] == "row 6: unit: 'mol/L' differs from the tag's unit '1'"
    assert reasons[5] == "row 7: quality: 130 is not an OPC quality byte"
    assert reasons[6].startswith("row 8: ") and "no time zone" in reasons[6]
    assert historian.quarantined(source="lims")[1].raw.startswith("2026-01-05T06:01:00Z,0,pH,seven")
    assert historian.latest(["pH"])["pH"].available == datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_a_conflicting_import_is_quarantined(historian: Historian, tmp_path: Path) -> None:
    historian.write([Sample("pH", T0, 7.0)])
    path = tmp_path / "conflict.csv"
    path.write_text("time_utc,tag,value\n2026-01-05T06:00:00Z,pH,7.5\n", encoding="utf-8")
    assert import_file(historian, path) == WriteResult(0, 0, 1)
    assert historian.quarantined(source="file")[0].reason.startswith("conflicts with the stored")


def test_missing_columns_and_unknown_types_are_errors(historian: Historian, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("time_utc,unit\n2026-01-05T06:00:00Z,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns tag, value"):
        import_file(historian, path)
    with pytest.raises(ValueError, match=r"unknown file type '\.xlsx'"):
        import_file(historian, tmp_path / "plant.xlsx")
    with pytest.raises(ValueError, match="unknown file type"):
        export_file(historian, tmp_path / "plant.json")
