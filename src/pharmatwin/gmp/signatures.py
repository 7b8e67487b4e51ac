"""Electronic signatures bound to the content they sign.

A signature is given by re-entering the password of one's own account (21 CFR 11.100(a),
11.200(a)(1): user name and password, both components at each signing) and has a meaning:
authored, reviewed, approved or released (21 CFR 11.50(a)(3)). It stores the SHA-256 of the
canonical content signed (``pharmatwin.gmp.canonical.content_hash``), so it cannot be moved to
other content and a later change to the record shows it invalid (21 CFR 11.70; EU GMP Annex
11, section 14). Its manifestation — printed name, date and time (UTC) and meaning — is part
of the signature and of every export (21 CFR 11.50).

Rules: a wrong password is refused and counts toward the account's lockout as a failed login
does (21 CFR 11.300(d)); a locked or deactivated account cannot sign; the author of a record
(an ``authored`` signature, or a ``create`` / ``change`` of it in the audit trail) may not
approve or release it: approval needs a second person. Every signature is appended to the
audit trail (action ``sign``) in the same transaction as the signature row; the signature
table is append-only like the trail (``pharmatwin.gmp.audit_schema``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, cast, get_args

from pharmatwin.gmp.audit import AuditError, AuditTrail, check_text, utc_now
from pharmatwin.gmp.audit_schema import AUDIT_TABLE, SIGNATURE_COLUMNS, SIGNATURE_TABLE
from pharmatwin.gmp.canonical import content_hash
from pharmatwin.gmp.errors import AuthError, LockedOut
from pharmatwin.gmp.users import User, UserStore
from pharmatwin.historian.backend import Backend, Row, Tx
from pharmatwin.historian.records import from_us, to_us
from pharmatwin.historian.urls import resolve_db_url

__all__ = [
    "APPROVALS",
    "AUTHORING_ACTIONS",
    "MEANINGS",
    "Meaning",
    "Signature",
    "SignatureError",
    "SignatureStatus",
    "Signatures",
    "read_signatures",
]

Meaning = Literal["authored", "reviewed", "approved", "released"]
MEANINGS: tuple[Meaning, ...] = get_args(Meaning)
APPROVALS: frozenset[str] = frozenset({"approved", "released"})
"""Meanings the author of a record may not give it."""
AUTHORING_ACTIONS: frozenset[str] = frozenset({"create", "change"})
"""Audit-trail actions that make their user an author of the record."""


class SignatureError(ValueError):
    """A signature was refused; the message starts with the field or rule (``password:``,
    ``meaning:``, ``reason:``, ``four-eyes rule:``)."""


@dataclass(frozen=True)
class Signature:
    """One electronic signature and its manifestation (21 CFR 11.50).

    Attributes:
        record_type, record_id: the record signed.
        content_hash: SHA-256 hex of the canonical content signed.
        meaning: authored, reviewed, approved or released.
        user: the signer's account name.
        printed_name: the signer's name as printed in every export.
        at: when it was signed (UTC, server clock).
        signature_id: unique id of this signature.
        reason: the reason given (as in the audit trail).
        audit_seq: the audit-trail record of this signature.
    """

    record_type: str
    record_id: str
    content_hash: str
    meaning: Meaning
    user: str
    printed_name: str
    at: datetime
    signature_id: str
    reason: str = ""
    audit_seq: int = 0

    @property
    def manifestation(self) -> str:
        """Printed name, date and time (UTC) and meaning, in one line."""
        when = self.at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.printed_name} ({self.user}), {when}, {self.meaning}"


@dataclass(frozen=True)
class SignatureStatus:
    """A signature checked against the record's current content: ``valid`` when it signs
    exactly that content and its audit-trail record is there; ``problem`` says why not."""

    signature: Signature
    valid: bool
    problem: str = ""


def _signature(row: Row) -> Signature:
    sig_id, record_type, record_id, digest, meaning, user, printed, at_us, reason, seq = row
    return Signature(
        str(record_type),
        str(record_id),
        str(digest),
        cast(Meaning, str(meaning)),
        str(user),
        str(printed),
        from_us(int(at_us)),
        str(sig_id),
        str(reason),
        int(seq),
    )


def read_signatures(backend: Backend, record_type: str, record_id: str) -> list[Signature]:
    """The signatures of one record in the database of ``backend``, oldest first."""
    rows = backend.read(
        f"SELECT {SIGNATURE_COLUMNS} FROM {SIGNATURE_TABLE} WHERE record_type = ? AND "
        "record_id = ? ORDER BY at_us, audit_seq",
        (record_type, record_id),
    )
    return [_signature(row) for row in rows]


def _check_password(users: UserStore, name: str, password: str) -> User:
    """The account of ``name`` if ``password`` is its password (no session is opened; a wrong
    password counts toward lockout): ``UserStore.check_password`` in signature terms."""
    try:
        return users.check_password(name, password)
    except LockedOut as exc:
        raise SignatureError(f"password: user {name!r} is locked; cannot sign ({exc})") from exc
    except AuthError as exc:
        if "deactivated" in str(exc):
            raise SignatureError(f"user: {name!r} is deactivated and cannot sign") from exc
        raise SignatureError(f"password: {exc}") from exc


class Signatures:
    """Electronic signatures in the audit trail's database.

    Args:
        url: the database (default: the historian's); must be the audit trail's.
        users: the accounts whose passwords are checked.
        audit: the trail every signature is appended to (its connection is used).
        clock: the server's current UTC time (injected by tests).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        users: UserStore,
        audit: AuditTrail,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if url is not None and resolve_db_url(url) != audit.url:
            raise ValueError(f"url: {url!r} is not the audit trail's database")
        self._users = users
        self._audit = audit
        self._clock = clock

    def close(self) -> None:
        """Nothing to close: the user store and the trail belong to the caller."""

    def __enter__(self) -> Signatures:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def sign(
        self,
        *,
        user: str,
        password: str,
        record_type: str,
        record_id: str,
        content: Any,
        meaning: Meaning,
        reason: str,
    ) -> Signature:
        """Sign ``content`` (the record's current content) with ``meaning``.

        Raises ``SignatureError`` naming the problem: an unknown meaning, a blank reason or
        record, content that is not JSON data, a wrong password (counted toward lockout), a
        locked or deactivated account, or an approval by the record's author.
        """
        if meaning not in MEANINGS:
            raise SignatureError(f"meaning: {meaning!r} is not one of {', '.join(MEANINGS)}")
        try:
            check_text("reason", reason)
            check_text("record_type", record_type)
            check_text("record_id", record_id)
            digest = content_hash(content)
        except ValueError as exc:
            message = str(exc) if isinstance(exc, AuditError) else f"content: {exc}"
            raise SignatureError(message) from None
        account = _check_password(self._users, user, password)
        if meaning in APPROVALS and self._authored(user, record_type, record_id):
            raise SignatureError(
                f"four-eyes rule: {user!r} authored {record_type} {record_id!r} and may not "
                f"give it the meaning {meaning!r}; another person must approve it"
            )
        signed = self._clock()
        if signed.tzinfo is None:
            raise SignatureError(f"clock: returned a naive time {signed.isoformat()}")
        printed = getattr(account, "full_name", None) or account.name
        signature = Signature(
            record_type,
            record_id,
            digest,
            meaning,
            user,
            printed,
            from_us(to_us(signed)),
            uuid.uuid4().hex,
            reason,
        )
        return self._audit.write(lambda tx: self._store(tx, signature))

    def _store(self, tx: Tx, signature: Signature) -> Signature:
        record = self._audit.append_in(
            tx,
            user=signature.user,
            action="sign",
            record_type=signature.record_type,
            record_id=signature.record_id,
            old=None,
            new={
                "signature_id": signature.signature_id,
                "meaning": signature.meaning,
                "content_hash": signature.content_hash,
                "printed_name": signature.printed_name,
                "signed_at": signature.at,
            },
            reason=signature.reason,
        )
        s = signature
        tx.run(
            f"INSERT INTO {SIGNATURE_TABLE} ({SIGNATURE_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.signature_id,
                s.record_type,
                s.record_id,
                s.content_hash,
                s.meaning,
                s.user,
                s.printed_name,
                to_us(s.at),
                s.reason,
                record.seq,
            ),
        )
        return replace(s, audit_seq=record.seq)

    def _authored(self, user: str, record_type: str, record_id: str) -> bool:
        """Whether ``user`` signed the record as its author or created or changed it."""
        if any(
            s.meaning == "authored" and s.user == user
            for s in self.signatures(record_type, record_id)
        ):
            return True
        actions = sorted(AUTHORING_ACTIONS)
        marks = ", ".join("?" for _ in actions)
        rows = self._audit.backend.read(
            f"SELECT 1 FROM {AUDIT_TABLE} WHERE record_type = ? AND record_id = ? AND "
            f"user_name = ? AND action IN ({marks}) LIMIT 1",
            (record_type, record_id, user, *actions),
        )
        return bool(rows)

    def signatures(self, record_type: str, record_id: str) -> list[Signature]:
        """Every signature of the record, oldest first."""
        return read_signatures(self._audit.backend, record_type, record_id)

    def status(self, record_type: str, record_id: str, content: Any) -> list[SignatureStatus]:
        """Each signature of the record, valid only if it signs exactly ``content`` and its
        ``sign`` record is in the audit trail."""
        digest = content_hash(content)
        out: list[SignatureStatus] = []
        for signature in self.signatures(record_type, record_id):
            problem = ""
            if signature.content_hash != digest:
                problem = "the record changed after it was signed (content hash differs)"
            elif not self._in_trail(signature):
                problem = "no matching 'sign' record in the audit trail"
            out.append(SignatureStatus(signature, not problem, problem))
        return out

    def _in_trail(self, signature: Signature) -> bool:
        rows = self._audit.backend.read(
            f"SELECT user_name, action, record_type, record_id, new_value FROM {AUDIT_TABLE} "
            "WHERE seq = ?",
            (signature.audit_seq,),
        )
        if not rows:
            return False
        user, action, record_type, record_id, new_value = rows[0]
        try:
            new = json.loads(str(new_value))
        except ValueError:
            return False
        return (
            (user, action, record_type, record_id)
            == (signature.user, "sign", signature.record_type, signature.record_id)
            and isinstance(new, dict)
            and new.get("signature_id") == signature.signature_id
            and new.get("content_hash") == signature.content_hash
            and new.get("meaning") == signature.meaning
        )

    def is_approved(self, record_type: str, record_id: str, content: Any) -> bool:
        """Whether a valid ``approved`` signature exists for exactly ``content``."""
        return any(
            s.valid and s.signature.meaning == "approved"
            for s in self.status(record_type, record_id, content)
        )
