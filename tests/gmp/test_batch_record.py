"""The electronic batch record of a short real batch: the virtual plant runs 72 h (the aeration
failure scenario's recipe harvested early, so the titre specification fails and the twin
raises an alarm), a 20-member twin steps through it from a temporary historian with approved
versions, and the record (HTML and PDF) holds the expected sections, values and signatures."""

from __future__ import annotations

import base64
import contextlib
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.gmp.batch_record import (
    RECORD_TYPE,
    BatchRecord,
    build_batch_record,
    render_html,
    sign_batch_record,
    write_batch_record,
)
from pharmatwin.gmp.batch_record_data import alarm_id
from pharmatwin.historian.errors import UnknownBatch
from pharmatwin.historian.files import SampleTable
from pharmatwin.historian.records import Batch, Event, Sample, TagInfo, to_us
from pharmatwin.historian.store import Historian
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import Asset, load_asset
from pharmatwin.runtime.live_twin import LiveTwin
from pharmatwin.runtime.plant_export import sensor_table
from pharmatwin.runtime.versioned_twin import (
    VersionRef,
    VersionStampedStore,
    recipe_content,
    require_approved_versions,
    twin_config_content,
    versions_event,
)
from tests.gmp.conftest import PASSWORD
from tests.gmp.test_versions import Gmp, open_gmp

HARVEST_H = 72.0
BATCH = "B-72"
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


@dataclass
class World:
    url: str
    gmp: Gmp
    historian: Historian
    asset: Asset
    table: SampleTable


def short_asset() -> Asset:
    asset = load_asset("br01")
    return asset.model_copy(
        update={
            "twin": asset.twin.model_copy(update={"members": 20}),
            "alarms": asset.alarms.model_copy(update={"persistence_h": 0.0}),
            "recipe": asset.recipe.harvested_at(HARVEST_H),
        }
    )


def store_batch(
    historian: Historian, asset: Asset, table: SampleTable, refs: Sequence[VersionRef]
) -> Batch:
    """What the runtime does: tags, batch, version refs, samples, the twin's outputs."""
    historian.ensure_tags(
        [TagInfo(m.tag, m.unit, asset.name, m.description) for m in asset.tag_map()]
    )
    batch = Batch(BATCH, asset.name, asset.recipe.name, table.start)
    historian.start_batch(batch)
    historian.add_event(versions_event(batch, refs))
    start_us = to_us(table.start)
    historian.write_columns(
        table.tag.astype(str),
        start_us + np.round(table.time_h * 3.6e9).astype(np.int64),
        table.value,
        available_us=start_us + np.round(table.available_h * 3.6e9).astype(np.int64),
    )
    historian.end_batch(BATCH, table.start + timedelta(hours=HARVEST_H), "complete")
    twin = LiveTwin(asset, historian.batch(BATCH) or batch, VersionStampedStore(historian, refs))
    twin.poll()
    assert twin.session.finished
    return batch


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ebr') / 'historian.db'}"
    scenario = load_scenario("aeration-failure")
    scenario = scenario.model_copy(
        update={"recipe": scenario.recipe.harvested_at(HARVEST_H), "control_step_min": 5.0}
    )
    table = sensor_table(run_plant(scenario), scenario.start_utc, BATCH)
    asset = short_asset()
    gmp = open_gmp(url)
    gmp.users.add("operator1", "operator", PASSWORD)
    versions = gmp.versions
    versions.propose("twin_config", "BR01", twin_config_content(asset), user="alice", reason="72 h")
    versions.propose(
        "recipe", asset.recipe.name, recipe_content(asset), user="alice", reason="72 h"
    )
    versions.approve("twin_config", "BR01", 1, user="bob", password=PASSWORD, reason="ok")
    versions.approve("recipe", asset.recipe.name, 1, user="bob", password=PASSWORD, reason="ok")
    refs = require_approved_versions(asset, versions, mode="production")
    historian = open_historian(url)
    store_batch(historian, asset, table, refs)
    # what else happens to a batch: an operator acknowledges the alarm, a setpoint change is
    # audited, a connector drops, a conflicting value arrives (quarantined)
    alarm = next(e for e in historian.events(batch_id=BATCH) if e.kind == "alarm")
    ident = alarm_id(alarm.source, alarm.time, alarm.subject)
    ack_time = alarm.time + timedelta(minutes=30)
    historian.add_event(
        Event(
            "acknowledgement",
            "service:operator1",
            ack_time,
            ident,
            "ack",
            asset.name,
            BATCH,
            {"by": "operator1", "comment": HOSTILE, "alarm": ident},
        )
    )
    gmp.audit.append(
        user="operator1",
        action="change",
        record_type="setpoint",
        record_id="BR01.T",
        old={"value": 36.5},
        new={"value": 36.0, "batch_id": BATCH},
        reason="cool down <now>",
    )
    gmp.audit.append(
        user="operator1",
        action="create",
        record_type="acknowledgement",
        record_id=ident,
        old=None,
        new={"comment": "seen"},
        reason="alarm acknowledged",
    )
    gmp.audit.append(
        user="operator1",
        action="change",
        record_type="setpoint",
        record_id="BR02.T",
        old={"value": 36.5},
        new={"value": 35.0},
        reason="another bioreactor",
    )
    historian.add_event(
        Event(
            "connector_gap",
            "opcua",
            table.start + timedelta(hours=30),
            "opc.tcp",
            "gap 40 s",
            asset.name,
            "",
            {"seconds": 40},
        )
    )
    tag = "BR01.TT101.PV"
    first = table.start + timedelta(hours=float(table.time_h[table.tag == tag][10]))
    assert historian.write([Sample(tag, first, 99.0)]).quarantined == 1
    yield World(url, gmp, historian, asset, table)
    historian.close()
    gmp.close()


