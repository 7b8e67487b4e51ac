"""Versioned twin configurations and recipes: numbering, diff, approval by a second person,
self-approval refused, tampering shows, and the same on PostgreSQL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.signatures import SignatureError, Signatures
from pharmatwin.gmp.users import UserStore
from pharmatwin.gmp.versions import (
    UnchangedContentError,
    VersionError,
    VersionStore,
    json_diff,
)
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.versioned_twin import recipe_content, twin_config_content
from tests.gmp.conftest import PASSWORD, Clock
from tests.services.postgres import postgres_url

__all__ = ["postgres_url"]


@dataclass
class Gmp:
    """The GMP stores on one database: accounts, audit trail, signatures, versions."""

    url: str
    users: UserStore
    audit: AuditTrail
    signatures: Signatures
    versions: VersionStore

    def close(self) -> None:
        self.audit.close()
        self.users.close()


def open_gmp(url: str, names: tuple[str, ...] = ("alice", "bob"), clock: Any = None) -> Gmp:
    """Open every store on ``url`` and add engineer ``names[0]`` and QA ``names[1]``."""
    clock = clock or Clock()
    users = UserStore(url, clock=clock)
    audit = AuditTrail(url, clock=clock)
    signatures = Signatures(users=users, audit=audit, clock=clock)
    versions = VersionStore(url, audit=audit, signatures=signatures, clock=clock)
    users.add(names[0], "engineer", PASSWORD)
    users.add(names[1], "qa", PASSWORD)
    return Gmp(url, users, audit, signatures, versions)


@pytest.fixture
def gmp(tmp_path: Path) -> Iterator[Gmp]:
    opened = open_gmp(f"sqlite:///{tmp_path / 'historian.db'}")
    yield opened
    opened.close()


def _recipe(**changes: Any) -> dict[str, Any]:
    content = recipe_content(load_asset("br01"))
    content.update(changes)
    return content


def test_versions_are_numbered_and_identical_content_is_refused(gmp: Gmp) -> None:
    store = gmp.versions
    v1 = store.propose("recipe", "cho-mab-fedbatch-14d", _recipe(), user="alice", reason="first")
    assert (v1.version, v1.status, v1.author) == (1, "draft", "alice")
    with pytest.raises(UnchangedContentError, match=r"content: identical to recipe .* v1"):
        store.propose("recipe", "cho-mab-fedbatch-14d", _recipe(), user="alice", reason="again")
    v2 = store.propose(
        "recipe", "cho-mab-fedbatch-14d", _recipe(harvest_h=348.0), user="alice", reason="early"
    )
    assert v2.version == 2 and v2.content_hash != v1.content_hash
    assert [v.version for v in store.versions("recipe", "cho-mab-fedbatch-14d")] == [1, 2]
    latest = store.latest("recipe", "cho-mab-fedbatch-14d")
    assert latest is not None and latest.version == 2
    assert store.latest("recipe", "cho-mab-fedbatch-14d", approved_only=True) is None
    assert store.get("recipe", "cho-mab-fedbatch-14d", 1).content == v1.content
    # returning to the first content is a change from the latest: a new version
    v3 = store.propose("recipe", "cho-mab-fedbatch-14d", _recipe(), user="alice", reason="back")
    assert v3.version == 3 and v3.content_hash == v1.content_hash
    with pytest.raises(VersionError, match=r"version: no recipe .* v9 \(latest is v3\)"):
        store.get("recipe", "cho-mab-fedbatch-14d", 9)
    assert store.names() == [("recipe", "cho-mab-fedbatch-14d", 3)]
    created = gmp.audit.records(record_type="recipe_version")
    assert [(r.action, r.record_id, r.reason) for r in created] == [
        ("create", "cho-mab-fedbatch-14d@v1", "first"),
        ("create", "cho-mab-fedbatch-14d@v2", "early"),
        ("create", "cho-mab-fedbatch-14d@v3", "back"),
    ]
    assert created[1].old["version"] == 1 and created[1].new["content"]["harvest_h"] == 348.0


def test_bad_input_names_the_field(gmp: Gmp) -> None:
    store = gmp.versions
    with pytest.raises(VersionError, match=r"^kind: 'model'"):
        store.propose("model", "x", {}, user="alice", reason="r")
    with pytest.raises(VersionError, match=r"^reason: required"):
        store.propose("recipe", "cho-mab-fedbatch-14d", _recipe(), user="alice", reason=" ")
    with pytest.raises(VersionError, match=r"^content\.harvest_h: "):
        store.propose("recipe", "cho-mab-fedbatch-14d", _recipe(harvest_h=-1), user="a", reason="r")
    with pytest.raises(VersionError, match=r"^content\.name: the recipe is called"):
        store.propose("recipe", "other", _recipe(), user="alice", reason="r")
    config = twin_config_content(load_asset("br01"))
    config["parameters"] = {"no_such_parameter": 1.0}
    with pytest.raises(VersionError, match=r"^content\.parameters: "):
        store.propose("twin_config", "BR01", config, user="alice", reason="r")
    config = twin_config_content(load_asset("br01"))
    config["twin"]["members"] = 3
    with pytest.raises(VersionError, match=r"^content\.twin\.members: "):
        store.propose("twin_config", "BR01", config, user="alice", reason="r")


def test_diff_is_structural_and_readable(gmp: Gmp) -> None:
    store = gmp.versions
    old = twin_config_content(load_asset("br01"))
    new = twin_config_content(load_asset("br01"))
    new["twin"]["members"] = 60
    new["specifications"][0]["lower"] = 3.8  # titre
    new["actions"] = [a for a in new["actions"] if a["name"] != "feed shot"]
    new["parameters"] = {"mu_max": 0.03}
    store.propose("twin_config", "BR01", old, user="alice", reason="initial")
    store.propose("twin_config", "BR01", new, user="alice", reason="tuned")
    changes = store.diff("twin_config", "BR01", 1, 2)
    by_path = {c.path: c for c in changes}
    assert set(by_path) == {
        "parameters.mu_max",
        "specifications[titre].lower",
        "twin.members",
        "actions[feed shot]",
    }
    assert (by_path["twin.members"].old, by_path["twin.members"].new) == (200, 60)
    assert by_path["actions[feed shot]"].change == "removed"
    assert by_path["parameters.mu_max"].change == "added"
    assert (
        str(by_path["specifications[titre].lower"]) == "~ specifications[titre].lower: 3.5 -> 3.8"
    )
    assert store.diff("twin_config", "BR01", 2, 2) == []
    # lists without names compare by position; reordering named items is reported
    assert [str(c) for c in json_diff({"a": [1, 2]}, {"a": [1, 3, 4]})] == [
        "~ a[1]: 2 -> 3",
        "+ a[2]: 4",
    ]
    reordered = json_diff([{"name": "x"}, {"name": "y"}], [{"name": "y"}, {"name": "x"}])
    assert [(c.path, c.old, c.new) for c in reordered] == [(" (order)", ["x", "y"], ["y", "x"])]


def test_a_second_person_approves_and_the_author_cannot(gmp: Gmp) -> None:
    store = gmp.versions
    content = twin_config_content(load_asset("br01"))
    v1 = store.propose(
        "twin_config", "BR01", content, user="alice", reason="initial", password=PASSWORD
    )
    with pytest.raises(SignatureError, match="four-eyes rule: 'alice' proposed"):
        store.approve("twin_config", "BR01", 1, user="alice", password=PASSWORD, reason="mine")
    with pytest.raises(SignatureError, match=r"^password: "):
        store.approve("twin_config", "BR01", 1, user="bob", password="Wrong-Horse-77", reason="x")
    assert not store.is_approved("twin_config", "BR01", 1)
    signature = store.approve(
        "twin_config", "BR01", 1, user="bob", password=PASSWORD, reason="reviewed the tuning"
    )
    assert (signature.meaning, signature.user, signature.content_hash) == (
        "approved",
        "bob",
        v1.content_hash,
    )
    assert store.is_approved("twin_config", "BR01", 1)
    assert store.get("twin_config", "BR01", 1).status == "approved"
    statuses = store.signature_status("twin_config", "BR01", 1)
    assert [(s.signature.meaning, s.signature.user, s.valid) for s in statuses] == [
        ("authored", "alice", True),
        ("approved", "bob", True),
    ]
    trail = gmp.audit.records(record_id="BR01@v1")
    assert [(r.user, r.action, r.reason) for r in trail] == [
        ("alice", "create", "initial"),
        ("alice", "sign", "initial"),
        ("bob", "sign", "reviewed the tuning"),
    ]
    assert gmp.audit.verify().ok


def test_a_version_altered_in_storage_loses_its_approval(gmp: Gmp, tmp_path: Path) -> None:
    store = gmp.versions
    content = twin_config_content(load_asset("br01"))
    store.propose("twin_config", "BR01", content, user="alice", reason="initial")
    store.approve("twin_config", "BR01", 1, user="bob", password=PASSWORD, reason="ok")
    assert store.is_approved("twin_config", "BR01", 1)
    with sqlite3.connect(tmp_path / "historian.db") as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE gmp_versions SET reason = 'x'")
        db.execute("DROP TRIGGER gmp_versions_no_update")  # whoever can write the file can
        db.execute(
            "UPDATE gmp_versions SET content = replace(content, '\"members\":200', "
            "'\"members\":20')"
        )
    altered = store.get("twin_config", "BR01", 1)
    assert altered.content["twin"]["members"] == 20
    assert (altered.intact, altered.status) == (False, "draft")
    assert not store.is_approved("twin_config", "BR01", 1)
    statuses = store.signature_status("twin_config", "BR01", 1)
    assert [s.valid for s in statuses] == [False]
    with pytest.raises(VersionError, match="no longer matches its hash"):
        store.approve("twin_config", "BR01", 1, user="bob", password=PASSWORD, reason="again")


def test_versions_on_postgresql(postgres_url: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    author, approver = f"eng-{suffix}", f"qa-{suffix}"
    gmp = open_gmp(postgres_url, (author, approver))
    try:
        store = gmp.versions
        name = f"BR-{suffix}"
        content = twin_config_content(load_asset("br01"))
        v1 = store.propose("twin_config", name, content, user=author, reason="initial")
        content["alarms"]["threshold"] = 0.6
        v2 = store.propose("twin_config", name, content, user=author, reason="threshold")
        assert (v1.version, v2.version) == (1, 2)
        with pytest.raises(UnchangedContentError):
            store.propose("twin_config", name, content, user=author, reason="same")
        assert [str(c) for c in store.diff("twin_config", name, 1, 2)] == [
            "~ alarms.threshold: 0.5 -> 0.6"
        ]
        with pytest.raises(SignatureError, match="four-eyes"):
            store.approve("twin_config", name, 2, user=author, password=PASSWORD, reason="x")
        store.approve("twin_config", name, 2, user=approver, password=PASSWORD, reason="ok")
        assert store.is_approved("twin_config", name, 2)
        assert not store.is_approved("twin_config", name, 1)
        found = store.find("twin_config", name, content)
        assert found is not None and found.version == 2 and found.status == "approved"
        latest = store.latest("twin_config", name, approved_only=True)
        assert latest is not None and latest.version == 2
    finally:
        gmp.close()
