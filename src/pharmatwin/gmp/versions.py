"""Versioned twin configurations and recipes: propose, approve by e-signature, diff.

A version is an immutable GMP record: the content (a JSON document, validated and normalized:
``TwinConfigDocument`` for a twin configuration, ``Recipe`` for a recipe), its SHA-256 content
hash (``pharmatwin.gmp.canonical.content_hash``), the author, the reason and the UTC time.
Versions of one (kind, name) are numbered 1, 2, ...; proposing the content of the latest
version again is refused. A version is "approved" while it carries a valid electronic signature
with the meaning "approved" on exactly its content (``Signatures``: the password is re-entered,
and the author cannot approve their own version: a second person must). Every proposal and
approval is appended to the audit trail with its reason.

Regulation: 21 CFR 11.10(e) (audit trail of creation and change), 11.10(k)(2) (change control
of system documentation), 11.50, 11.70 and 11.200 (signature manifestation, binding to the
record, two components); EU GMP Annex 11 sections 4 (validation), 9 (audit trails), 10 (change
and configuration management) and 14 (electronic signature).

Stored in the historian's database (same URL, SQLite or PostgreSQL) in the append-only table
``gmp_versions`` (``pharmatwin.gmp.versions_schema``): there is no update or delete path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

from pydantic import ValidationError

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.canonical import canonical_json, content_hash
from pharmatwin.gmp.signatures import Signature, SignatureError, Signatures, SignatureStatus
from pharmatwin.gmp.versions_diff import Change, json_diff
from pharmatwin.gmp.versions_schema import COLUMNS, VERSION_LOCK, create_version_tables
from pharmatwin.historian.backend import Row, Tx
from pharmatwin.historian.records import from_us, to_us
from pharmatwin.historian.urls import resolve_db_url
from pharmatwin.runtime.versioned_twin import (
    VERSION_KINDS,
    VersionKind,
    VersionRef,
    stamp,
    version_refs_document,
)

__all__ = [
    "KINDS",
    "Change",
    "Status",
    "UnchangedContentError",
    "Version",
    "VersionError",
    "VersionKind",
    "VersionRef",
    "VersionStore",
    "check_kind",
    "json_diff",
    "normalize_content",
    "stamp",
    "version_refs_document",
]

KINDS = VERSION_KINDS
Status = Literal["draft", "approved"]

RECORD_TYPES: dict[str, str] = {"twin_config": "twin_config_version", "recipe": "recipe_version"}
"""The record type of each kind in the audit trail and on signatures."""

_FIELD_PREFIX = re.compile(r"^[A-Za-z_][\w.\-]*: ")
NAME_PATTERN = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


class VersionError(ValueError):
    """Bad input about a version; the message starts with the field."""


class UnchangedContentError(VersionError):
    """The proposed content is identical to the latest version's: no new version."""


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def record_type(kind: str) -> str:
    """The record type of versions of ``kind`` (audit trail, signatures)."""
    return RECORD_TYPES[check_kind(kind)]


def record_id(name: str, version: int) -> str:
    """The record id of one version, e.g. ``BR01@v3``."""
    return f"{name}@v{version}"


def check_kind(kind: object) -> VersionKind:
    if kind not in KINDS:
        raise VersionError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def check_name(name: object) -> str:
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None or not name.strip():
        raise VersionError(f"name: {name!r} is not a record name (1 to 200 printable characters)")
    return name


