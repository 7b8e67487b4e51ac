"""``pharmatwin ebr BATCH --out FILE`` through typer's CliRunner, registered as the main app
registers it (``app.add_typer(ebr_app, name="ebr")``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from pharmatwin.cli.ebr import ebr_app
from pharmatwin.core.utc import parse_utc
from pharmatwin.historian.records import Batch, Event, TagInfo, to_us
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.versioned_twin import (
    recipe_content,
    require_approved_versions,
    twin_config_content,
    versions_event,
)
from tests.gmp.conftest import PASSWORD
from tests.gmp.test_versions import open_gmp

app = typer.Typer()
app.add_typer(ebr_app, name="ebr")


@app.command()
def other() -> None:
    """A second command, so that ``ebr`` is a sub-command as in ``pharmatwin``."""


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A batch of 3 h with one online tag, an alarm, and approved versions."""
    url = f"sqlite:///{tmp_path / 'historian.db'}"
    asset = load_asset("br01")
    gmp = open_gmp(url)
    try:
        gmp.versions.propose(
            "twin_config", "BR01", twin_config_content(asset), user="alice", reason="initial"
        )
        gmp.versions.propose(
            "recipe", asset.recipe.name, recipe_content(asset), user="alice", reason="initial"
        )
        for kind, name in (("twin_config", "BR01"), ("recipe", asset.recipe.name)):
            gmp.versions.approve(kind, name, 1, user="bob", password=PASSWORD, reason="ok")
        refs = require_approved_versions(asset, gmp.versions, mode="production")
    finally:
        gmp.close()
    start = parse_utc("2026-02-02T08:00:00Z")
    batch = Batch("B9", "BR01", asset.recipe.name, start)
    with open_historian(url) as historian:
        historian.ensure_tags([TagInfo("BR01.TT101.PV", "degC", "BR01", "online T")])
        historian.start_batch(batch)
        historian.add_event(versions_event(batch, refs))
        minutes = np.arange(0, 180, 5)
        historian.write_columns(
            "BR01.TT101.PV",
            to_us(start) + minutes.astype(np.int64) * 60_000_000,
            np.asarray(36.5 + 0.01 * minutes, dtype=np.float64),
        )
        historian.add_event(
            Event(
                "alarm",
                "BR01.twin",
                start + timedelta(hours=2),
                "titre",
                "titre low",
                "BR01",
                "B9",
                {"raised_at_h": 2.0, "probability": 0.8, "lead_time_h": 334.0},
            )
        )
        historian.end_batch("B9", start + timedelta(hours=3), "complete")
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_writes_html_and_pdf(db: str, tmp_path: Path) -> None:
    code, out, err = run("ebr", "B9", "--out", str(tmp_path / "out" / "b9.html"), "--db", db)
    assert (code, err) == (0, ""), err
    assert out.startswith(f"batch record of B9 written to {tmp_path / 'out' / 'b9.html'}")
    page = (tmp_path / "out" / "b9.html").read_text(encoding="utf-8")
    assert "Electronic batch record B9" in page
    assert "NOT ACKNOWLEDGED" in page  # the alarm nobody acknowledged
    assert page.count(">approved<") == 4  # both versions (status), and their signatures
    assert "twin_config BR01 v1" in page and "bob" in page
    code, out, err = run("ebr", "--db", db, "B9", "--out", str(tmp_path / "b9.pdf"))
    assert (code, err) == (0, ""), err
    assert (tmp_path / "b9.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ebr", "B9", "--out", "b9.txt"), "error: out: 'b9.txt' must end in .html or .pdf"),
        (("ebr", "nope", "--out", "x.html"), "error: batch: no batch 'nope'"),
        (("ebr", "B9", "--out", "x.html", "--asset", "no-such"), "error: --asset: no built-in"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(*args, "--db", db)
    assert code == 2 and err.startswith(message), err
    assert not (tmp_path / "x.html").exists()
