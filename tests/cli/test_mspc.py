"""``pharmatwin mspc``: fit and score a user's CSV, the Tennessee Eastman study, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pharmatwin.cli.mspc import mspc_app

runner = CliRunner()
TEP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tep-braatz"
NAMES = ["temp", "pressure", "flow", "level", "speed"]


def write_csv(path: Path, x: np.ndarray, names: list[str], ids: bool = True) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow((["time"] if ids else []) + names)
        for i, row in enumerate(x):
            cells = ["" if np.isnan(v) else repr(float(v)) for v in row]
            writer.writerow(([f"t{i}"] if ids else []) + cells)
    return path


def process(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    mix = np.random.default_rng(0).normal(size=(2, 5))
    out: np.ndarray = latent @ mix + 0.1 * rng.normal(size=(n, 5))
    out += np.array([37.0, 2.0, 10.0, 50.0, 300])
    return out


def test_fit_then_score_flags_the_faulty_rows(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", process(200, 1), NAMES)
    model = tmp_path / "model.json"
    result = runner.invoke(
        mspc_app, ["fit", "--data", str(train), "--id", "time", "--model", str(model), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["method"] == "pca" and summary["components"] == 2 and summary["rows"] == 200
    doc = json.loads(model.read_text())
    assert doc["version"] == 1 and doc["variables"] == NAMES
    assert doc["model"]["scaler"]["how"] == "autoscale" and len(doc["model"]["loadings"]) == 5

    new = process(40, 2)
    new[20:, 2] += 2.0  # a bias on "flow" from row 21
    new[5, 3] = np.nan  # a missing value is tolerated
    test = write_csv(tmp_path / "test.csv", new, NAMES)
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        mspc_app,
        ["score", "--model", str(model), "--data", str(test), "--id", "time", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and rows[0]["id"] == "t0"
    assert {"T2", "T2_limit", "T2_flag", "SPE", "SPE_limit", "SPE_flag", "top_variable"} <= set(
        rows[0]
    )
    flagged = [r["SPE_flag"] == "True" or r["T2_flag"] == "True" for r in rows]
    assert sum(flagged[20:]) >= 18 and sum(flagged[:20]) <= 2
    # SPE contributions smear a bias over the other variables (5 variables, 2 components), yet
    # the biased one is the most frequent top contributor
    tops = [r["top_variable"] for r, f in zip(rows[20:], flagged[20:], strict=True) if f]
    assert max(set(tops), key=tops.count) == "flow"
    assert tops.count("flow") >= 0.5 * len(tops)
    assert float(rows[5]["SPE"]) >= 0


def test_pls_fit_and_score_json_predicts(tmp_path: Path) -> None:
    x = process(150, 3)
    y = (x[:, 0] - 37.0) * 2.0 + 0.01 * np.random.default_rng(4).normal(size=150)
    data = write_csv(tmp_path / "pls.csv", np.column_stack([x, y]), [*NAMES, "quality"])
    model = tmp_path / "pls.json"
    result = runner.invoke(
        mspc_app,
        ["fit", "--data", str(data), "--id", "time", "--method", "pls", "--y", "quality",
         "--components", "2", "--model", str(model)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        mspc_app, ["score", "--model", str(model), "--data", str(data), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    predicted = np.array([r["predicted_quality"] for r in doc["rows"]])
    # y carries temp's own noise (sd 0.2), which lies off the 2-component plane
    assert np.sqrt(np.mean((predicted - y) ** 2)) < 0.25 * y.std()
    assert doc["limits"]["alpha"] == 0.99 and doc["flagged"] <= 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "svm"], "--method: 'svm' is not 'pca' or 'pls'"),
        (["--method", "pls"], "--y: PLS needs the response columns"),
        (["--y", "temp"], "--y: only for --method pls"),
        (["--x", "temp,nope"], "no column 'nope'"),
        (["--components", "9"], "n_components: 9 is not between 1 and 5"),
        (["--scaling", "unit"], "scaling: 'unit' is not one of"),
    ],
)
def test_fit_errors_name_the_field(tmp_path: Path, args: list[str], message: str) -> None:
    train = write_csv(tmp_path / "train.csv", process(30, 1), NAMES, ids=False)
    result = runner.invoke(
        mspc_app, ["fit", "--data", str(train), "--model", str(tmp_path / "m.json"), *args]
    )
    assert result.exit_code == 2
    assert message in result.output


def test_bad_csv_and_model_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,x\n", encoding="utf-8")
    result = runner.invoke(mspc_app, ["fit", "--data", str(bad), "--model", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "column 'b', line 3: 'x' is not a number" in result.output

    train = write_csv(tmp_path / "train.csv", process(30, 1), NAMES, ids=False)
    model = tmp_path / "m.json"
    assert (
        runner.invoke(mspc_app, ["fit", "--data", str(train), "--model", str(model)]).exit_code == 0
    )
    short = write_csv(tmp_path / "short.csv", process(5, 2)[:, :4], NAMES[:4], ids=False)
    result = runner.invoke(mspc_app, ["score", "--model", str(model), "--data", str(short)])
    assert result.exit_code == 2 and "no column 'speed'" in result.output

    doc = json.loads(model.read_text())
    del doc["model"]["loadings"]
    model.write_text(json.dumps(doc))
    result = runner.invoke(mspc_app, ["score", "--model", str(model), "--data", str(train)])
    assert result.exit_code == 2 and "model.loadings: missing" in result.output
    model.write_text("{")
    result = runner.invoke(mspc_app, ["score", "--model", str(model), "--data", str(train)])
    assert result.exit_code == 2 and "not JSON" in result.output


@pytest.mark.skipif(
    not (TEP / "d00.dat").is_file(),
    reason="Tennessee Eastman data not found at ../shared/data/tep-braatz (see its README)",
)
def test_benchmark_tep_json_has_the_contract_shape() -> None:
    result = runner.invoke(mspc_app, ["benchmark-tep", "--data", str(TEP), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"pca-T2", "pca-SPE", "cva-T2", "cva-Q"} <= set(doc)
    for entry in doc.values():
        assert set(entry) == {"false_alarm_rate", "detection_rate"}
        assert list(entry["detection_rate"]) == [str(f) for f in range(1, 22)]
        assert all(0.0 <= v <= 1.0 for v in entry["detection_rate"].values())
    assert doc["pca-SPE"]["detection_rate"]["1"] > 0.95


def test_benchmark_tep_names_a_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(mspc_app, ["benchmark-tep", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2 and "is not a folder" in result.output
