"""The genealogy records (ISA-95 / IEC 62264-2 material model) and the checks on their fields.

A material definition has a class (``raw``, ``packaging``, ``intermediate``, ``finished``); a
material lot holds a quantity of one material and has a status; a material sublot (here a
*container*: vial, bag, drum, ...) is part of one lot; a *step* is one run of a process segment
(ISA-95 "segment response") of a batch on one piece of equipment; a *material actual* records a
lot or container consumed or produced by a step, with its quantity. Quantities are in the unit
given with them (the lot's or container's own unit); times are timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, cast, get_args

__all__ = [
    "CONTAINER_KINDS",
    "ActualRow",
    "BulkData",
    "BulkSummary",
    "Container",
    "ContainerRow",
    "Equipment",
    "EquipmentRow",
    "GenealogyError",
    "Lot",
    "LotRow",
    "LotStatus",
    "Material",
    "MaterialActual",
    "MaterialKind",
    "MaterialRow",
    "Step",
    "StepRow",
    "Use",
    "check_id",
    "check_kind",
    "check_quantity",
    "check_status",
    "check_text",
    "check_time",
    "check_unit",
]

MaterialKind = Literal["raw", "packaging", "intermediate", "finished"]
"""Material classes: raw material, packaging component, intermediate, finished product."""
LotStatus = Literal["quarantined", "released", "rejected", "recalled", "consumed"]
Use = Literal["consumed", "produced"]

MATERIAL_KINDS: tuple[str, ...] = get_args(MaterialKind)
LOT_STATUSES: tuple[str, ...] = get_args(LotStatus)
CONTAINER_KINDS = ("vial", "syringe", "cartridge", "bottle", "bag", "drum", "tote", "box")
"""Suggested container kinds; any lower-case word is accepted."""

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}")
_WORD = re.compile(r"[a-z][a-z0-9 _-]{0,63}")


class GenealogyError(ValueError):
    """Bad genealogy input; the message starts with the field (``lot_id: no lot 'L-7'``)."""


def check_id(field: str, value: object) -> str:
    """An identifier: 1 to 128 letters, digits or ``. _ : / # -``, starting with a letter or
    digit."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise GenealogyError(
            f"{field}: {value!r} is not an id (1 to 128 letters, digits or '._:/#-', "
            "starting with a letter or digit)"
        )
    return value


def check_text(field: str, value: object) -> str:
    """Non-blank text without NUL characters (at most 500 characters)."""
    if not isinstance(value, str) or not value.strip():
        raise GenealogyError(f"{field}: required (non-blank text), got {value!r}")
    if "\x00" in value or len(value) > 500:
        raise GenealogyError(f"{field}: must be at most 500 characters without NUL")
    return value


def check_word(field: str, value: object) -> str:
    """A lower-case word (``vial``, ``filling line``): what kind of container or equipment."""
    if not isinstance(value, str) or _WORD.fullmatch(value) is None:
        raise GenealogyError(
            f"{field}: {value!r} is not a kind (a lower-case word, e.g. {CONTAINER_KINDS[0]!r})"
        )
    return value


def check_kind(value: object) -> MaterialKind:
    """A material class, one of ``MATERIAL_KINDS``."""
    if value not in MATERIAL_KINDS:
        raise GenealogyError(
            f"kind: {value!r} is not a material class; one of {', '.join(MATERIAL_KINDS)}"
        )
    return cast(MaterialKind, value)


def check_status(value: object) -> LotStatus:
    """A lot status, one of ``LOT_STATUSES``."""
    if value not in LOT_STATUSES:
        raise GenealogyError(f"status: {value!r} is not a status; one of {', '.join(LOT_STATUSES)}")
    return cast(LotStatus, value)


