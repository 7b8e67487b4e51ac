"""The tag map: which source item feeds which historian tag, converting units on the way.

A source item is what a connector receives (an OPC UA node id, a Sparkplug metric, a JSON tag,
a file column). Units are converted with pint (so ``degF`` -> ``degC`` handles the offset);
a value whose unit cannot be converted to the tag's unit, or that comes from an item the map
does not know, is quarantined with the reason instead of being stored.

Plant units pint does not know are defined here: ``pH`` (dimensionless), cell counts
(``cells``, so ``1e6 cells/mL`` converts to ``1e9 cells/L``) and ``mM`` as millimolar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from pydantic import Field

from pharmatwin.core.recipe import StrictData
from pharmatwin.historian.records import Quarantined, Sample


class UnitConversionError(ValueError):
    """A unit that is unknown, or of another dimension than the tag's."""


class TagMapping(StrictData):
    """One source item mapped to a historian tag.

    Attributes:
        source: the item as the connector names it (node id, metric name, JSON tag).
        tag: historian tag name.
        unit: the tag's engineering unit (what the historian stores).
        source_unit: the unit the source sends; empty means the tag's unit.
        description: what the tag measures.
        signal: the name the asset's model knows this measurement by (e.g. the bioreactor
            twin's ``BR01.TT101.PV``); empty means the tag itself. It lets many assets of one
            kind keep their own tag names.
    """

    source: str = Field(min_length=1)
    tag: str = Field(min_length=1)
    unit: str = ""
    source_unit: str = ""
    description: str = ""
    signal: str = ""


@dataclass(frozen=True)
class Affine:
    """``value_in_tag_unit = scale * value_in_source_unit + offset``."""

    scale: float = 1.0
    offset: float = 0.0

    def __call__(self, value: float) -> float:
        return self.scale * value + self.offset


@cache
def _registry() -> Any:
    import pint

    ureg: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("pH = [] = pH_unit")
    ureg.define("cells = [] = cell")
    ureg.define("mM = millimolar")
    return ureg


@cache
def converter(source_unit: str, unit: str) -> Affine:
    """The affine map from ``source_unit`` to ``unit``; raises UnitConversionError."""
    if source_unit == unit or not source_unit or not unit:
        return Affine()
    ureg = _registry()
    (k_in, u_in), (k_out, u_out) = _scaled(source_unit), _scaled(unit)
    try:
        zero = ureg.Quantity(0.0, u_in).to(u_out).magnitude / k_out
        one = ureg.Quantity(k_in, u_in).to(u_out).magnitude / k_out
    except Exception as exc:  # pint raises several error types (undefined, dimensionality)
        raise UnitConversionError(
            f"cannot convert {source_unit!r} to {unit!r}: {exc.__class__.__name__}: {exc}"
        ) from None
    return Affine(scale=float(one - zero), offset=float(zero))


def _scaled(unit: str) -> tuple[float, str]:
    """``"1e6 cells/mL"`` -> ``(1e6, "cells/mL")``: pint units carry no numeric factor."""
    head, _, rest = unit.strip().partition(" ")
    try:
        return float(head), rest or "dimensionless"
    except ValueError:
        return 1.0, unit


class TagMap:
    """Source items -> historian tags with unit conversion."""

    def __init__(self, mappings: Iterable[TagMapping], source: str = "tagmap") -> None:
        self.by_source = {m.source: m for m in mappings}
        self.source = source
        for m in self.by_source.values():
            try:
                converter(m.source_unit or m.unit, m.unit)
            except UnitConversionError as exc:
                raise ValueError(f"tag map, {m.source}: {exc}") from None

    def __contains__(self, source_item: str) -> bool:
        return source_item in self.by_source

    def tags(self) -> list[str]:
        return [m.tag for m in self.by_source.values()]

    def apply(
        self, samples: Iterable[Sample], units: Callable[[str], str | None] | None = None
    ) -> tuple[list[Sample], list[Quarantined]]:
        """Samples named by source item -> samples named by tag, in the tag's unit.

        ``units`` gives the unit a source reported for an item (e.g. from an OPC UA
        EngineeringUnits property or a Sparkplug metric property), which then overrides the
        map's ``source_unit``.
        """
        kept: list[Sample] = []
        rejected: list[Quarantined] = []
        for s in samples:
            m = self.by_source.get(s.tag)
            if m is None:
                rejected.append(self._reject(s, f"{s.tag}: not in the tag map"))
                continue
            reported = units(s.tag) if units is not None else None
            try:
                convert = converter(reported or m.source_unit or m.unit, m.unit)
            except UnitConversionError as exc:
                rejected.append(self._reject(s, str(exc), tag=m.tag))
                continue
            kept.append(replace(s, tag=m.tag, value=convert(s.value)))
        return kept, rejected

    def _reject(self, s: Sample, reason: str, tag: str = "") -> Quarantined:
        return Quarantined(
            source=self.source, reason=reason, raw=repr(s.value), tag=tag or s.tag, time=s.time
        )
