"""The production gate: a twin in production mode runs only approved, versioned configurations.

A twin's configuration (model, parameter overrides, specifications, estimator, alarm policy and
corrective actions: ``TwinConfigDocument``) and its recipe are versioned GMP records (see
``pharmatwin.gmp.versions``). Before a twin runs a batch the gate looks up the version whose
content is exactly the asset's current one:

* ``production``: that version must carry a valid "approved" electronic signature on exactly
  this content, else ``UnapprovedConfiguration`` names the asset, the version and why (no version,
  a draft, or an approval that a later change no longer covers). 21 CFR 11.10(a) and (k)(2)
  (validated systems, change control of system documentation); EU GMP Annex 11 sections 4.2
  and 10 (change and configuration management).
* ``development``: the configuration is recorded as a version (a draft when new) and the twin
  runs with an ``UnapprovedConfigurationWarning``.

Either way the refs of the exact versions used (``VersionRef``) are stamped on the batch (a
``batch`` event, ``versions_event``) and on every forecast (``VersionStampedStore``), so each
record names the configuration it came from (Annex 11 section 4.8 / ISA-88 batch record).

The runtime does not import ``pharmatwin.gmp`` (a higher layer): it sees the version store
through the ``VersionRecords`` protocol, which ``pharmatwin.gmp.versions.VersionStore`` meets.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, get_args

from pharmatwin.core.actions import Action
from pharmatwin.core.recipe import StrictData
from pharmatwin.core.specs import Specification
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.historian.records import Batch, Event, Sample, TwinOutput
from pharmatwin.runtime.asset import AlarmConfig, Asset, TwinConfig
from pharmatwin.runtime.live_twin import TwinStore

log = logging.getLogger(__name__)

Mode = Literal["production", "development"]
MODES: tuple[Mode, ...] = get_args(Mode)

VersionKind = Literal["twin_config", "recipe"]
VERSION_KINDS: tuple[VersionKind, ...] = get_args(VersionKind)

MODEL_OF_KIND = {"bioreactor": "ChoFedBatch"}
"""The model class each kind of equipment runs (see ``Asset.build_twin``)."""

VERSIONS_KEY = "versions"
"""Key of the version refs in a stamped document (forecast data, batch event data)."""

VERSIONS_SOURCE = "runtime:versions"
"""Source of the ``batch`` event that records a batch's version refs."""


@dataclass(frozen=True)
class VersionRef:
    """The exact version of a versioned record a batch or forecast used.

    ``content_hash`` is the SHA-256 (hex) of the version's canonical JSON content, so the ref
    identifies the content even if the version table were altered.
    """

    kind: VersionKind
    name: str
    version: int
    content_hash: str

    def document(self) -> dict[str, Any]:
        """The ref as a JSON object."""
        return {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_document(cls, data: Mapping[str, Any]) -> VersionRef:
        """A ref read back from ``document()``; ``ValueError`` naming the bad field."""
        kind, name = data.get("kind"), data.get("name")
        version, digest = data.get("version"), data.get("content_hash")
        if kind not in VERSION_KINDS:
            raise ValueError(f"kind: {kind!r} is not one of {', '.join(VERSION_KINDS)}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: {name!r} is not a record name")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"version: {version!r} is not a version number (1, 2, ...)")
        if not isinstance(digest, str) or len(digest) != 64:
            raise ValueError(f"content_hash: {digest!r} is not a SHA-256 hex digest")
        return cls(kind, name, version, digest)

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r} v{self.version} (sha256 {self.content_hash[:12]})"


class TwinConfigDocument(StrictData):
    """The versioned part of an asset: what decides what its twin computes.

    ``parameters`` are the overrides of the model's literature defaults; ``specifications``
    are the ones in force (the equipment's defaults when the asset gives none).
    """

    kind: Literal["bioreactor"]
    model: str
    parameters: dict[str, float]
    specifications: list[Specification]
    twin: TwinConfig
    alarms: AlarmConfig
    actions: list[Action]


