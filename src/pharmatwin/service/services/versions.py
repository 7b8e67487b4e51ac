"""Versioned twin configurations and recipes through the service: list, show with signatures,
diff, propose (engineers) and approve (QA, by e-signature; never the author).

See ``pharmatwin.gmp.versions``: every proposal and approval is in the audit trail with its
reason (21 CFR 11.10(e), 11.10(k)(2); EU GMP Annex 11, sections 10 and 14).
"""

from __future__ import annotations

from typing import Any

from pharmatwin.gmp.users import UserStore
from pharmatwin.gmp.versions import (
    KINDS,
    UnchangedContentError,
    Version,
    VersionError,
    VersionStore,
    json_diff,
)
from pharmatwin.service.schemas.gmp import SignatureOut
from pharmatwin.service.schemas.versions import ChangeOut, DiffOut, VersionedOut, VersionOut
from pharmatwin.service.services.errors import BadInputError, NotFoundError, ServiceError
from pharmatwin.service.services.signatures import check_signer, signature_out


class UnchangedError(ServiceError):
    """A proposal identical to the latest version: nothing to version."""

    status = 409


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise BadInputError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    return kind


class VersionService:
    def __init__(self, store: VersionStore, users: UserStore) -> None:
        self.store = store
        self.users = users

    def _out(self, v: Version) -> VersionOut:
        statuses = self.store.signatures.status(v.record_type, v.record_id, v.content)
        signatures: list[SignatureOut] = [signature_out(s) for s in statuses]
        return VersionOut(
            kind=v.kind,
            name=v.name,
            version=v.version,
            record_type=v.record_type,
            record_id=v.record_id,
            content=v.content,
            content_hash=v.content_hash,
            author=v.author,
            reason=v.reason,
            created=v.created,
            status=v.status,
            intact=v.intact,
            signatures=signatures,
        )

    def names(self, kind: str | None) -> list[VersionedOut]:
        """Every versioned record (of one kind, if given) with its latest version number."""
        checked = None if kind is None else check_kind(kind)
        return [VersionedOut(kind=k, name=n, latest=v) for k, n, v in self.store.names(checked)]

    def versions(self, kind: str, name: str) -> list[VersionOut]:
        """Every version of one record, oldest first; 404 when it has none."""
        found = self.store.versions(check_kind(kind), name)
        if not found:
            raise NotFoundError(f"name: no {kind} {name!r} is versioned")
        return [self._out(v) for v in found]

    def version(self, kind: str, name: str, version: int) -> Version:
        """One stored version; 404 naming ``version`` if there is no such one."""
        try:
            return self.store.get(check_kind(kind), name, version)
        except VersionError as exc:
            raise NotFoundError(str(exc)) from None

    def diff(self, kind: str, name: str, a: int, b: int) -> DiffOut:
        """What changed from version ``a`` to version ``b``."""
        old, new = self.version(kind, name, a), self.version(kind, name, b)
        changes = json_diff(old.content, new.content)
        return DiffOut(
            kind=kind,
            name=name,
            a=a,
            b=b,
            changes=[
                ChangeOut(path=c.path, change=c.change, old=c.old, new=c.new) for c in changes
            ],
        )

    def propose(
        self, kind: str, name: str, content: dict[str, Any], user: str, reason: str
    ) -> VersionOut:
        """Store ``content`` as the next (draft) version; 409 when it equals the latest,
        422 naming ``content.<field>`` for invalid content."""
        try:
            v = self.store.propose(check_kind(kind), name, content, user=user, reason=reason)
        except UnchangedContentError as exc:
            raise UnchangedError(str(exc)) from None
        return self._out(v)

    def approve(
        self, kind: str, name: str, version: int, *, user: str, password: str, reason: str
    ) -> VersionOut:
        """Sign the version "approved" as ``user`` (``SignatureError`` for its author, a wrong
        password or a locked account)."""
        stored = self.version(kind, name, version)  # 404 first
        if user != stored.author:  # the four-eyes refusal needs no password
            check_signer(self.users, user, password)
        self.store.approve(kind, name, version, user=user, password=password, reason=reason)
        return self._out(self.store.get(kind, name, version))
