"""``pharmatwin versions list|show|diff|propose|approve`` through typer's CliRunner (the
signer's password on standard input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pharmatwin.cli.versions import versions_app
from pharmatwin.gmp.users import UserStore
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.versioned_twin import twin_config_content
from tests.gmp.conftest import PASSWORD


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    with UserStore(url) as users:
        users.add("alice", "engineer", PASSWORD)
        users.add("bob", "qa", PASSWORD)
    return url


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    result = CliRunner().invoke(versions_app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_propose_diff_approve_show_list(db: str, tmp_path: Path) -> None:
    config = twin_config_content(load_asset("br01"))
    first = tmp_path / "config.json"
    first.write_text(json.dumps(config), encoding="utf-8")
    code, out, err = run(
        "propose", "twin_config", "BR01", "--file", str(first), "--user", "alice",
        "--reason", "initial", "--db", db, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    assert out.startswith("twin_config BR01 v1 proposed (draft, sha256 ")
    config["twin"]["members"] = 120
    second = tmp_path / "config.yaml"
    second.write_text(yaml.safe_dump(config), encoding="utf-8")
    code, out, err = run(
        "propose", "twin_config", "BR01", "--file", str(second), "--user", "alice",
        "--reason", "more members", "--db", db, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0 and "v2 proposed" in out, err
    assert run("diff", "twin_config", "BR01", "1", "2", "--db", db)[1] == (
        "~ twin.members: 200 -> 120\n"
    )
    code, out, err = run(
        "approve", "twin_config", "BR01", "2", "--user", "alice", "--reason", "mine",
        "--db", db, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 2 and err.startswith("error: four-eyes rule: 'alice' proposed"), err
    code, out, err = run(
        "approve", "twin_config", "BR01", "2", "--user", "bob", "--reason", "reviewed",
        "--db", db, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    assert out.startswith("twin_config BR01 v2 approved: bob (bob), ")
    assert out.rstrip().endswith(", approved")
    code, out, _ = run("show", "twin_config", "BR01", "--db", db, "--json")
    shown = json.loads(out)
    assert (shown["version"], shown["status"], shown["content"]["twin"]["members"]) == (
        2, "approved", 120,
    )  # fmt: skip
    assert [(s["meaning"], s["user"], s["valid"]) for s in shown["signatures"]] == [
        ("authored", "alice", True),
        ("approved", "bob", True),
    ]
    code, out, _ = run("list", "--db", db, "--json")
    assert json.loads(out) == [
        {"kind": "twin_config", "name": "BR01", "latest": 2, "latest_status": "approved",
         "approved": 2}
    ]  # fmt: skip


def test_propose_takes_the_configuration_or_recipe_from_an_asset_file(
    db: str, tmp_path: Path
) -> None:
    definition = tmp_path / "br02.yaml"
    definition.write_text(
        "name: BR02\nrecipe: cho-mab-fedbatch-14d\ntwin: {members: 50}\n", encoding="utf-8"
    )
    for kind, name in (("twin_config", "BR02"), ("recipe", "cho-mab-fedbatch-14d")):
        code, out, err = run(
            "propose", kind, name, "--file", str(definition), "--user", "alice",
            "--reason", "new asset", "--db", db, stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert (code, err) == (0, ""), err
    code, out, _ = run("show", "twin_config", "BR02", "--version", "1", "--db", db, "--json")
    assert json.loads(out)["content"]["twin"]["members"] == 50
    code, out, _ = run("show", "recipe", "cho-mab-fedbatch-14d", "--db", db, "--json")
    assert json.loads(out)["content"]["harvest_h"] == 336.0


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("show", "model", "x"), "", "error: kind: 'model' is not one of"),
        (("show", "recipe", "x"), "", "error: name: no recipe 'x' is versioned"),
        (("diff", "recipe", "x", "1", "2"), "", "error: version: no recipe 'x' v1"),
        (
            ("propose", "recipe", "x", "--file", "missing.yaml", "--user", "a", "--reason", "r"),
            PASSWORD,
            "error: --file: no file 'missing.yaml'",
        ),
        (
            ("approve", "recipe", "x", "1", "--user", "bob", "--reason", "r"),
            "",
            "error: password: empty",
        ),
        (
            (
                "propose",
                "recipe",
                "cho-mab-fedbatch-14d",
                "--file",
                "asset.yaml",
                "--user",
                "alice",
                "--reason",
                "r",
            ),
            "Wrong-Horse-99",
            "error: password: wrong user name or password",
        ),
        (
            ("approve", "recipe", "x", "1", "--user", "bob", "--reason", "r"),
            PASSWORD,
            "error: version: no recipe 'x' v1",
        ),
    ],
)
@pytest.mark.usefixtures("in_tmp")
def test_bad_input_exits_2_naming_the_field(
    db: str, tmp_path: Path, args: tuple[str, ...], stdin: str, message: str
) -> None:
    (tmp_path / "asset.yaml").write_text("name: BR09\nrecipe: cho-mab-fedbatch-14d\n")
    code, _, err = run(*args, "--db", db, stdin=stdin)
    assert code == 2 and err.startswith(message), err
    assert run("list", "--db", db, "--json")[1] == "[]\n"  # nothing stored
