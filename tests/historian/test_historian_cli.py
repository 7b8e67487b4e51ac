"""`pharmatwin historian ...` as a user meets it: import, query, export, tags, quarantine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pharmatwin.cli.historian import historian_app, parse_duration
from pharmatwin.historian.records import Sample
from pharmatwin.historian.urls import ENV_VAR, open_historian

runner = CliRunner()
T0 = datetime(2026, 1, 5, 6, tzinfo=UTC)
CSV = """time_utc,batch_h,tag,value,unit,quality,available_utc,batch_id
2026-01-05T06:00:00.000Z,0.000000,pH,7.01,1,192,2026-01-05T06:00:00.000Z,B1
2026-01-05T06:30:00.000Z,0.500000,pH,7.03,1,192,2026-01-05T06:30:00.000Z,B1
2026-01-05T07:00:00.000Z,1.000000,pH,6.99,1,192,2026-01-05T07:00:00.000Z,B1
2026-01-05T06:00:00.000Z,0.000000,DO,40.0,%,192,2026-01-05T06:00:00.000Z,B1
2026-01-05T06:10:00.000Z,0.166667,DO,oops,%,192,2026-01-05T06:10:00.000Z,B1
"""


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(historian_app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> str:
    path = tmp_path / "plant.csv"
    path.write_text(CSV, encoding="utf-8")
    code, out, err = run("import", str(path), "--db", db_url, "--json")
    assert code == 0, err
    assert json.loads(out) == {"inserted": 4, "duplicates": 0, "quarantined": 1}
    return db_url


def test_import_prints_counts_and_is_idempotent(loaded: str, tmp_path: Path) -> None:
    code, out, _ = run("import", str(tmp_path / "plant.csv"), "--db", loaded)
    assert code == 0
    assert "0 stored, 4 already stored, 1 quarantined" in out


def test_query_window_latest_resample(loaded: str) -> None:
    code, out, _ = run("query", "window", "--db", loaded, "--tag", "pH", "--json")
    assert code == 0
    assert [r["value"] for r in json.loads(out)] == [7.01, 7.03, 6.99]
    code, out, _ = run("query", "window", "--db", loaded, "--start", "2026-01-05T06:15:00Z")
    assert code == 0 and "2 samples" in out and "7.03" in out and "7.01" not in out
    code, out, _ = run("query", "latest", "--db", loaded, "--json")
    latest = {r["tag"]: r for r in json.loads(out)}
    assert latest["pH"] == {
        "tag": "pH",
        "time": "2026-01-05T07:00:00Z",
        "value": 6.99,
        "quality": 192,
    }
    assert latest["DO"]["value"] == 40.0
    args = ["--tag", "pH", "--start", "2026-01-05T06:00:00Z", "--end", "2026-01-05T08:00:00Z"]
    code, out, _ = run("query", "resample", "--db", loaded, *args, "--every", "1h", "--json")
    assert code == 0
    bins = json.loads(out)["bins"]
    assert [b["start"] for b in bins] == ["2026-01-05T06:00:00Z", "2026-01-05T07:00:00Z"]
    assert bins[0]["mean"] == pytest.approx(7.02) and bins[1]["mean"] == 6.99
    code, out, _ = run(
        "query", "resample", "--db", loaded, *args, "--every", "30min", "--how", "count"
    )
    assert code == 0 and "count every 30min" in out


def test_tags_and_quarantine(loaded: str) -> None:
    code, out, _ = run("tags", "--db", loaded, "--json")
    assert code == 0
    assert json.loads(out) == [
        {"name": "DO", "unit": "%", "asset": "", "description": ""},
        {"name": "pH", "unit": "1", "asset": "", "description": ""},
    ]
    code, out, _ = run("quarantine", "--db", loaded, "--json", "--source", "file")
    [item] = json.loads(out)
    assert item["reason"] == "row 5: value: 'oops' is not a number"
    assert item["tag"] == "DO" and item["time"] == "2026-01-05T06:10:00Z"
    code, out, _ = run("quarantine", "--db", loaded)
    assert code == 0 and "1 quarantined values" in out
    code, out, _ = run("quarantine", "--db", loaded, "--json", "--since", "2100-01-01T00:00:00Z")
    assert json.loads(out) == []


def test_export_round_trips(loaded: str, tmp_path: Path) -> None:
    out_path = tmp_path / "out.parquet"
    code, out, _ = run("export", str(out_path), "--db", loaded, "--tag", "pH")
    assert code == 0 and "3 samples written" in out
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, out, _ = run("import", str(out_path), "--db", fresh)
    assert code == 0 and "3 stored" in out
    with open_historian(fresh) as copy, open_historian(loaded) as original:
        assert copy.window().equals(original.window(["pH"]))


def test_the_default_database_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{tmp_path / 'env.db'}")
    with open_historian(None) as historian:
        historian.write([Sample("T", T0, 36.8)])
    code, out, _ = run("query", "latest", "--json")
    assert code == 0 and json.loads(out)[0]["value"] == 36.8


RESAMPLE = ["query", "resample", "--tag", "pH", "--start", "2026-01-05T06:00:00Z"]
RESAMPLE += ["--end", "2026-01-05T07:00:00Z"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tags", "--db", "mysql://x/y"], "error: --db: unknown database URL scheme 'mysql'"),
        (["query", "window", "--start", "noon"], "error: --start: 'noon' is not an ISO 8601"),
        (
            [*RESAMPLE, "--every", "soon"],
            "error: --every: 'soon' is not a duration",
        ),
        (
            [*RESAMPLE, "--how", "median"],
            "error: --how: 'median' is not one of",
        ),
        (["import", "nowhere.csv"], "error: nowhere.csv: no such file"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    code, _, err = run(*args)
    assert code == 2
    assert err.startswith(message), err


def test_durations() -> None:
    assert parse_duration("--every", "90s").total_seconds() == 90
    assert parse_duration("--every", "1.5h").total_seconds() == 5400
    assert parse_duration("--every", "250ms").total_seconds() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="positive"):
        parse_duration("--every", "0s")
    assert np.isclose(parse_duration("--every", "2d").total_seconds(), 172800)


def test_an_unreachable_database_exits_1(tmp_path: Path) -> None:
    from pharmatwin.historian.pgserver import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/pharmatwin?connect_timeout=2"
    code, _, err = run("tags", "--db", url)
    assert code == 1
    assert err.startswith("error: PostgreSQL database postgresql://postgres@127.0.0.1:")
    assert "cannot connect" in err