def twin_config_content(asset: Asset) -> dict[str, Any]:
    """The JSON content of ``asset``'s twin configuration (see ``TwinConfigDocument``)."""
    document = TwinConfigDocument(
        kind=asset.kind,
        model=MODEL_OF_KIND[asset.kind],
        parameters=dict(asset.parameters),
        specifications=list(asset.specifications) or list(SPECIFICATIONS),
        twin=asset.twin,
        alarms=asset.alarms,
        actions=list(asset.actions),
    )
    return document.model_dump(mode="json")


def recipe_content(asset: Asset) -> dict[str, Any]:
    """The JSON content of ``asset``'s recipe."""
    return asset.recipe.model_dump(mode="json")


class VersionInfo(Protocol):
    """What the gate reads of a stored version."""

    @property
    def version(self) -> int: ...
    @property
    def ref(self) -> VersionRef: ...


class VersionRecords(Protocol):
    """What the gate needs of the version store (``pharmatwin.gmp.versions.VersionStore``)."""

    def find(self, kind: str, name: str, content: Mapping[str, Any]) -> VersionInfo | None: ...
    def latest(self, kind: str, name: str, approved_only: bool = False) -> VersionInfo | None: ...
    def propose(
        self, kind: str, name: str, content: Mapping[str, Any], *, user: str, reason: str
    ) -> VersionInfo: ...
    def is_approved(self, kind: str, name: str, version: int) -> bool: ...


class UnapprovedConfiguration(Exception):  # noqa: N818 (the name of the public API)
    """A production twin was asked to run a configuration that is not an approved version."""

    def __init__(self, asset: str, kind: str, name: str, version: int | None, why: str) -> None:
        which = f"{kind} {name!r}" + ("" if version is None else f" v{version}")
        super().__init__(
            f"asset {asset!r}: {which} is not approved: {why}; production mode runs only "
            "approved versions (approve it with `pharmatwin versions approve`, or run in "
            "development mode)"
        )
        self.asset = asset
        self.kind = kind
        self.name = name
        self.version = version
        self.why = why


class UnapprovedConfigurationWarning(UserWarning):
    """A development twin runs a configuration that is not an approved version."""


def require_approved(
    asset: Asset, versions: VersionRecords, *, mode: Mode, user: str = "runtime"
) -> VersionRef:
    """The ref of the approved version of ``asset``'s twin configuration (see the module).

    Raises ``UnapprovedConfiguration`` in production mode, warns in development mode (after
    recording the configuration as a version by ``user`` if it is new).
    """
    content = twin_config_content(asset)
    return _require(
        asset.name, "twin_config", asset.name, content, versions=versions, mode=mode, user=user
    )


def require_approved_recipe(
    asset: Asset, versions: VersionRecords, *, mode: Mode, user: str = "runtime"
) -> VersionRef:
    """As ``require_approved``, for the recipe ``asset`` runs (versioned under its name)."""
    content = recipe_content(asset)
    return _require(
        asset.name, "recipe", asset.recipe.name, content, versions=versions, mode=mode, user=user
    )


def require_approved_versions(
    asset: Asset, versions: VersionRecords, *, mode: Mode, user: str = "runtime"
) -> tuple[VersionRef, VersionRef]:
    """The refs of the twin configuration and the recipe, both through the gate."""
    return (
        require_approved(asset, versions, mode=mode, user=user),
        require_approved_recipe(asset, versions, mode=mode, user=user),
    )


