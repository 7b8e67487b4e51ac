"""The production gate: a production twin refuses a configuration that is not an approved
version (none, a draft, or one changed after approval); a development twin records it and
warns. Batches and forecasts carry the refs of the exact versions used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from pharmatwin.core.utc import parse_utc
from pharmatwin.historian.records import Batch, TwinOutput
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import Asset, load_asset
from pharmatwin.runtime.versioned_twin import (
    UnapprovedConfiguration,
    UnapprovedConfigurationWarning,
    VersionRef,
    VersionStampedStore,
    batch_refs,
    refs_in,
    require_approved,
    require_approved_recipe,
    require_approved_versions,
    twin_config_content,
    versions_event,
)
from tests.gmp.conftest import PASSWORD
from tests.gmp.test_versions import Gmp, open_gmp


@pytest.fixture
def gmp(tmp_path: Path) -> Iterator[Gmp]:
    opened = open_gmp(f"sqlite:///{tmp_path / 'historian.db'}")
    yield opened
    opened.close()


def _with_members(asset: Asset, members: int) -> Asset:
    return asset.model_copy(update={"twin": asset.twin.model_copy(update={"members": members})})


def test_production_runs_only_an_approved_configuration(gmp: Gmp) -> None:
    asset = load_asset("br01")
    with pytest.raises(UnapprovedConfiguration, match="never proposed") as refused:
        require_approved(asset, gmp.versions, mode="production")
    assert (refused.value.asset, refused.value.kind, refused.value.version) == (
        "BR01",
        "twin_config",
        None,
    )
    assert "asset 'BR01': twin_config 'BR01' is not approved" in str(refused.value)

    gmp.versions.propose(
        "twin_config", "BR01", twin_config_content(asset), user="alice", reason="initial"
    )
    with pytest.raises(UnapprovedConfiguration, match=r"'BR01' v1 is not approved: v1 is a draft"):
        require_approved(asset, gmp.versions, mode="production")

    gmp.versions.approve("twin_config", "BR01", 1, user="bob", password=PASSWORD, reason="ok")
    ref = require_approved(asset, gmp.versions, mode="production")
    assert ref == gmp.versions.get("twin_config", "BR01", 1).ref
    assert (ref.kind, ref.name, ref.version) == ("twin_config", "BR01", 1)

    # a later change to the configuration is not covered by the approval
    changed = _with_members(asset, 60)
    with pytest.raises(UnapprovedConfiguration, match="differs from approved v1") as refused:
        require_approved(changed, gmp.versions, mode="production")
    assert refused.value.version is None
    # the recipe is gated too
    with pytest.raises(UnapprovedConfiguration, match="recipe 'cho-mab-fedbatch-14d'"):
        require_approved_versions(asset, gmp.versions, mode="production")


def test_development_records_the_configuration_and_warns(gmp: Gmp) -> None:
    asset = load_asset("br01")
    gmp.versions.propose(
        "twin_config", "BR01", twin_config_content(asset), user="alice", reason="initial"
    )
    gmp.versions.approve("twin_config", "BR01", 1, user="bob", password=PASSWORD, reason="ok")
    changed = _with_members(asset, 60)
    with pytest.warns(UnapprovedConfigurationWarning, match="differs from approved v1"):
        ref = require_approved(changed, gmp.versions, mode="development", user="alice")
    assert ref.version == 2
    v2 = gmp.versions.get("twin_config", "BR01", 2)
    assert (v2.status, v2.author, v2.content["twin"]["members"]) == ("draft", "alice", 60)
    assert "development run of asset BR01" in v2.reason
    # the same configuration again is the same version (no new one), still a draft
    with pytest.warns(UnapprovedConfigurationWarning, match="v2 is a draft"):
        assert require_approved(changed, gmp.versions, mode="development") == ref
    with pytest.raises(UnapprovedConfiguration, match="v2 is a draft"):
        require_approved(changed, gmp.versions, mode="production")
    # the approved configuration runs in development mode without a warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert require_approved(asset, gmp.versions, mode="development").version == 1
    with pytest.raises(ValueError, match="mode: 'prod'"):
        require_approved(asset, gmp.versions, mode="prod")  # type: ignore[arg-type]
    with pytest.warns(UnapprovedConfigurationWarning):
        recipe = require_approved_recipe(asset, gmp.versions, mode="development")
    assert (recipe.kind, recipe.name, recipe.version) == ("recipe", asset.recipe.name, 1)


def test_batches_and_forecasts_carry_the_refs(gmp: Gmp, tmp_path: Path) -> None:
    asset = load_asset("br01")
    with pytest.warns(UnapprovedConfigurationWarning):
        refs = require_approved_versions(asset, gmp.versions, mode="development")
    start = parse_utc("2026-01-05T06:00:00Z")
    batch = Batch("B7", asset.name, asset.recipe.name, start)
    with open_historian(f"sqlite:///{tmp_path / 'historian.db'}") as historian:
        historian.start_batch(batch)
        historian.add_event(versions_event(batch, refs))
        historian.add_event(versions_event(batch, refs))  # a restarted runtime: stored once
        stamped = VersionStampedStore(historian, refs)
        forecast = TwinOutput("BR01.twin", "B7", "forecast", start + timedelta(hours=6), 6.0, {})
        stamped.write_output(forecast)
        belief = TwinOutput("BR01.twin", "B7", "belief", start + timedelta(hours=6), 6.0, {})
        stamped.write_output(belief)
        events = historian.events(batch_id="B7")
        outputs = historian.outputs("BR01.twin", "B7")
    assert [e.kind for e in events] == ["batch"]
    assert batch_refs(events) == list(refs)
    assert "twin_config 'BR01' v1" in events[0].message
    by_kind = {o.kind: o for o in outputs}
    assert refs_in(by_kind["forecast"].data) == list(refs)
    assert refs_in(by_kind["belief"].data) == []
    config = gmp.versions.get("twin_config", "BR01", 1)
    assert refs[0] == VersionRef("twin_config", "BR01", 1, config.content_hash)
    with pytest.raises(ValueError, match="version: 0 is not a version number"):
        VersionRef.from_document({**refs[0].document(), "version": 0})
