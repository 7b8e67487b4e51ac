"""``pharmatwin versions list|show|diff|propose|approve``: versioned twin configurations and
recipes (see ``pharmatwin.gmp.versions``).

``propose`` and ``approve`` are electronic signatures: the password is read from standard
input (one line), or typed without echo at a terminal, never from the command line (21 CFR
11.200(a)(1): both components at each signing). ``propose`` signs the new version as its
author ("authored"); ``approve`` signs it "approved", which its author may not. Every command
takes ``--db URL`` (default: ``PHARMATWIN_DB``, else the historian's default database).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.errors import AuthError
from pharmatwin.gmp.signatures import Signatures
from pharmatwin.gmp.users import UserStore
from pharmatwin.gmp.versions import KINDS, Version, VersionStore, check_kind
from pharmatwin.historian.errors import HistorianError
from pharmatwin.historian.urls import resolve_db_url

STORAGE_EXIT = 1
DB_HELP = "Database URL: sqlite:///path.db or postgresql://... (default: $PHARMATWIN_DB or "
DB_HELP += "sqlite:///pharmatwin-data/historian.db)."

versions_app = typer.Typer(
    help="Versioned twin configurations and recipes: list, show, diff, propose, approve.",
    no_args_is_help=True,
)

DB = typer.Option(None, "--db", help=DB_HELP)
KIND = typer.Argument(..., help=f"What is versioned: {' or '.join(KINDS)}.")
NAME = typer.Argument(..., help="The asset (twin_config) or the recipe's name (recipe).")
AS_JSON = typer.Option(False, "--json", help="Print JSON.")
USER = typer.Option(..., "--user", help="Your user name (you sign with your password).")
REASON = typer.Option(..., "--reason", help="Why (kept in the audit trail).")


@dataclass
class GmpStores:
    """The GMP stores of one database."""

    users: UserStore
    audit: AuditTrail
    signatures: Signatures
    versions: VersionStore


@contextmanager
def gmp_stores(db: str | None) -> Iterator[GmpStores]:
    """Accounts, audit trail, signatures and versions of ``--db``; bad input exits 2, a
    storage failure exits 1."""
    url = resolve_db_url(db)
    try:
        with bad_input():
            users = UserStore(url)
        with users, bad_input():
            audit = AuditTrail(url)
            with audit:
                signatures = Signatures(url, users=users, audit=audit)
                versions = VersionStore(url, audit=audit, signatures=signatures)
                yield GmpStores(users, audit, signatures, versions)
    except HistorianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(STORAGE_EXIT) from None


def read_signing_password() -> str:
    """The signer's password: typed without echo at a terminal, else one line of stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password (to sign): ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("password: empty; give your password on standard input (one line)")
    return password


def authenticate(users: UserStore, name: str, password: str) -> None:
    """Check the password of ``name`` (a failure counts toward lockout); exits 2 if wrong."""
    try:
        users.logout(users.login(name, password).token)
    except AuthError as exc:
        fail(f"password: {exc}")


def _summary(v: Version) -> dict[str, Any]:
    return {
        "kind": v.kind,
        "name": v.name,
        "version": v.version,
        "status": v.status,
        "content_hash": v.content_hash,
        "author": v.author,
        "created": v.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": v.reason,
        "intact": v.intact,
    }


@versions_app.command("list")
def list_(
    kind: str | None = typer.Option(None, "--kind", help="Only this kind."),
    db: str | None = DB,
    as_json: bool = AS_JSON,
) -> None:
    """List every versioned record with its latest and latest approved version."""
    with gmp_stores(db) as stores:
        with bad_input():
            names = stores.versions.names(kind)
        rows = []
        for k, name, _ in names:
            latest = stores.versions.latest(k, name)
            approved = stores.versions.latest(k, name, approved_only=True)
            rows.append(
                {
                    "kind": k,
                    "name": name,
                    "latest": None if latest is None else latest.version,
                    "latest_status": None if latest is None else latest.status,
                    "approved": None if approved is None else approved.version,
                }
            )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} versioned records")
    for column in ("kind", "name", "latest", "latest_status", "approved"):
        table.add_column(column)
    for row in rows:
        table.add_row(*("-" if row[c] is None else str(row[c]) for c in row))
    Console().print(table)


