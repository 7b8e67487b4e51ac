"""Electronic signatures on both backends: password re-entry, binding to content, four eyes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.canonical import content_hash
from pharmatwin.gmp.errors import LockedOut
from pharmatwin.gmp.signatures import Signature, SignatureError, Signatures
from pharmatwin.gmp.users import UserStore
from tests.gmp.conftest import PASSWORD, START, Clock
from tests.gmp.test_audit import audit_url, postgres_url, raw_execute

__all__ = ["audit_url", "postgres_url"]

RECIPE = {"name": "CHO 14 d", "phases": [{"name": "growth", "T": 36.5, "h": 96.0}]}


@dataclass
class Env:
    users: UserStore
    audit: AuditTrail
    signatures: Signatures
    clock: Clock


@pytest.fixture
def env(audit_url: str, clock: Clock) -> Iterator[Env]:
    with (
        UserStore(audit_url, clock=clock, max_failures=3) as users,
        AuditTrail(audit_url, clock=clock) as audit,
    ):
        users.add("alice", "engineer", PASSWORD)
        users.add("bob", "qa", PASSWORD)
        yield Env(users, audit, Signatures(audit_url, users=users, audit=audit, clock=clock), clock)


def sign(env: Env, user: str, meaning: str, content: object = RECIPE, **kw: str) -> Signature:
    fields = {"password": PASSWORD, "reason": f"{meaning} by {user}", **kw}
    return env.signatures.sign(
        user=user,
        record_type="recipe",
        record_id="cho-14d",
        content=content,
        meaning=meaning,  # type: ignore[arg-type]
        **fields,
    )


def test_a_signature_carries_its_manifestation_and_the_content_hash(env: Env) -> None:
    env.clock.advance(timedelta(hours=1, seconds=5))
    signature = env.signatures.sign(
        user="alice",
        password=PASSWORD,
        record_type="recipe",
        record_id="cho-14d",
        content=RECIPE,
        meaning="authored",
        reason="first version",
    )
    assert signature.content_hash == content_hash(RECIPE)
    assert (signature.user, signature.printed_name, signature.meaning) == (
        "alice",
        "alice",
        "authored",
    )
    assert signature.at == START + timedelta(hours=1, seconds=5)
    assert signature.manifestation == "alice (alice), 2026-01-05 07:00:05 UTC, authored"
    assert env.signatures.signatures("recipe", "cho-14d") == [signature]


def test_every_signature_is_in_the_audit_trail(env: Env) -> None:
    signature = sign(env, "alice", "authored")
    (record,) = env.audit.records(record_type="recipe", record_id="cho-14d")
    assert (record.action, record.user, record.reason) == ("sign", "alice", "authored by alice")
    assert record.new["signature_id"] == signature.signature_id
    assert record.new["content_hash"] == content_hash(RECIPE)
    assert record.new["meaning"] == "authored"
    assert signature.audit_seq == record.seq
    assert env.audit.verify().ok


def test_a_change_to_the_record_invalidates_its_signatures(env: Env) -> None:
    sign(env, "alice", "authored")
    sign(env, "bob", "approved")
    assert [s.valid for s in env.signatures.status("recipe", "cho-14d", RECIPE)] == [True, True]
    assert env.signatures.is_approved("recipe", "cho-14d", RECIPE)
    changed = {**RECIPE, "phases": [{"name": "growth", "T": 37.0, "h": 96.0}]}
    statuses = env.signatures.status("recipe", "cho-14d", changed)
    assert [s.valid for s in statuses] == [False, False]
    assert all("changed after it was signed" in s.problem for s in statuses)
    assert not env.signatures.is_approved("recipe", "cho-14d", changed)
    assert not env.signatures.is_approved("recipe", "other", RECIPE)


def test_key_order_does_not_change_the_content(env: Env) -> None:
    sign(env, "bob", "approved")
    reordered = {"phases": [{"h": 96.0, "T": 36.5, "name": "growth"}], "name": "CHO 14 d"}
    assert env.signatures.is_approved("recipe", "cho-14d", reordered)


@pytest.mark.parametrize("meaning", ["approved", "released"])
def test_the_author_may_not_approve_or_release(env: Env, meaning: str) -> None:
    sign(env, "alice", "authored")
    with pytest.raises(SignatureError, match=r"^four-eyes rule: 'alice' authored recipe"):
        sign(env, "alice", meaning)
    sign(env, "alice", "reviewed")  # the author may review
    sign(env, "bob", meaning)
    assert [s.meaning for s in env.signatures.signatures("recipe", "cho-14d")] == [
        "authored",
        "reviewed",
        meaning,
    ]


def test_who_created_or_changed_the_record_is_its_author(env: Env) -> None:
    env.audit.append(
        user="alice",
        action="create",
        record_type="recipe",
        record_id="cho-14d",
        old=None,
        new=RECIPE,
        reason="new recipe",
    )
    with pytest.raises(SignatureError, match=r"^four-eyes rule"):
        sign(env, "alice", "approved")
    assert sign(env, "bob", "approved")


def test_a_wrong_password_is_refused_and_counts_toward_lockout(env: Env) -> None:
    for _ in range(2):
        with pytest.raises(SignatureError, match=r"^password: wrong user name or password"):
            sign(env, "bob", "approved", password="Wrong-Horse-77")
    with pytest.raises(SignatureError, match=r"^password: user 'bob' is locked"):
        sign(env, "bob", "approved", password="Wrong-Horse-77")  # the third: locked
    with pytest.raises(LockedOut):
        env.users.login("bob", PASSWORD)
    with pytest.raises(SignatureError, match=r"^password: user 'bob' is locked"):
        sign(env, "bob", "approved")  # even with the right password
    assert env.signatures.signatures("recipe", "cho-14d") == []
    assert env.audit.count() == 0
    env.clock.advance(timedelta(minutes=16))
    assert sign(env, "bob", "approved")


def test_every_signature_checks_the_password_anew(env: Env) -> None:
    assert sign(env, "bob", "reviewed")  # a first signature with the password
    env.users.set_password("bob", "Another-Horse-88")
    with pytest.raises(SignatureError, match=r"^password: wrong user name or password"):
        sign(env, "bob", "reviewed")  # the old password no longer signs
    assert sign(env, "bob", "reviewed", password="Another-Horse-88")
    env.users.set_active("bob", False)
    with pytest.raises(SignatureError, match=r"^user: 'bob' is deactivated"):
        sign(env, "bob", "reviewed", password="Another-Horse-88")


def test_an_unknown_or_deactivated_user_cannot_sign(env: Env) -> None:
    with pytest.raises(SignatureError, match=r"^password: wrong user name or password"):
        sign(env, "carol", "reviewed")
    env.users.set_active("bob", False)
    with pytest.raises(SignatureError, match=r"^user: 'bob' is deactivated"):
        sign(env, "bob", "reviewed")


def test_signing_opens_no_session(env: Env) -> None:
    sign(env, "bob", "reviewed")
    rows = env.audit.backend.read("SELECT COUNT(*) FROM sessions")
    assert rows[0][0] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": "  "}, "reason: required"),
        ({"meaning": "agreed"}, "meaning: 'agreed' is not one of authored, reviewed"),
        ({"record_id": ""}, "record_id: required"),
        ({"content": {"T": float("nan")}}, "content: value.T: nan is not a finite number"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    env: Env, change: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "user": "bob",
        "password": PASSWORD,
        "record_type": "recipe",
        "record_id": "cho-14d",
        "content": RECIPE,
        "meaning": "approved",
        "reason": "release",
        **change,
    }
    with pytest.raises(SignatureError, match=r"^" + message):
        env.signatures.sign(**fields)  # type: ignore[arg-type]
    assert env.audit.count() == 0


def test_the_signature_table_is_append_only(env: Env) -> None:
    sign(env, "bob", "approved")
    for statement in (
        "UPDATE e_signatures SET content_hash = 'x'",
        "DELETE FROM e_signatures",
    ):
        with pytest.raises(Exception, match="e_signatures is append-only"):
            raw_execute(env.audit.url, statement)
    assert env.signatures.is_approved("recipe", "cho-14d", RECIPE)


def test_a_signature_row_forged_in_the_database_is_not_valid(env: Env) -> None:
    raw_execute(
        env.audit.url,
        "INSERT INTO e_signatures VALUES ('forged', 'recipe', 'cho-14d', "
        f"'{content_hash(RECIPE)}', 'approved', 'bob', 'bob', 0, 'x', 1)",
    )
    (status,) = env.signatures.status("recipe", "cho-14d", RECIPE)
    assert not status.valid
    assert status.problem == "no matching 'sign' record in the audit trail"
    assert not env.signatures.is_approved("recipe", "cho-14d", RECIPE)


def test_the_url_must_be_the_audit_trails(env: Env, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^url: .* is not the audit trail's database"):
        Signatures(f"sqlite:///{tmp_path}/other.db", users=env.users, audit=env.audit)
