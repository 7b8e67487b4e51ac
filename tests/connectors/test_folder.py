"""The file connector reads dropped CSV / Parquet files through the tag map into the historian."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pharmatwin.connectors.folder import FolderSource
from pharmatwin.connectors.mapped_sink import MappedSink
from pharmatwin.connectors.tagmap import TagMap, TagMapping
from pharmatwin.historian.urls import open_historian

HEADER = "time_utc,batch_h,tag,value,unit,quality,available_utc,batch_id\n"


def _file(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_files_are_read_converted_and_bad_rows_quarantined(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _file(
        inbox,
        "a.csv",
        [
            "2026-01-05T06:01:00Z,,TT,98.6,degF,192,,",
            "2026-01-05T06:02:00Z,,TT,99.5,degF,192,,",
            "2026-01-05T06:03:00Z,,TT,not-a-number,degF,192,,",
            "2026-01-05T06:04:00Z,,WT,2000,L,192,,",
        ],
    )
    _file(inbox, "b.csv", ["2026-01-05T06:05:00Z,,TT,37.2,L,192,,"])
    (inbox / "c.csv").write_text("when,what\n1,2\n", encoding="utf-8")
    tagmap = TagMap([TagMapping(source="TT", tag="BR01.TT101.PV", unit="degC")], source="files")
    with open_historian(f"sqlite:///{tmp_path / 'h.db'}") as historian:
        source = FolderSource(inbox, MappedSink(historian, tagmap), name="files")
        counts = source.read_once()
        frame = historian.window(["BR01.TT101.PV"], None, None)
        reasons = [q.reason for q in historian.quarantined(source="files")]
        assert source.read_once() == {}  # nothing left to read
    np.testing.assert_allclose(frame.value, [37.0, 37.5], atol=1e-9)
    assert counts["a.csv"].inserted == 2 and counts["a.csv"].quarantined == 2
    assert any("row 3: value: 'not-a-number' is not a number" in r for r in reasons)
    assert any(r == "WT: not in the tag map" for r in reasons)
    assert any("cannot convert 'L' to 'degC'" in r for r in reasons)
    assert any("missing columns" in r for r in reasons)
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["a.csv", "b.csv"]
    assert [p.name for p in (inbox / "rejected").iterdir()] == ["c.csv"]


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with open_historian(f"sqlite:///{tmp_path / 'h.db'}") as historian:
        sink = MappedSink(historian, TagMap([]))
        with pytest.raises(ValueError, match="is not a folder"):
            FolderSource(tmp_path / "nope", sink)
