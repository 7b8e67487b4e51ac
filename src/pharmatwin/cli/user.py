"""``pharmatwin user``: add accounts, list them, change a role, activity or a password.

Passwords are read from standard input (one line), or, at a terminal, typed twice without echo;
they never appear on the command line (which other users of the machine can see). Every command
takes ``--db URL`` (default: ``PHARMATWIN_DB``, else the historian's default database).

Every change (``add``, ``set-role``, ``set-active``, ``set-password``) needs ``--reason`` and is
appended to the audit trail of that database (record type ``user``, id the account name; old
and new role and activity, never a password) by ``cli:<operating-system user>`` (21 CFR
11.10(e); EU GMP Annex 11, sections 9 and 12: audit of every permission change).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.gmp.audit import AuditTrail, check_text
from pharmatwin.gmp.permissions import ROLES
from pharmatwin.gmp.users import User, UserStore, check_name, check_role
from pharmatwin.historian.errors import HistorianError
from pharmatwin.historian.urls import resolve_db_url

STORAGE_EXIT = 1
DB_HELP = "Database URL: sqlite:///path.db or postgresql://... (default: $PHARMATWIN_DB or "
DB_HELP += "sqlite:///pharmatwin-data/historian.db)."
ROLE_HELP = f"The role: one of {', '.join(ROLES)}."

user_app = typer.Typer(help="Manage user accounts and roles.", no_args_is_help=True)

DB = typer.Option(None, "--db", help=DB_HELP)
ROLE = typer.Option(..., "--role", help=ROLE_HELP)
REASON = typer.Option(..., "--reason", help="Why (required; kept in the audit trail).")
RECORD_TYPE = "user"
"""Record type of an account in the audit trail (id: the account name)."""


def actor() -> str:
    """Who changes accounts from the command line: ``cli:<operating-system user>``."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        name = "unknown"
    return f"cli:{name}"


@contextmanager
def opened(db: str | None) -> Iterator[UserStore]:
    """The user store of ``--db``; bad input exits 2, a storage failure exits 1."""
    try:
        with bad_input():
            store = UserStore(resolve_db_url(db))
        with store, bad_input():
            yield store
    except HistorianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(STORAGE_EXIT) from None


@contextmanager
def audited(db: str | None) -> Iterator[tuple[UserStore, AuditTrail]]:
    """The user store and the audit trail of ``--db`` (exits as ``opened``)."""
    with opened(db) as store:
        try:
            with bad_input():
                trail = AuditTrail(resolve_db_url(db))
            with trail, bad_input():
                yield store, trail
        except HistorianError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(STORAGE_EXIT) from None


def checked_reason(reason: str) -> str:
    """``--reason`` if it is not blank (exit 2 otherwise, before anything is asked)."""
    with bad_input():
        return check_text("reason", reason)


def _record(
    trail: AuditTrail, action: str, name: str, old: object, new: object, reason: str
) -> None:
    trail.append(
        user=actor(),
        action=action,
        record_type=RECORD_TYPE,
        record_id=name,
        old=old,
        new=new,
        reason=reason,
    )


def _existing(store: UserStore, name: str) -> User:
    user = store.get(name)
    if user is None:
        fail(f"name: no user {name!r}")
    return user


def read_password() -> str:
    """The new password: typed twice without echo at a terminal, else one line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != first:
            fail("password: the two passwords differ")
        password = first
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("password: empty; give the password on standard input (one line)")
    return password


def _as_dict(user: User) -> dict[str, object]:
    return {
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "created": user.created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


@user_app.command("add")
def add(
    name: str = typer.Argument(..., help="The user name (letters, digits, '.', '_', '-')."),
    role: str = ROLE,
    reason: str = REASON,
    db: str | None = DB,
) -> None:
    """Add an account; its password is read from standard input."""
    with bad_input():  # before asking for the password
        check_name(name)
        check_role(role)
    checked_reason(reason)
    password = read_password()
    with audited(db) as (store, trail):
        user = store.add(name, role, password)
        new = {"name": user.name, "role": user.role, "active": user.active}
        _record(trail, "create", user.name, None, new, reason)
    print(f"user {user.name} ({user.role}) added")


@user_app.command("list")
def list_(
    db: str | None = DB,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the accounts."""
    with opened(db) as store:
        users = store.users()
    rows = [_as_dict(user) for user in users]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} users")
    for column in ("name", "role", "active", "created"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]).lower() if c == "active" else str(row[c]) for c in row))
    Console().print(table)


@user_app.command("set-role")
def set_role(
    name: str = typer.Argument(..., help="The user name."),
    role: str = ROLE,
    reason: str = REASON,
    db: str | None = DB,
) -> None:
    """Change the role of an account."""
    checked_reason(reason)
    with audited(db) as (store, trail):
        before = _existing(store, name)
        user = store.set_role(name, role)
        _record(trail, "change", name, {"role": before.role}, {"role": user.role}, reason)
    print(f"user {user.name} is now {user.role}")


@user_app.command("set-active")
def set_active(
    name: str = typer.Argument(..., help="The user name."),
    active: bool = typer.Option(..., "--active/--inactive", help="Allow or forbid logins."),
    reason: str = REASON,
    db: str | None = DB,
) -> None:
    """Activate or deactivate an account (accounts are never deleted)."""
    checked_reason(reason)
    with audited(db) as (store, trail):
        before = _existing(store, name)
        user = store.set_active(name, active)
        new = {"active": user.active, "sessions_ended": not user.active}
        _record(trail, "change", name, {"active": before.active}, new, reason)
    print(f"user {user.name} is now {'active' if user.active else 'inactive'}")


@user_app.command("set-password")
def set_password(
    name: str = typer.Argument(..., help="The user name."),
    reason: str = REASON,
    db: str | None = DB,
) -> None:
    """Replace the password of an account (read from standard input); unlocks it and ends
    its sessions. The audit trail records that it changed, never the password."""
    checked_reason(reason)
    password = read_password()
    with audited(db) as (store, trail):
        _existing(store, name)
        user = store.set_password(name, password)
        new = {"password": "changed", "unlocked": True, "sessions_ended": True}
        _record(trail, "change", name, None, new, reason)
    print(f"password of user {user.name} changed")