def _required(field: str, text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise VersionError(f"{field}: required (non-blank)")
    return text


def normalize_content(kind: str, name: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """The validated, normalized JSON content (defaults filled in, so that equal
    configurations hash equal); ``VersionError`` naming ``content.<field>``."""
    from pharmatwin.core.recipe import Recipe
    from pharmatwin.equipment.bioreactor.model import ChoFedBatch
    from pharmatwin.runtime.versioned_twin import TwinConfigDocument

    checked = check_kind(kind)
    if not isinstance(content, Mapping):
        raise VersionError(f"content: a JSON object expected, got {type(content).__name__}")
    try:
        if checked == "recipe":
            recipe = Recipe.model_validate(dict(content))
            if recipe.name != name:
                raise VersionError(
                    f"content.name: the recipe is called {recipe.name!r}, not {name!r}"
                )
            return recipe.model_dump(mode="json")
        document = TwinConfigDocument.model_validate(dict(content))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        path = f"content.{where}" if where else "content"
        joint = "." if _FIELD_PREFIX.match(message) else ": "  # a validator named a field
        raise VersionError(f"{path}{joint}{message}") from None
    try:
        ChoFedBatch.parameter_vector(document.parameters)
    except (KeyError, ValueError) as exc:
        raise VersionError(f"content.parameters: {exc}") from None
    return document.model_dump(mode="json")


@dataclass(frozen=True)
class Version:
    """One stored version. ``status`` is "approved" while a valid "approved" signature covers
    exactly ``content``; ``intact`` is false if the stored content no longer matches the hash
    recorded when it was proposed (altered storage)."""

    kind: VersionKind
    name: str
    version: int
    content: dict[str, Any]
    content_hash: str
    author: str
    reason: str
    created: datetime
    status: Status
    intact: bool = True

    @property
    def ref(self) -> VersionRef:
        return VersionRef(self.kind, self.name, self.version, self.content_hash)

    @property
    def record_type(self) -> str:
        return RECORD_TYPES[self.kind]

    @property
    def record_id(self) -> str:
        return record_id(self.name, self.version)


class VersionStore:
    """Versions of twin configurations and recipes, with approvals through ``signatures``
    and every proposal in ``audit``.

    The versions live in the audit trail's database and are written through its connection, a
    version and its audit record in one transaction (``url``, if given, must be that
    database). Closing the store leaves the trail and the signatures open (the caller's).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        audit: AuditTrail,
        signatures: Signatures,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if url is not None and resolve_db_url(url) != audit.url:
            raise VersionError(
                f"url: versions are stored in the audit trail's database ({audit.label}), "
                "so that a version and its audit record are written together"
            )
        self.audit = audit
        self.signatures = signatures
        self._clock = clock
        self._backend = audit.backend
        dialect = self._backend.dialect
        self._backend.write(lambda tx: create_version_tables(tx, dialect))

    @property
    def label(self) -> str:
        """The database, for messages (no password)."""
        return self._backend.label

    def close(self) -> None:
        """Nothing to close: the connection is the audit trail's (closed with it)."""

    def __enter__(self) -> VersionStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # writes -------------------------------------------------------------------------------

    def propose(
        self,
        kind: str,
        name: str,
        content: Mapping[str, Any],
        *,
        user: str,
        reason: str,
        password: str | None = None,
    ) -> Version:
        """Store ``content`` as the next version (a draft) by ``user``, with ``reason``.

        With ``password`` the author also signs it ("authored"); the password is checked when
        signing, after the version is stored, so a caller that must refuse an unauthenticated
        proposal checks it first (``pharmatwin versions propose`` logs in). Raises
        ``UnchangedContentError`` when the content equals the latest version's,
        ``VersionError`` for bad input.
        """
        checked = check_kind(kind)
        check_name(name)
        _required("user", user)
        _required("reason", reason)
        normalized = normalize_content(checked, name, content)
        digest = content_hash(normalized)
        text = canonical_json(normalized).decode("utf-8")
        created_us = to_us(self._clock())

        def work(tx: Tx) -> int:
            if self._backend.dialect == "postgresql":
                tx.run("SELECT pg_advisory_xact_lock(?)", (VERSION_LOCK,))
            rows = tx.run(
                f"SELECT {COLUMNS} FROM gmp_versions WHERE kind = ? AND name = ? "
                "ORDER BY version DESC LIMIT 1",
                (checked, name),
            )
            old = None
            if rows:
                previous = rows[0]
                if str(previous[4]) == digest:
                    raise UnchangedContentError(
                        f"content: identical to {checked} {name!r} v{previous[2]}; no new version"
                    )
                old = {
                    "version": int(previous[2]),
                    "content_hash": str(previous[4]),
                    "content": json.loads(previous[3]),
                }
            number = 1 if old is None else int(old["version"]) + 1
            tx.run(
                f"INSERT INTO gmp_versions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (checked, name, number, text, digest, user, reason, created_us),
            )
            self.audit.append_in(
                tx,
                user=user,
                action="create",
                record_type=RECORD_TYPES[checked],
                record_id=record_id(name, number),
                old=old,
                new={"version": number, "content_hash": digest, "content": normalized},
                reason=reason,
            )
            return number

        number = self.audit.write(work)
        version = Version(
            checked, name, number, normalized, digest, user, reason, from_us(created_us), "draft"
        )
        if password is not None:
            self._sign(version, user, password, "authored", reason)
        return version

    def approve(
        self, kind: str, name: str, version: int, *, user: str, password: str, reason: str
    ) -> Signature:
        """Approve one version: ``user`` signs its content with the meaning "approved"
        (re-entering ``password``). Refused (``SignatureError``) for its author."""
        stored = self.get(kind, name, version)
        _required("reason", reason)
        if user == stored.author:
            raise SignatureError(
                f"four-eyes rule: {user!r} proposed {stored.kind} {name!r} v{version}; "
                "another person must approve it"
            )
        if not stored.intact:
            raise VersionError(
                f"version: the stored content of {stored.kind} {name!r} v{version} no longer "
                "matches its hash; it cannot be approved"
            )
        return self._sign(stored, user, password, "approved", reason)

    def _sign(self, v: Version, user: str, password: str, meaning: Any, reason: str) -> Signature:
        return self.signatures.sign(
            user=user,
            password=password,
            record_type=v.record_type,
            record_id=v.record_id,
            content=v.content,
            meaning=meaning,
            reason=reason,
        )

    # reads --------------------------------------------------------------------------------

    def _version(self, row: Row) -> Version:
        kind, name, number, text, digest, author, reason, created_us = row
        content = json.loads(text)
        actual = content_hash(content)
        checked = check_kind(kind)
        approved = self.signatures.is_approved(
            RECORD_TYPES[checked], record_id(name, int(number)), content
        )
        return Version(
            checked,
            str(name),
            int(number),
            content,
            actual,
            str(author),
            str(reason),
            from_us(int(created_us)),
            "approved" if approved else "draft",
            intact=actual == str(digest),
        )

    def versions(self, kind: str, name: str) -> list[Version]:
        """Every version of one record, oldest first."""
        rows = self._backend.read(
            f"SELECT {COLUMNS} FROM gmp_versions WHERE kind = ? AND name = ? ORDER BY version",
            (check_kind(kind), name),
        )
        return [self._version(row) for row in rows]

    def names(self, kind: str | None = None) -> list[tuple[VersionKind, str, int]]:
        """(kind, name, latest version number) of every versioned record."""
        sql = "SELECT kind, name, MAX(version) FROM gmp_versions"
        params: tuple[object, ...] = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            params = (check_kind(kind),)
        rows = self._backend.read(sql + " GROUP BY kind, name ORDER BY kind, name", params)
        return [(check_kind(k), str(n), int(v)) for k, n, v in rows]

    def get(self, kind: str, name: str, version: int) -> Version:
        """One version; ``VersionError`` naming ``version`` if there is no such one."""
        checked = check_kind(kind)
        rows = self._backend.read(
            f"SELECT {COLUMNS} FROM gmp_versions WHERE kind = ? AND name = ? AND version = ?",
            (checked, name, int(version)),
        )
        if not rows:
            latest = self.latest(checked, name)
            have = f"latest is v{latest.version}" if latest else "it has no versions"
            raise VersionError(f"version: no {checked} {name!r} v{version} ({have})")
        return self._version(rows[0])

    def latest(self, kind: str, name: str, approved_only: bool = False) -> Version | None:
        """The newest version (the newest approved one with ``approved_only``), or ``None``."""
        for v in reversed(self.versions(kind, name)):
            if not approved_only or v.status == "approved":
                return v
        return None

    def find(self, kind: str, name: str, content: Mapping[str, Any]) -> Version | None:
        """The newest version whose content is exactly ``content`` (after normalizing)."""
        checked = check_kind(kind)
        digest = content_hash(normalize_content(checked, name, content))
        rows = self._backend.read(
            f"SELECT {COLUMNS} FROM gmp_versions WHERE kind = ? AND name = ? "
            "AND content_hash = ? ORDER BY version DESC",
            (checked, name, digest),
        )
        found = (self._version(row) for row in rows)
        return next((v for v in found if v.content_hash == digest), None)

    def is_approved(self, kind: str, name: str, version: int) -> bool:
        """Whether a valid "approved" signature covers exactly this version's content."""
        return self.get(kind, name, version).status == "approved"

    def signature_status(self, kind: str, name: str, version: int) -> list[SignatureStatus]:
        """The signatures of one version, each valid or not for its stored content."""
        v = self.get(kind, name, version)
        return self.signatures.status(v.record_type, v.record_id, v.content)

    def diff(self, kind: str, name: str, a: int, b: int) -> list[Change]:
        """What changed from version ``a`` to version ``b``."""
        return json_diff(self.get(kind, name, a).content, self.get(kind, name, b).content)
