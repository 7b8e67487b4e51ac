"""Electronic signatures through the service: list a record's signatures against its current
content, and sign it with one's own password.

The service resolves the current content of the record types it knows — ``batch_record``
(id: the batch id; the electronic batch record's content), ``twin_config_version`` and
``recipe_version`` (id ``NAME@vN``; the stored version's content) — so a signature always binds
to what the record holds now (21 CFR 11.70), and each listed signature is valid only for
exactly that content. Signing needs ``sign_record``; the meanings "approved" and "released"
need ``approve_record`` (``approve_version`` for a version), and the author of a record may
not give them (``pharmatwin.gmp.signatures``: a second person approves).

The re-entered password is checked against the account here first (``check_signer``), on
every signing, so a changed password, a lock or a deactivation takes effect at once whatever
the library remembers of earlier signings (21 CFR 11.200(a)(1), 11.300(d)).
"""

from __future__ import annotations

import re
from typing import Any

from pharmatwin.gmp.batch_record import RECORD_TYPE as BATCH_RECORD
from pharmatwin.gmp.canonical import content_hash
from pharmatwin.gmp.errors import AuthError, LockedOut
from pharmatwin.gmp.signatures import APPROVALS, SignatureError, Signatures, SignatureStatus
from pharmatwin.gmp.users import UserStore
from pharmatwin.gmp.versions import RECORD_TYPES, VersionError, VersionStore
from pharmatwin.service.schemas.gmp import SignatureOut, SignaturesOut, SignIn
from pharmatwin.service.services.batch_records import BatchRecordService
from pharmatwin.service.services.errors import BadInputError, NotFoundError, ServiceError

VERSION_KINDS: dict[str, str] = {record: kind for kind, record in RECORD_TYPES.items()}
"""Record type of a version -> its kind (``twin_config_version`` -> ``twin_config``)."""
SUPPORTED = (BATCH_RECORD, *sorted(VERSION_KINDS))
_VERSION_ID = re.compile(r"^(?P<name>.+)@v(?P<version>[1-9][0-9]{0,8})$")


class ContentChangedError(ServiceError):
    """The record's content is not the one the signer reviewed."""

    status = 409


def required_action(record_type: str, meaning: str) -> str:
    """The permission a signature needs: ``approve_version`` / ``approve_record`` for an
    approval or release, ``sign_record`` otherwise."""
    if meaning not in APPROVALS:
        return "sign_record"
    return "approve_version" if record_type in VERSION_KINDS else "approve_record"


def check_signer(users: UserStore, name: str, password: str) -> None:
    """Check the signer's re-entered password against the account now (a wrong one counts
    toward the lockout); ``SignatureError`` naming ``password`` or ``user`` otherwise."""
    try:
        users.check_password(name, password)
    except LockedOut as exc:
        raise SignatureError(f"password: user {name!r} is locked; cannot sign ({exc})") from exc
    except AuthError as exc:
        if "deactivated" in str(exc):
            raise SignatureError(f"user: {name!r} is deactivated and cannot sign") from exc
        raise SignatureError(f"password: {exc}") from exc


def signature_out(status: SignatureStatus) -> SignatureOut:
    s = status.signature
    return SignatureOut(
        signature_id=s.signature_id,
        record_type=s.record_type,
        record_id=s.record_id,
        meaning=s.meaning,
        user=s.user,
        printed_name=s.printed_name,
        signed_at=s.at,
        content_hash=s.content_hash,
        reason=s.reason,
        valid=status.valid,
        problem=status.problem,
        manifestation=s.manifestation,
        audit_seq=s.audit_seq,
    )


class SignatureService:
    def __init__(
        self,
        signatures: Signatures,
        records: BatchRecordService,
        versions: VersionStore,
        users: UserStore,
    ) -> None:
        self.signatures = signatures
        self.records = records
        self.versions = versions
        self.users = users

    def content(self, record_type: str, record_id: str) -> Any:
        """The current content of a record: 422 naming ``record_type`` for a type the service
        cannot resolve, 404 for an unknown record."""
        if record_type == BATCH_RECORD:
            return self.records.build(record_id).content
        kind = VERSION_KINDS.get(record_type)
        if kind is None:
            raise BadInputError(
                "record_type",
                f"{record_type!r} cannot be signed here; one of {', '.join(SUPPORTED)}",
            )
        match = _VERSION_ID.match(record_id)
        if match is None:
            raise BadInputError("record_id", f"{record_id!r} is not a version id like NAME@v3")
        try:
            version = self.versions.get(kind, match["name"], int(match["version"]))
        except VersionError as exc:
            raise NotFoundError(f"record_id: {exc}") from None
        return version.content

    def list(self, record_type: str, record_id: str) -> SignaturesOut:
        """The record's signatures, each valid or not for its current content."""
        content = self.content(record_type, record_id)
        statuses = self.signatures.status(record_type, record_id, content)
        return SignaturesOut(
            record_type=record_type,
            record_id=record_id,
            content_hash=content_hash(content),
            signatures=[signature_out(s) for s in statuses],
        )

    def sign(self, user: str, body: SignIn) -> SignatureOut:
        """Sign the record's current content as ``user`` (``SignatureError`` from the library
        for a wrong password, a locked account or the four-eyes rule)."""
        content = self.content(body.record_type, body.record_id)
        digest = content_hash(content)
        if body.content_hash is not None and body.content_hash != digest:
            raise ContentChangedError(
                f"content_hash: {body.record_type} {body.record_id!r} changed since it was shown "
                f"(now {digest[:16]}..., reviewed {body.content_hash[:16]}...); review it again"
            )
        check_signer(self.users, user, body.password)
        signature = self.signatures.sign(
            user=user,
            password=body.password,
            record_type=body.record_type,
            record_id=body.record_id,
            content=content,
            meaning=body.meaning,
            reason=body.reason,
        )
        return signature_out(SignatureStatus(signature, True))
