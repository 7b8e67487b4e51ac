"""Versioned twin configurations and recipes (see ``pharmatwin.gmp.versions``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pharmatwin.service.schemas.common import In, Out, Reason, UtcTime
from pharmatwin.service.schemas.gmp import SignatureOut


class VersionedOut(Out):
    """A versioned record: its kind (``twin_config`` or ``recipe``), name and latest
    version number."""

    kind: str
    name: str
    latest: int


class VersionOut(Out):
    """One version: content and its SHA-256 ``content_hash``, author, reason, time (UTC);
    ``status`` "approved" while a valid "approved" signature covers exactly this content;
    ``intact`` false if the stored content no longer matches its hash; ``record_type`` and
    ``record_id`` name it in the audit trail and on signatures."""

    kind: str
    name: str
    version: int
    record_type: str
    record_id: str
    content: dict[str, Any]
    content_hash: str
    author: str
    reason: str
    created: UtcTime
    status: str
    intact: bool
    signatures: list[SignatureOut]


class ChangeOut(Out):
    """One difference between two versions: ``path`` (e.g. ``phases[growth].setpoints.T``),
    ``change`` (added, removed, changed), old and new value."""

    path: str
    change: str
    old: Any
    new: Any


class DiffOut(Out):
    kind: str
    name: str
    a: int
    b: int
    changes: list[ChangeOut]


class ProposeIn(In):
    """A new version's content (a ``TwinConfigDocument`` or a ``Recipe`` as JSON) and why."""

    content: dict[str, Any]
    reason: Reason


class ApproveIn(In):
    """Approve a version: your own password (an electronic signature, meaning "approved")
    and why."""

    password: str = Field(min_length=1, max_length=1024)
    reason: Reason
