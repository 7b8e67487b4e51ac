"""``pharmatwin user`` through typer's CliRunner (password on standard input); every change
in the audit trail with its reason."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pharmatwin.cli.user import user_app
from pharmatwin.gmp.audit import AuditRecord, AuditTrail
from pharmatwin.gmp.users import UserStore

PASSWORD = "Correct-Horse-7"
WHY = ("--reason", "account administration test")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'historian.db'}"


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    result = CliRunner().invoke(user_app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_add_reads_the_password_from_stdin(db: str) -> None:
    code, out, err = run(
        "add",
        "alice",
        "--role",
        "operator",
        "--reason",
        "new hire",
        "--db",
        db,
        stdin=PASSWORD + "\n",
    )
    assert (code, out, err) == (0, "user alice (operator) added\n", "")
    with UserStore(db) as store:
        assert store.login("alice", PASSWORD).user.role == "operator"


def test_add_takes_the_url_from_the_environment(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHARMATWIN_DB", db)
    assert run("add", "bob", "--role", "qa", *WHY, stdin=PASSWORD + "\n")[0] == 0
    with UserStore(db) as store:
        assert [u.name for u in store.users()] == ["bob"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "al ice", "--role", "qa"), PASSWORD, "error: name: 'al ice' is not a user name"),
        (("add", "alice", "--role", "boss"), PASSWORD, "error: role: 'boss' is not a role"),
        (("add", "alice", "--role", "qa"), "", "error: password: empty"),
        (("add", "alice", "--role", "qa"), "short-1A", "error: password: must have at least 12"),
        (("set-role", "nobody", "--role", "qa"), "", "error: name: no user 'nobody'"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    db: str, args: tuple[str, ...], stdin: str, message: str
) -> None:
    code, out, err = run(*args, *WHY, "--db", db, stdin=stdin + "\n")
    assert code == 2
    assert err.startswith(message), err
    assert out == ""


def test_a_duplicate_exits_2(db: str) -> None:
    assert run("add", "alice", "--role", "qa", *WHY, "--db", db, stdin=PASSWORD + "\n")[0] == 0
    code, _, err = run("add", "alice", "--role", "admin", *WHY, "--db", db, stdin=PASSWORD + "\n")
    assert (code, err) == (2, "error: name: a user 'alice' already exists\n")


def test_list_and_set_role(db: str) -> None:
    run("add", "bob", "--role", "viewer", *WHY, "--db", db, stdin=PASSWORD + "\n")
    run("add", "alice", "--role", "operator", *WHY, "--db", db, stdin=PASSWORD + "\n")
    code, out, _ = run("set-role", "bob", "--role", "engineer", *WHY, "--db", db)
    assert (code, out) == (0, "user bob is now engineer\n")
    code, out, _ = run("list", "--db", db, "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(u["name"], u["role"], u["active"]) for u in listed] == [
        ("alice", "operator", True),
        ("bob", "engineer", True),
    ]
    assert listed[0]["created"].endswith("Z")
    code, out, _ = run("list", "--db", db)
    assert code == 0 and "2 users" in out and "engineer" in out


def test_set_active_and_set_password(db: str) -> None:
    run("add", "alice", "--role", "operator", *WHY, "--db", db, stdin=PASSWORD + "\n")
    code, out, _ = run("set-active", "alice", "--inactive", *WHY, "--db", db)
    assert (code, out) == (0, "user alice is now inactive\n")
    code, out, _ = run("set-password", "alice", *WHY, "--db", db, stdin="Brand-New-Pass-2\n")
    assert (code, out) == (0, "password of user alice changed\n")
    with UserStore(db) as store:
        user = store.get("alice")
        assert user is not None and not user.active
        store.set_active("alice", True)
        assert store.login("alice", "Brand-New-Pass-2").user.name == "alice"


def test_an_unknown_db_scheme_exits_2(tmp_path: Path) -> None:
    code, _, err = run("list", "--db", "mysql://x/y")
    assert code == 2 and err.startswith("error: --db: unknown database URL scheme")


@pytest.mark.parametrize(("second", "code"), [(PASSWORD, 0), ("Other-Horse-7", 2)])
def test_at_a_terminal_the_password_is_typed_twice(
    db: str, monkeypatch: pytest.MonkeyPatch, second: str, code: int
) -> None:
    import getpass
    import sys

    typed = iter([PASSWORD, second])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(typed)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    from pharmatwin.cli.user import read_password

    if code == 0:
        assert read_password() == PASSWORD
    else:
        with pytest.raises(Exception) as caught:
            read_password()
        assert getattr(caught.value, "exit_code", None) == 2
    assert prompts == ["Password: ", "Repeat the password: "]


def _trail(db: str) -> list[AuditRecord]:
    with AuditTrail(db) as trail:
        assert trail.verify().ok
        return trail.records(record_type="user")


def test_every_change_is_in_the_audit_trail_without_the_password(db: str) -> None:
    me = f"cli:{getpass.getuser()}"
    before = datetime.now(UTC)
    assert run("add", "alice", "--role", "operator", "--reason", "hired", "--db", db,
               stdin=PASSWORD + "\n")[0] == 0  # fmt: skip
    assert run("set-role", "alice", "--role", "qa", "--reason", "moved to QA", "--db", db)[0] == 0
    assert run("set-active", "alice", "--inactive", "--reason", "left", "--db", db)[0] == 0
    assert run("set-password", "alice", "--reason", "forgotten", "--db", db,
               stdin="Brand-New-Pass-2\n")[0] == 0  # fmt: skip
    records = _trail(db)
    assert [(r.user, r.action, r.record_id, r.old, r.new, r.reason) for r in records] == [
        (me, "create", "alice", None, {"name": "alice", "role": "operator", "active": True},
         "hired"),
        (me, "change", "alice", {"role": "operator"}, {"role": "qa"}, "moved to QA"),
        (me, "change", "alice", {"active": True}, {"active": False, "sessions_ended": True},
         "left"),
        (me, "change", "alice", None,
         {"password": "changed", "unlocked": True, "sessions_ended": True}, "forgotten"),
    ]  # fmt: skip
    assert all(before <= r.at <= datetime.now(UTC) for r in records)
    stored = " ".join(f"{r.old} {r.new} {r.reason}" for r in records)
    assert PASSWORD not in stored and "Brand-New-Pass-2" not in stored


@pytest.mark.parametrize(
    "args",
    [
        ("add", "alice", "--role", "qa"),
        ("set-role", "alice", "--role", "qa"),
        ("set-active", "alice", "--active"),
        ("set-password", "alice"),
    ],
)
def test_a_change_without_a_reason_exits_2(db: str, args: tuple[str, ...]) -> None:
    code, out, err = run(*args, "--db", db, stdin=PASSWORD + "\n")
    assert code == 2 and out == ""
    assert "--reason" in err
    blank = run(*args, "--reason", "  ", "--db", db, stdin=PASSWORD + "\n")
    assert blank[0] == 2 and blank[2].startswith("error: reason: required"), blank
    with UserStore(db) as store:
        assert store.users() == []  # refused before anything changed
    assert _trail(db) == []


def test_a_refused_change_leaves_no_audit_record(db: str) -> None:
    run("add", "alice", "--role", "qa", *WHY, "--db", db, stdin=PASSWORD + "\n")
    code, _, err = run("set-role", "alice", "--role", "boss", *WHY, "--db", db)
    assert code == 2 and err.startswith("error: role: 'boss' is not a role")
    assert [r.action for r in _trail(db)] == ["create"]
