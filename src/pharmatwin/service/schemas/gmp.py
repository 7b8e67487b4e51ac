"""The audit trail and electronic signatures (21 CFR Part 11; EU GMP Annex 11)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pharmatwin.service.schemas.common import In, Out, Reason, UtcTime

MeaningIn = Literal["authored", "reviewed", "approved", "released"]
"""What a signature means (21 CFR 11.50(a)(3))."""


class AuditRecordOut(Out):
    """One audit-trail record: who (``user``), when (``at``, UTC, server clock), what
    (``action`` on ``record_type`` / ``record_id``), the old and new value (JSON), the reason,
    and its place in the hash chain (``previous_hash``, ``hash``: SHA-256 hex)."""

    seq: int
    at: UtcTime
    user: str
    action: str
    record_type: str
    record_id: str
    old: Any
    new: Any
    reason: str
    previous_hash: str
    hash: str


class AuditListOut(Out):
    """The records matching the filter, in ``seq`` order: the last ``limit`` of ``total``."""

    total: int
    limit: int
    records: list[AuditRecordOut]


class VerifyOut(Out):
    """The check of the whole hash chain: ``ok``, how many records were found good, the
    first bad one and what is wrong with it (``message``), and the head (``head_seq``,
    ``head_hash``): an anchor to keep outside the database."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    message: str
    head_seq: int
    head_hash: str


class SignatureOut(Out):
    """A signature and its manifestation (21 CFR 11.50): printed name, date and time (UTC),
    meaning; ``valid`` when it signs exactly the record's current content (``problem`` says
    why not); ``manifestation``: the three in one line."""

    signature_id: str
    record_type: str
    record_id: str
    meaning: str
    user: str
    printed_name: str
    signed_at: UtcTime
    content_hash: str
    reason: str
    valid: bool
    problem: str
    manifestation: str
    audit_seq: int


class SignaturesOut(Out):
    """The signatures of one record, checked against its current content (``content_hash``:
    SHA-256 of the canonical JSON of that content)."""

    record_type: str
    record_id: str
    content_hash: str
    signatures: list[SignatureOut]


class SignIn(In):
    """Sign a record with your own password (re-entered at each signing: 21 CFR
    11.200(a)(1)). ``content_hash``, if given, must equal the record's current content hash
    (the content you reviewed), else the signature is refused (409)."""

    record_type: str = Field(min_length=1, max_length=100)
    record_id: str = Field(min_length=1, max_length=300)
    meaning: MeaningIn
    password: str = Field(min_length=1, max_length=1024)
    reason: Reason
    content_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
