"""The runtime in production mode starts a twin only on approved versions of its configuration
and recipe, and its batch and forecasts name the versions used (issue 8, item 3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.plant_config import PlantConfig
from pharmatwin.runtime.runner import Runtime
from pharmatwin.runtime.versioned_twin import (
    UnapprovedConfiguration,
    batch_refs,
    recipe_content,
    twin_config_content,
)
from tests.gmp.conftest import PASSWORD
from tests.gmp.test_versions import Gmp, open_gmp


@pytest.fixture
def gmp(tmp_path: Path) -> Iterator[Gmp]:
    opened = open_gmp(f"sqlite:///{tmp_path / 'historian.db'}")
    yield opened
    opened.close()


def _plant(mode: str) -> PlantConfig:
    raw: dict[str, Any] = {
        "mode": mode,
        "sources": [{"name": "plant", "kind": "opcua", "url": "opc.tcp://127.0.0.1:4840/x/"}],
        "assets": [
            {
                "asset": "br01",
                "source": "plant",
                "batch": {"id": "B-GATE", "start_utc": "2026-01-05T06:00:00Z"},
            }
        ],
    }
    return PlantConfig.model_validate(raw)


def test_production_needs_the_version_store(gmp: Gmp) -> None:
    with pytest.raises(ValueError, match="mode: production needs the version store"):
        Runtime(_plant("production"), gmp.url)


def test_production_refuses_an_unapproved_twin_and_writes_nothing(gmp: Gmp) -> None:
    runtime = Runtime(_plant("production"), gmp.url, versions=gmp.versions)
    with pytest.raises(UnapprovedConfiguration, match="BR01"):
        runtime.start(connect=False)
    runtime.stop()
    with open_historian(gmp.url) as h:
        assert h.batch("B-GATE") is None


def test_production_runs_approved_versions_and_the_batch_names_them(gmp: Gmp) -> None:
    asset = load_asset("br01")
    for kind, content in (
        ("twin_config", twin_config_content(asset)),
        ("recipe", recipe_content(asset)),
    ):
        name = "BR01" if kind == "twin_config" else asset.recipe.name
        version = gmp.versions.propose(kind, name, content, user="alice", reason="initial")
        with pytest.raises(ValueError, match="four-eyes"):
            gmp.versions.approve(
                kind, name, version.version, user="alice", password=PASSWORD, reason="mine"
            )
        gmp.versions.approve(
            kind, name, version.version, user="bob", password=PASSWORD, reason="reviewed"
        )
    runtime = Runtime(_plant("production"), gmp.url, versions=gmp.versions)
    try:
        runtime.start(connect=False)
        assert set(runtime.twins) == {"BR01"}
    finally:
        runtime.stop()
    with open_historian(gmp.url) as h:
        refs = batch_refs(h.events(batch_id="B-GATE"))
    assert {(r.kind, r.version) for r in refs} == {("twin_config", 1), ("recipe", 1)}