@versions_app.command("show")
def show(
    kind: str = KIND,
    name: str = NAME,
    version: int | None = typer.Option(None, "--version", help="Default: the latest."),
    db: str | None = DB,
    as_json: bool = AS_JSON,
) -> None:
    """Show one version: who proposed it and why, its signatures and its content."""
    with gmp_stores(db) as stores, bad_input():
        check_kind(kind)
        if version is None:
            latest = stores.versions.latest(kind, name)
            if latest is None:
                fail(f"name: no {kind} {name!r} is versioned")
            v = latest
        else:
            v = stores.versions.get(kind, name, version)
        statuses = stores.versions.signature_status(kind, name, v.version)
    signatures = [
        {
            "meaning": s.signature.meaning,
            "printed_name": s.signature.printed_name,
            "user": s.signature.user,
            "at": s.signature.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "valid": s.valid,
            "problem": s.problem,
            "reason": s.signature.reason,
        }
        for s in statuses
    ]
    document = {**_summary(v), "signatures": signatures, "content": v.content}
    if as_json:
        print(json.dumps(document, indent=2))
        return
    for key, value in _summary(v).items():
        print(f"{key}: {value}")
    for s in signatures:
        state = "valid" if s["valid"] else f"INVALID ({s['problem']})"
        print(
            f"signature: {s['meaning']} by {s['printed_name']} ({s['user']}) at {s['at']}, {state}"
        )
    print(json.dumps(v.content, indent=2))


@versions_app.command("diff")
def diff(
    kind: str = KIND,
    name: str = NAME,
    a: int = typer.Argument(..., help="The older version."),
    b: int = typer.Argument(..., help="The newer version."),
    db: str | None = DB,
    as_json: bool = AS_JSON,
) -> None:
    """What changed from version A to version B (one line per change)."""
    with gmp_stores(db) as stores, bad_input():
        changes = stores.versions.diff(kind, name, a, b)
    if as_json:
        rows = [{"path": c.path, "change": c.change, "old": c.old, "new": c.new} for c in changes]
        print(json.dumps(rows, indent=2))
        return
    if not changes:
        print(f"{kind} {name!r}: v{a} and v{b} have the same content")
    for change in changes:
        print(change)


def read_content(kind: str, path: Path) -> dict[str, Any]:
    """The content to propose from a JSON or YAML file: the document itself, or, from an asset
    definition (it has a ``recipe``), its twin configuration or its recipe."""
    from pharmatwin.core.documents import read_yaml_mapping
    from pharmatwin.runtime.asset import Asset
    from pharmatwin.runtime.versioned_twin import recipe_content, twin_config_content

    if not path.is_file():
        raise ValueError(f"--file: no file {str(path)!r}")
    document = read_yaml_mapping(path)  # JSON is YAML
    if "recipe" not in document:
        return dict(document)
    asset = Asset.model_validate(document)
    return twin_config_content(asset) if kind == "twin_config" else recipe_content(asset)


@versions_app.command("propose")
def propose(
    kind: str = KIND,
    name: str = NAME,
    file: Path = typer.Option(
        ..., "--file", help="The content (JSON or YAML), or an asset definition to take it from."
    ),
    user: str = USER,
    reason: str = REASON,
    db: str | None = DB,
) -> None:
    """Propose a new version (a draft), signed by you as its author."""
    with bad_input():
        content = read_content(check_kind(kind), file)
    password = read_signing_password()
    with gmp_stores(db) as stores, bad_input():
        authenticate(stores.users, user, password)  # before anything is stored in the name
        v = stores.versions.propose(
            kind, name, content, user=user, reason=reason, password=password
        )
    print(f"{v.kind} {v.name} v{v.version} proposed (draft, sha256 {v.content_hash})")


@versions_app.command("approve")
def approve(
    kind: str = KIND,
    name: str = NAME,
    version: int = typer.Argument(..., help="The version to approve."),
    user: str = USER,
    reason: str = REASON,
    db: str | None = DB,
) -> None:
    """Approve a version with your electronic signature (not your own proposal)."""
    with bad_input():
        check_kind(kind)
    password = read_signing_password()
    with gmp_stores(db) as stores, bad_input():
        signature = stores.versions.approve(
            kind, name, version, user=user, password=password, reason=reason
        )
    print(f"{kind} {name} v{version} approved: {signature.manifestation}")
