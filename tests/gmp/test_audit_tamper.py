"""Tampering with the stored trail directly (triggers dropped first, as an attacker with access
to the database would) is found by ``verify``, which names the first record concerned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.audit_chain import verify_chain
from pharmatwin.gmp.audit_schema import record_hash
from pharmatwin.historian.records import to_us
from tests.gmp.test_audit import audit_url, fill, postgres_url, raw_execute

__all__ = ["TAMPERING", "audit_url", "postgres_url", "tamper"]

N = 30


def _shift_up(first: int) -> list[str]:
    """Renumber records ``first``.. one up (two steps: seq is unique at every row)."""
    return [
        f"UPDATE audit_trail SET seq = -seq WHERE seq >= {first}",
        "UPDATE audit_trail SET seq = 1 - seq WHERE seq < 0",
    ]


def _swap(a: int, b: int) -> list[str]:
    return [
        f"UPDATE audit_trail SET seq = -1 WHERE seq = {a}",
        f"UPDATE audit_trail SET seq = {a} WHERE seq = {b}",
        f"UPDATE audit_trail SET seq = {b} WHERE seq = -1",
    ]


def _forged(trail: AuditTrail, seq: int, *, valid_hash: bool) -> str:
    """An INSERT of a made-up record at ``seq`` linked to record ``seq - 1``."""
    previous = trail.records()[seq - 2].hash
    row = (seq, 1_767_600_000_000_000, "mallory", "change", "recipe", "r1", "1", "2", "x", previous)
    digest = record_hash(row) if valid_hash else "f" * 64
    values = ", ".join(repr(v) for v in (*row, digest))
    return f"INSERT INTO audit_trail VALUES ({values})"


def _rehashed(trail: AuditTrail, seq: int) -> list[str]:
    """Alter record ``seq`` and store the hash of its new content (the next link breaks)."""
    r = trail.records()[seq - 1]
    row = (seq, 0, r.user, r.action, r.record_type, r.record_id, "1", '{"T":99.0}', r.reason,
           r.previous_hash)  # fmt: skip
    return [
        f"UPDATE audit_trail SET at_us = 0, old_value = '1', new_value = '{{\"T\":99.0}}', "
        f"hash = '{record_hash(row)}' WHERE seq = {seq}"
    ]


Tampering = Callable[[AuditTrail], list[str]]

TAMPERING: dict[str, tuple[Tampering, str]] = {
    "change a value": (
        lambda t: ["UPDATE audit_trail SET new_value = '{\"T\":99.0}' WHERE seq = 17"],
        "record 17: content altered (hash mismatch)",
    ),
    "change the reason": (
        lambda t: ["UPDATE audit_trail SET reason = 'approved by QA' WHERE seq = 17"],
        "record 17: content altered (hash mismatch)",
    ),
    "change the time": (
        lambda t: ["UPDATE audit_trail SET at_us = at_us - 3600000000 WHERE seq = 17"],
        "record 17: content altered (hash mismatch)",
    ),
    "change the user": (
        lambda t: ["UPDATE audit_trail SET user_name = 'bob' WHERE seq = 17"],
        "record 17: content altered (hash mismatch)",
    ),
    "change and re-hash": (
        lambda t: _rehashed(t, 17),
        "record 17: content altered and re-hashed (record 18's previous_hash",
    ),
    "delete a row": (
        lambda t: ["DELETE FROM audit_trail WHERE seq = 17"],
        "record 17: removed (seq 17 is missing; the next is seq 18)",
    ),
    "delete the first row": (
        lambda t: ["DELETE FROM audit_trail WHERE seq = 1"],
        "record 1: removed (seq 1 is missing",
    ),
    "delete a row and renumber": (
        lambda t: [
            "DELETE FROM audit_trail WHERE seq = 17",
            "UPDATE audit_trail SET seq = -seq WHERE seq > 17",
            "UPDATE audit_trail SET seq = -seq - 1 WHERE seq < 0",
        ],
        "record 17: removed (1 record(s) from seq 17 are gone",
    ),
    "insert a row": (
        lambda t: [*_shift_up(17), _forged(t, 17, valid_hash=True)],
        "record 17: inserted",
    ),
    "insert a row with a made-up hash": (
        lambda t: [*_shift_up(17), _forged(t, 17, valid_hash=False)],
        "record 17: inserted (the record now at seq 18 was record 17",
    ),
    "reorder two rows": (lambda t: _swap(17, 20), "record 17: reordered"),
    "reorder neighbours": (lambda t: _swap(17, 18), "record 17: reordered"),
    "swap contents": (
        lambda t: [
            "UPDATE audit_trail SET seq = -17 WHERE seq = 17",
            "UPDATE audit_trail SET seq = 17 WHERE seq = 23",
            "UPDATE audit_trail SET seq = 23 WHERE seq = -17",
        ],
        "record 17: reordered (record 17 is stored at seq 23; seq 17 holds record 23)",
    ),
}


def tamper(url: str, name: str) -> str:
    """Fill a trail with ``N`` records, apply tampering ``name``; the expected message."""
    make, expected = TAMPERING[name]
    with AuditTrail(url) as trail:
        fill(trail, N)
        assert trail.verify().ok
        statements = make(trail)
    raw_execute(url, *statements, disarm=True)
    return expected


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_is_found_and_named(audit_url: str, name: str) -> None:
    expected = tamper(audit_url, name)
    seq = int(expected.split()[1].rstrip(":"))
    with AuditTrail(audit_url) as trail:
        for chunk in (1, 16, 17, 10_000):
            result = verify_chain(trail.backend.read, chunk=chunk)
            assert not result.ok
            assert result.problem.startswith(expected), (chunk, result.problem)
            assert result.first_bad_seq == seq
            assert result.checked == seq - 1


def test_removing_the_last_records_is_found_with_an_anchor(audit_url: str) -> None:
    with AuditTrail(audit_url) as trail:
        fill(trail, N)
        anchor = trail.head()
    raw_execute(audit_url, f"DELETE FROM audit_trail WHERE seq >= {N - 1}", disarm=True)
    with AuditTrail(audit_url) as trail:
        assert trail.verify().ok  # a shorter chain is consistent in itself
        result = trail.verify(anchor=anchor)
    assert not result.ok
    assert (
        result.problem
        == f"record {N - 1}: removed (the chain ends at seq {N - 2}; the anchor names seq {N})"
    )


def test_a_rewritten_chain_is_found_with_an_anchor(audit_url: str) -> None:
    with AuditTrail(audit_url) as trail:
        fill(trail, 20)
        anchor = (12, trail.records()[11].hash)
        rows = trail.records()
    # rewrite record 5 and recompute every hash after it, as a knowing attacker would
    statements = []
    previous = rows[3].hash
    for r in rows[4:]:
        new_json = '{"T":1.0}' if r.seq == 5 else f'{{"T":{r.new["T"]}}}'
        old_json = f'{{"T":{r.old["T"]}}}'
        at_us = to_us(r.at)
        row = (r.seq, at_us, r.user, r.action, r.record_type, r.record_id, old_json, new_json,
               r.reason, previous)  # fmt: skip
        digest = record_hash(row)
        statements.append(
            f"UPDATE audit_trail SET new_value = '{new_json}', previous_hash = '{previous}', "
            f"hash = '{digest}' WHERE seq = {r.seq}"
        )
        previous = digest
    raw_execute(audit_url, *statements, disarm=True)
    with AuditTrail(audit_url) as trail:
        assert trail.verify().ok
        result = trail.verify(anchor=anchor)
    assert result.problem == "record 12: does not match the anchor (the chain was rewritten)"


def test_a_duplicate_seq_is_found_across_chunks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/historian.db"
    with AuditTrail(url) as trail:
        fill(trail, N)
    # an attacker with the file rebuilds the table without its primary key and copies a row
    raw_execute(
        url,
        "ALTER TABLE audit_trail RENAME TO old_trail",
        "CREATE TABLE audit_trail AS SELECT * FROM old_trail",
        "INSERT INTO audit_trail SELECT * FROM old_trail WHERE seq = 17",
        "DROP TABLE old_trail",
        disarm=True,
    )
    with AuditTrail(url) as trail:
        for chunk in (1, 16, 17, 18, 10_000):
            result = verify_chain(trail.backend.read, chunk=chunk)
            assert result.problem == "record 17: inserted (seq 17 occurs more than once)", chunk


def test_a_row_with_values_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/historian.db"
    with AuditTrail(url) as trail:
        fill(trail, 5)
    raw_execute(url, "UPDATE audit_trail SET at_us = 'yesterday' WHERE seq = 3", disarm=True)
    with AuditTrail(url) as trail:
        assert trail.verify().problem == "record 3: content altered (hash mismatch)"


def test_a_record_put_before_the_first_is_named(audit_url: str) -> None:
    with AuditTrail(audit_url) as trail:
        fill(trail, 5)
    columns = "at_us, user_name, action, record_type, record_id, old_value, new_value, reason, "
    columns += "previous_hash, hash"
    raw_execute(
        audit_url,
        f"INSERT INTO audit_trail SELECT 0, {columns} FROM audit_trail WHERE seq = 1",
    )
    with AuditTrail(audit_url) as trail:
        result = trail.verify()
    assert (result.problem, result.first_bad_seq, result.checked) == (
        "record 0: inserted (seq must start at 1)",
        0,
        0,
    )