def _require(
    asset: str,
    kind: VersionKind,
    name: str,
    content: dict[str, Any],
    *,
    versions: VersionRecords,
    mode: Mode,
    user: str,
) -> VersionRef:
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    found = versions.find(kind, name, content)
    if found is not None and versions.is_approved(kind, name, found.version):
        return found.ref
    if found is not None:
        why = (
            f"v{found.version} is a draft (no valid 'approved' signature by a second person "
            "on exactly its content)"
        )
    else:
        approved = versions.latest(kind, name, approved_only=True)
        why = (
            "the current content was never proposed as a version"
            if approved is None
            else f"the current content differs from approved v{approved.version} (changed "
            "after approval: that signature does not cover it)"
        )
    if mode == "production":
        raise UnapprovedConfiguration(
            asset, kind, name, None if found is None else found.version, why
        )
    if found is None:
        found = versions.propose(
            kind,
            name,
            content,
            user=user,
            reason=f"development run of asset {asset}: configuration recorded as used",
        )
    message = f"asset {asset!r}: development mode runs unapproved {found.ref} ({why})"
    log.warning("%s", message)
    warnings.warn(message, UnapprovedConfigurationWarning, stacklevel=3)
    return found.ref


# stamping records with the refs ---------------------------------------------------------


def version_refs_document(refs: Iterable[VersionRef]) -> list[dict[str, Any]]:
    """The refs as a JSON list (the value stored under ``"versions"``)."""
    return [ref.document() for ref in refs]


def stamp(document: Mapping[str, Any], refs: Iterable[VersionRef]) -> dict[str, Any]:
    """A copy of ``document`` with the refs under ``"versions"``."""
    return {**document, VERSIONS_KEY: version_refs_document(refs)}


def refs_in(document: Mapping[str, Any]) -> list[VersionRef]:
    """The refs stamped on a document (empty if none); ``ValueError`` if malformed."""
    stamped = document.get(VERSIONS_KEY, [])
    if not isinstance(stamped, list):
        raise ValueError(f"{VERSIONS_KEY}: a list of version refs expected")
    return [VersionRef.from_document(item) for item in stamped]


def versions_event(batch: Batch, refs: Sequence[VersionRef]) -> Event:
    """The ``batch`` event that records the versions ``batch`` runs with (idempotent: one per
    batch, at its start)."""
    return Event(
        kind="batch",
        source=VERSIONS_SOURCE,
        time=batch.start,
        subject=f"{batch.batch_id}:versions",
        message=f"batch {batch.batch_id} runs " + ", ".join(str(r) for r in refs),
        asset=batch.asset,
        batch_id=batch.batch_id,
        data=stamp({}, refs),
    )


def batch_refs(events: Iterable[Event]) -> list[VersionRef]:
    """The refs recorded by ``versions_event`` among a batch's events."""
    out: list[VersionRef] = []
    for e in events:
        if e.kind == "batch" and e.source == VERSIONS_SOURCE:
            out.extend(r for r in refs_in(e.data) if r not in out)
    return out


class VersionStampedStore:
    """A ``TwinStore`` that stamps every forecast it stores with the version refs.

    Wraps the historian a ``LiveTwin`` writes to; everything else passes through unchanged.
    """

    def __init__(self, store: TwinStore, refs: Sequence[VersionRef]) -> None:
        self.store = store
        self.refs = tuple(refs)

    def batch_samples(self, batch_id: str, tags: Sequence[str] | None = None) -> Any:
        return self.store.batch_samples(batch_id, tags)

    def window(
        self, tags: Sequence[str] | None, start: datetime | None, end: datetime | None
    ) -> Any:
        return self.store.window(tags, start, end)

    def latest(self, tags: Sequence[str] | None = None) -> dict[str, Sample]:
        return self.store.latest(tags)

    def write_output(self, out: TwinOutput) -> None:
        if out.kind == "forecast":
            out = TwinOutput(
                out.twin, out.batch_id, out.kind, out.time, out.batch_h, stamp(out.data, self.refs)
            )
        self.store.write_output(out)

    def add_event(self, event: Event) -> None:
        self.store.add_event(event)

    def set_checkpoint(self, name: str, data: dict[str, Any]) -> None:
        self.store.set_checkpoint(name, data)

    def checkpoint(self, name: str) -> dict[str, Any] | None:
        return self.store.checkpoint(name)