def check_quantity(value: object, field: str = "quantity") -> float:
    """A finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GenealogyError(f"{field}: must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise GenealogyError(f"{field}: must be a finite number >= 0, got {value!r}")
    return number


def check_unit(value: object, field: str = "unit") -> str:
    """A unit symbol (``kg``, ``L``, ``vial``): 1 to 32 characters, no spaces at the ends."""
    if not isinstance(value, str) or not value or value != value.strip() or len(value) > 32:
        raise GenealogyError(f"{field}: {value!r} is not a unit (1 to 32 characters)")
    return value


def check_time(field: str, value: object) -> datetime:
    """A timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise GenealogyError(f"{field}: must be a datetime, got {value!r}")
    if value.tzinfo is None:
        raise GenealogyError(f"{field}: a naive time {value.isoformat()}; give UTC")
    return value


@dataclass(frozen=True, slots=True)
class Material:
    """A material definition (IEC 62264-2): id, name, class, base unit, created (UTC)."""

    material_id: str
    name: str
    kind: MaterialKind
    unit: str
    created: datetime


@dataclass(frozen=True, slots=True)
class Equipment:
    """A piece of equipment steps run on (``kind``: "bioreactor", "filling line", ...)."""

    equipment_id: str
    name: str
    kind: str
    created: datetime


@dataclass(frozen=True, slots=True)
class Lot:
    """A material lot: ``quantity`` in ``unit`` of ``material_id``, with its status."""

    lot_id: str
    material_id: str
    quantity: float
    unit: str
    status: LotStatus
    created: datetime


@dataclass(frozen=True, slots=True)
class Container:
    """A material sublot: one container (``kind``: vial, bag, drum, ...) of lot ``lot_id``."""

    container_id: str
    lot_id: str
    material_id: str
    kind: str
    quantity: float
    unit: str
    status: LotStatus
    created: datetime


@dataclass(frozen=True, slots=True)
class Step:
    """One run of process segment ``segment`` in batch ``batch_id`` on ``equipment_id``, from
    ``start`` to ``end`` (UTC; ``None`` while running)."""

    step_id: str
    segment: str
    batch_id: str
    equipment_id: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class MaterialActual:
    """A lot (``container_id`` None) or a container consumed or produced by a step."""

    step_id: str
    use: Use
    lot_id: str
    container_id: str | None
    quantity: float
    unit: str


# bulk imports (pharmatwin.gmp.genealogy_bulk) ----------------------------------------------

MaterialRow = tuple[str, str, str, str]
EquipmentRow = tuple[str, str, str]
LotRow = tuple[str, str, float, str, str]
ContainerRow = tuple[str, str, str, float, str]
StepRow = tuple[str, str, str, str, datetime, datetime | None]
ActualRow = tuple[str, str, str, float, str]


@dataclass(frozen=True)
class BulkData:
    """Rows to import, as tuples (a row may refer to rows imported before, or in this import):

    * ``materials``: ``(material_id, name, kind, unit)``
    * ``equipment``: ``(equipment_id, name, kind)``
    * ``lots``: ``(lot_id, material_id, quantity, unit, status)``
    * ``containers``: ``(container_id, lot_id, kind, quantity, unit)``
    * ``steps``: ``(step_id, segment, batch_id, equipment_id, start, end or None)``
    * ``consumed``, ``produced``: ``(step_id, "lot" or "container", id, quantity, unit)``
    """

    materials: Sequence[MaterialRow] = ()
    equipment: Sequence[EquipmentRow] = ()
    lots: Sequence[LotRow] = ()
    containers: Sequence[ContainerRow] = ()
    steps: Sequence[StepRow] = ()
    consumed: Sequence[ActualRow] = ()
    produced: Sequence[ActualRow] = ()

    def content_hash(self) -> str:
        """SHA-256 (hex) of every row, one tab-separated line each, section by section."""
        digest = hashlib.sha256()
        for section in dataclasses.fields(self):
            digest.update(f"[{section.name}]\n".encode())
            for row in getattr(self, section.name):
                digest.update(("\t".join(map(str, row)) + "\n").encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class BulkSummary:
    """What an import stored: its id, the counts per kind of row, the content hash."""

    import_id: str
    counts: dict[str, int] = field(default_factory=dict)
    content_hash: str = ""