def build(world: World) -> BatchRecord:
    return build_batch_record(
        world.historian,
        BATCH,
        audit=world.gmp.audit,
        signatures=world.gmp.signatures,
        versions=world.gmp.versions,
        asset=world.asset,
    )


def test_the_record_holds_every_section_and_the_values(world: World) -> None:
    record = build(world)
    c = record.content
    assert [s.key for s in record.sections()] == [
        "header",
        "phases",
        "cpp",
        "cqa",
        "alarms",
        "deviations",
        "audit",
        "signatures",
    ]
    assert c["batch"] == {
        "batch_id": BATCH,
        "asset": "BR01",
        "recipe": "cho-mab-fedbatch-14d",
        "state": "complete",
        "start": "2026-01-05T06:00:00Z",
        "end": "2026-01-08T06:00:00Z",
        "twin": "BR01.twin",
    }
    config = world.gmp.versions.get("twin_config", "BR01", 1)
    assert c["versions"][0] == config.ref.document()
    assert [(r["kind"], r["version"]) for r in c["versions"]] == [("twin_config", 1), ("recipe", 1)]
    # timeline: the recipe version's (harvested at 72 h) single growth phase, completed
    assert [(p["name"], p["end_h"], p["status"]) for p in c["recipe"]["phases"]] == [
        ("growth", 72.0, "complete")
    ]
    # CPPs: every online tag, its good samples summarized and averaged by hour
    cpp = {t["tag"]: t for t in c["cpp"]["tags"]}
    assert set(cpp) == {
        "BR01.TT101.PV",
        "BR01.AT201.PV",
        "BR01.AT301.PV",
        "BR01.WT401.PV",
        "BR01.FQ501.PV",
        "BR01.FQ502.PV",
    }
    pick = world.table.tag == "BR01.AT301.PV"
    do, hours = world.table.value[pick], world.table.time_h[pick]
    assert cpp["BR01.AT301.PV"]["samples"] == pick.sum()
    assert cpp["BR01.AT301.PV"]["mean"] == pytest.approx(do.mean(), rel=1e-5)
    assert c["cpp"]["hourly_mean"]["BR01.AT301.PV"][5] == pytest.approx(
        do[(hours >= 5) & (hours < 6)].mean(), rel=1e-5
    )
    # CQAs: at-line results against the belief at or before their sample time
    results = c["cqa"]["results"]
    assert {r["tag"] for r in results} >= {"BR01.TITRE.LAB", "BR01.VCD.LAB", "BR01.GLC.LAB"}
    glc = next(r for r in results if r["tag"] == "BR01.GLC.LAB" and r["batch_h"] == 48.0)
    belief = next(
        o for o in world.historian.outputs("BR01.twin", BATCH, "belief") if o.batch_h == 48.0
    )
    assert glc["predicted"] == pytest.approx(belief.data["outputs"]["glucose"]["mean"], rel=1e-5)
    assert glc["within"] == (glc["p05"] <= glc["measured"] <= glc["p95"])
    first_sample = next(r for r in results if r["tag"] == "BR01.GLC.LAB" and r["batch_h"] == 0)
    assert first_sample["predicted"] is None  # no belief yet at 0 h
    forecasts = c["cqa"]["forecasts"]
    assert [f["batch_h"] for f in forecasts] == [6.0 * k for k in range(1, 13)]
    assert all(f["versions"] == [1, 1] for f in forecasts)
    assert forecasts[-1]["cqa"]["titre"]["p_fail"] == 1.0
    # the alarm, its lead time and its acknowledgement
    (alarm,) = c["alarms"]
    assert (alarm["kind"], alarm["subject"]) == ("alarm", "titre")
    assert alarm["lead_time_h"] == pytest.approx(HARVEST_H - alarm["raised_at_h"])
    first_ack = alarm["acknowledgements"][0]  # (the signature test adds a later one)
    assert (first_ack["by"], first_ack["comment"]) == ("operator1", HOSTILE)
    deviations = c["deviations"]
    assert (deviations["alarms"], deviations["quarantined_total"]) == (1, 1)
    assert deviations["quarantined"][0]["tag"] == "BR01.TT101.PV"
    assert [e["kind"] for e in deviations["connector"]] == ["connector_gap"]
    # the audit trail of the batch: the versions' creation and approval, the setpoint change
    actions = [(r.user, r.action, r.record_type) for r in record.audit]
    assert ("alice", "create", "twin_config_version") in actions
    assert ("bob", "sign", "recipe_version") in actions
    assert ("operator1", "change", "setpoint") in actions
    assert ("operator1", "create", "acknowledgement") in actions
    assert all(r.record_id != "BR02.T" for r in record.audit)


