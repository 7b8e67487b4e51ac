"""Verifying the audit trail's hash chain: the first altered, removed, inserted or reordered
record, by name (21 CFR 11.10(a) and (e); EU GMP Annex 11, sections 7.1 and 9).

The chain is read in ``seq`` order in chunks (``WHERE seq >= last ORDER BY seq LIMIT n``, the
primary key), so a trail of any length is checked in constant memory. Each record must have
``seq`` one more than the one before (the first is 1), a ``previous_hash`` equal to the hash
of the record before (the first: ``GENESIS_HASH``) and a ``hash`` equal to SHA-256 of its own
content (``pharmatwin.gmp.audit_schema.record_message``).

What the chain cannot show on its own: someone who can write the database and recomputes the
hash of every record after a change leaves a consistent chain, and removing the *last* records
leaves a shorter consistent one. An *anchor* — the ``(seq, hash)`` of a record, written down
outside the database (the review report prints it) — catches both: ``verify(anchor=...)``
checks that the chain still holds that record with that hash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pharmatwin.gmp.audit_schema import AUDIT_COLUMNS, AUDIT_TABLE, GENESIS_HASH, record_hash
from pharmatwin.historian.backend import Row

__all__ = ["CHUNK", "SEARCH", "VerifyResult", "row_hash", "verify_chain"]

CHUNK = 10_000
"""Records read per query."""

SEARCH = 1_000
"""How far (in seq) a moved record's original place is looked for when naming the problem."""

Read = Callable[[str, Sequence[object]], list[Row]]

_FROM = f"SELECT {AUDIT_COLUMNS} FROM {AUDIT_TABLE}"
_LOWEST = -(2**63)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of a chain check.

    Attributes:
        ok: the whole chain is intact (and matches the anchor, if one was given).
        checked: records found good, in seq order (all of them when ``ok``).
        first_bad_seq: the first record with a problem; ``None`` when ``ok``.
        problem: what is wrong, starting with ``record N:``; empty when ``ok``.
        head_seq: seq of the last record (0 for an empty trail); when not ``ok``, of the last
            record read before the failing one.
        head_hash: hash of that record (``GENESIS_HASH`` for an empty trail): when ``ok``, an
            anchor to keep outside the database.
    """

    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str
    head_seq: int = 0
    head_hash: str = GENESIS_HASH

    @property
    def message(self) -> str:
        """One line: ``N records, chain intact`` or the problem."""
        if self.ok:
            return f"{self.checked} records, chain intact"
        return self.problem


def row_hash(row: Row, seq: int | None = None) -> str:
    """The hash of a stored row's content, as if it were record ``seq`` (default: its own);
    empty if the row holds values of the wrong type (someone wrote into the table)."""
    stored = (row[0] if seq is None else seq, *row[1:10])
    try:
        return record_hash(stored)
    except (TypeError, ValueError):
        return ""


class _Broken(Exception):  # noqa: N818 (internal signal)
    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = f"record {seq}: {problem}"


def _original_seq(row: Row, seq: int) -> int | None:
    """The seq the row's content was hashed as, searched near ``seq``; ``None`` if not found."""
    for distance in range(1, SEARCH + 1):
        for candidate in (seq - distance, seq + distance):
            if candidate >= 1 and row_hash(row, candidate) == row[10]:
                return candidate
    return None


def _diagnose(read: Read, row: Row, seq: int, previous_hash: str) -> _Broken:
    """Name the problem at record ``seq`` (the first row that fails a check)."""
    if row_hash(row) == row[10]:  # genuine as record `seq`: its predecessor is not
        if seq == 1:
            return _Broken(1, "inserted (its previous_hash is not the start of the chain)")
        return _Broken(
            seq - 1,
            f"content altered and re-hashed (record {seq}'s previous_hash does not match it)",
        )
    original = _original_seq(row, seq)
    if original is None:
        following = read(f"{_FROM} WHERE seq > ? ORDER BY seq LIMIT 1", (seq,))
        if following and row_hash(following[0], seq) == following[0][10]:
            return _Broken(
                seq,
                f"inserted (the record now at seq {following[0][0]} was record {seq}; "
                "the records after it were renumbered)",
            )
        return _Broken(seq, "content altered (hash mismatch)")
    if original < seq:
        return _Broken(
            original,
            f"inserted ({seq - original} record(s) put in here; the record now at seq {seq} "
            f"was record {original} and the records after it were renumbered)",
        )
    for other in read(f"{_FROM} WHERE previous_hash = ? AND seq > ?", (previous_hash, seq)):
        if row_hash(other, seq) == other[10]:
            return _Broken(
                seq,
                f"reordered (record {seq} is stored at seq {other[0]}; seq {seq} holds "
                f"record {original})",
            )
    return _Broken(
        seq,
        f"removed ({original - seq} record(s) from seq {seq} are gone; the record now at seq "
        f"{seq} was record {original} and the records after it were renumbered)",
    )


def _check(row: Row, last_seq: int, last_hash: str, read: Read) -> None:
    """Raise ``_Broken`` unless ``row`` is the record after ``(last_seq, last_hash)``."""
    seq = int(row[0])
    if seq < 1:
        raise _Broken(seq, "inserted (seq must start at 1)")
    if seq == last_seq:
        raise _Broken(seq, f"inserted (seq {seq} occurs more than once)")
    if seq > last_seq + 1:
        missing = last_seq + 1
        raise _Broken(missing, f"removed (seq {missing} is missing; the next is seq {seq})")
    if row[9] != last_hash or row_hash(row) != row[10]:
        raise _diagnose(read, row, seq, last_hash)


def verify_chain(
    read: Read, *, anchor: tuple[int, str] | None = None, chunk: int = CHUNK
) -> VerifyResult:
    """Walk the chain through ``read`` (a backend's ``read``) and report the first problem."""
    if chunk < 1:
        raise ValueError(f"chunk: must be at least 1, got {chunk}")
    if anchor is not None and anchor[0] < 1:
        raise ValueError(f"anchor: seq must be at least 1, got {anchor[0]}")
    last_seq, last_hash = 0, GENESIS_HASH
    try:
        cursor = _LOWEST
        while True:
            rows = read(f"{_FROM} WHERE seq >= ? ORDER BY seq LIMIT ?", (cursor, chunk + 1))
            start = 0
            if cursor != _LOWEST:  # the first row is the last one checked, seen again
                while start < len(rows) and int(rows[start][0]) == last_seq:
                    start += 1
                if start > 1:
                    raise _Broken(last_seq, f"inserted (seq {last_seq} occurs more than once)")
            for row in rows[start:]:
                _check(row, last_seq, last_hash, read)
                last_seq, last_hash = int(row[0]), str(row[10])
                if anchor is not None and last_seq == anchor[0] and last_hash != anchor[1]:
                    raise _Broken(last_seq, "does not match the anchor (the chain was rewritten)")
            if len(rows) <= chunk:
                break
            cursor = last_seq
        if anchor is not None and anchor[0] > last_seq:
            raise _Broken(
                last_seq + 1,
                f"removed (the chain ends at seq {last_seq}; the anchor names seq {anchor[0]})",
            )
    except _Broken as broken:
        good = max(0, min(last_seq, broken.seq - 1))
        return VerifyResult(False, good, broken.seq, broken.problem, last_seq, last_hash)
    return VerifyResult(True, last_seq, None, "", last_seq, last_hash)
