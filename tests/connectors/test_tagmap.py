"""The tag map converts units with pint and quarantines what it cannot convert."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pharmatwin.connectors.tagmap import TagMap, TagMapping, converter
from pharmatwin.historian.records import Sample

T0 = datetime(2026, 1, 5, 6, tzinfo=UTC)


def test_offset_and_scale_conversions() -> None:
    assert converter("degF", "degC")(212.0) == pytest.approx(100.0)
    assert converter("degC", "K")(0.0) == pytest.approx(273.15)
    assert converter("mL", "L")(1500.0) == pytest.approx(1.5)
    assert converter("g/L", "mg/L")(3.2) == pytest.approx(3200.0)
    assert converter("1e6 cells/mL", "1e9 cells/L")(12.0) == pytest.approx(12.0)
    assert converter("mmol/L", "mM")(4.5) == pytest.approx(4.5)
    assert converter("pH", "pH")(7.0) == 7.0


def test_map_renames_and_converts() -> None:
    tagmap = TagMap(
        [TagMapping(source="ns=2;s=TT", tag="BR01.TT101.PV", unit="degC", source_unit="degF")]
    )
    kept, rejected = tagmap.apply([Sample("ns=2;s=TT", T0, 98.6)])
    assert not rejected
    assert kept[0].tag == "BR01.TT101.PV"
    assert kept[0].value == pytest.approx(37.0)
    assert kept[0].time == T0


def test_unconvertible_and_unknown_items_are_quarantined() -> None:
    tagmap = TagMap([TagMapping(source="TT", tag="BR01.TT101.PV", unit="degC")])
    kept, rejected = tagmap.apply(
        [Sample("TT", T0, 37.0), Sample("XX", T0, 1.0)], units=lambda item: "L"
    )
    assert not kept
    by_tag = {q.tag: q for q in rejected}
    assert "cannot convert 'L' to 'degC'" in by_tag["BR01.TT101.PV"].reason
    assert by_tag["BR01.TT101.PV"].raw == "37.0"
    assert by_tag["XX"].reason == "XX: not in the tag map"


def test_a_bad_map_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="tag map, TT: cannot convert 'furlong' to 'degC'"):
        TagMap([TagMapping(source="TT", tag="T", unit="degC", source_unit="furlong")])