def test_signatures_show_with_their_manifestation_and_validity(world: World) -> None:
    record = build(world)
    assert [(r.record, r.signature.meaning, r.valid) for r in record.signatures] == [
        ("twin_config BR01 v1", "approved", True),
        ("recipe cho-mab-fedbatch-14d v1", "approved", True),
    ]
    signed = sign_batch_record(
        world.gmp.signatures,
        record,
        user="bob",
        password=PASSWORD,
        meaning="reviewed",
        reason="batch review",
    )
    assert (signed.record_type, signed.record_id) == (RECORD_TYPE, BATCH)
    again = build(world)
    assert again.content_hash == record.content_hash
    reviewed = again.signatures[0]
    assert (reviewed.record, reviewed.signature.printed_name, reviewed.valid) == (
        "batch record",
        "bob",
        True,
    )
    section = again.sections()[-1]
    rows = section.tables[0].rows
    assert rows[0][:4] == ("batch record", "reviewed", "bob", "bob")
    assert rows[0][4] == signed.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert rows[0][5] == "valid"
    # a late acknowledgement changes the record: the review no longer covers it
    alarm = again.content["alarms"][0]
    world.historian.add_event(
        Event(
            "acknowledgement",
            "service:alice",
            world.table.start + timedelta(hours=80),
            alarm["id"],
            "late",
            "BR01",
            BATCH,
            {"by": "alice", "comment": "late"},
        )
    )
    changed = build(world)
    assert changed.content_hash != record.content_hash
    assert changed.signatures[0].valid is False
    assert "content hash differs" in changed.signatures[0].problem
    assert changed.sections()[-1].tables[0].rows[0][5].startswith("INVALID")


def test_html_is_self_contained_and_escapes_user_text(world: World, tmp_path: Path) -> None:
    record = build(world)
    page = render_html(record)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold" in page
    assert "cool down &lt;now&gt;" in page  # an audit reason
    assert not re.search(r"(src|href)\s*=|<link|@import", page)
    for title in (
        "Timeline of phases",
        "Critical process parameters",
        "Alarms and acknowledg",
        "Deviations",
        "Electronic signatures",
        record.content_hash,
        BATCH,
    ):
        assert title in page
    path = write_batch_record(record, tmp_path / "record.html")
    assert path.read_text(encoding="utf-8") == page
    with pytest.raises(ValueError, match=r"out: 'record.txt' must end in \.html or \.pdf"):
        write_batch_record(record, tmp_path / "record.txt")


def pdf_text(data: bytes) -> str:
    """The decoded content streams of a ReportLab PDF (ASCII85 then Flate), as Latin-1."""
    parts = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = stream.strip()
        if raw.endswith(b"~>"):
            raw = base64.a85decode(raw, adobe=True)
        with contextlib.suppress(zlib.error):  # not compressed
            raw = zlib.decompress(raw)
        parts.append(raw.decode("latin-1"))
    return "\n".join(parts)


def test_pdf_is_a_valid_pdf_with_the_batch(world: World, tmp_path: Path) -> None:
    pytest.importorskip("reportlab")
    path = write_batch_record(build(world), tmp_path / "record.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type /Page[^s]", data)
    assert len(pages) >= 2
    text = pdf_text(data)
    assert f"Electronic batch record {BATCH}" in text
    record = build(world)
    assert f"content SHA-256 {record.content_hash}" in text  # on every page's footer
    assert text.count(f"content SHA-256 {record.content_hash}") == len(pages)
    shown = "".join(re.findall(r"\(((?:\\.|[^\\)])*)\) Tj", text))  # the strings drawn
    assert "<b>bold</b>" in shown  # user text printed as it is, not read as markup


def test_an_unknown_batch_is_named(world: World) -> None:
    with pytest.raises(UnknownBatch, match="batch_id: no batch 'nope'"):
        build_batch_record(world.historian, "nope")
