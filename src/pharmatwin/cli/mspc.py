"""``pharmatwin mspc benchmark-tep|fit|score``: multivariate monitoring from the command line.

``fit`` reads a CSV with a header (one row per observation; empty cells and NaN are missing),
fits PCA or PLS and writes a JSON model file (format version, variables, scaling, loadings,
limits). ``score`` applies it to another CSV: T², SPE, their limits and flags per row, and the
variable that contributes most to the statistic furthest over its limit. ``benchmark-tep`` runs
the Tennessee Eastman study (``pharmatwin.monitoring.tep``). Bad input exits with code 2 and one
line naming the file, column or field.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring.pca import PCAModel, fit_pca
from pharmatwin.monitoring.pls import PLSModel, fit_pls
from pharmatwin.monitoring.scaling import SCALINGS, MonitoringInputError, check_scaling

FORMAT = "pharmatwin.mspc-model"
VERSION = 1
_MISSING = {"", "nan", "na", "n/a", "null"}

mspc_app = typer.Typer(
    help="Multivariate monitoring: PCA/PLS, T² and SPE, Tennessee Eastman, batches, Raman.",
    no_args_is_help=True,
)
AS_JSON = typer.Option(False, "--json", help="Print one JSON object.")


class ModelFileError(MonitoringInputError):
    """A model file that cannot be used; the message names the field."""


@mspc_app.command("benchmark-tep")
def benchmark_tep(
    data: Path = typer.Option(..., "--data", help="Folder with d00.dat, d00_te.dat, dNN_te.dat."),
    alpha: float = typer.Option(0.99, "--alpha", help="Confidence of the control limits."),
    as_json: bool = AS_JSON,
) -> None:
    """Tennessee Eastman study: false alarm and detection rates of PCA, DPCA and CVA."""
    from pharmatwin.monitoring.tep import FAULTS, load_tep, run_study, study_json

    with bad_input():
        results, settings = run_study(load_tep(data), alpha)
    if as_json:
        print(json.dumps(study_json(results), allow_nan=False))
        return
    table = Table(title=f"Tennessee Eastman, {alpha:.0%} limits (rates in %)")
    table.add_column("")
    for name in results:
        table.add_column(name, justify="right")
    table.add_row("false alarms", *(f"{r.false_alarm_rate * 100:.1f}" for r in results.values()))
    for fault in FAULTS:
        row = (f"{r.detection_rate[fault] * 100:.1f}" for r in results.values())
        table.add_row(f"fault {fault}", *row)
    table.add_row(
        "mean (not 3, 9, 15)", *(f"{r.mean_detection() * 100:.1f}" for r in results.values())
    )
    console = Console()
    console.print(table)
    console.print(
        f"PCA {settings.pca_components} components; DPCA {settings.dpca_lags} lags, "
        f"{settings.dpca_components} components; CVA {settings.cva_lags} lags, "
        f"{settings.cva_states} states (all chosen on d00)"
    )


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file (names stripped); errors name the file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise MonitoringInputError(f"{path}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MonitoringInputError(f"{path}: not a CSV text file ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise MonitoringInputError(f"{path}: needs a header and at least one row")
    header = [name.strip() for name in rows[0]]
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise MonitoringInputError(f"{path}: column {duplicates[0]!r} appears twice")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise MonitoringInputError(
                f"{path}: line {number} has {len(row)} cells, the header {len(header)}"
            )
    return header, rows[1:]


def numeric_columns(
    path: Path, header: list[str], rows: list[list[str]], names: list[str]
) -> FloatArray:
    """The named columns as floats (empty / NaN cells -> NaN); errors name column and line."""
    out = np.empty((len(rows), len(names)))
    for j, name in enumerate(names):
        if name not in header:
            raise MonitoringInputError(f"{path}: no column {name!r}")
        col = header.index(name)
        for i, row in enumerate(rows):
            cell = row[col].strip()
            if cell.lower() in _MISSING:
                out[i, j] = math.nan
                continue
            try:
                out[i, j] = float(cell)
            except ValueError:
                raise MonitoringInputError(
                    f"{path}: column {name!r}, line {i + 2}: {cell!r} is not a number"
                ) from None
            if not math.isfinite(out[i, j]):
                raise MonitoringInputError(f"{path}: column {name!r}, line {i + 2}: not finite")
    return out


def _names(option: str | None) -> list[str]:
    return [n.strip() for n in option.split(",") if n.strip()] if option else []


@mspc_app.command("fit")
def fit(
    data: Path = typer.Option(..., "--data", help="Training CSV with a header."),
    model: Path = typer.Option(..., "--model", help="Model file to write (JSON)."),
    method: str = typer.Option("pca", "--method", help="pca or pls."),
    components: int | None = typer.Option(None, "--components", help="Default: cross-validated."),
    y: str | None = typer.Option(None, "--y", help="PLS: comma-separated response columns."),
    x: str | None = typer.Option(None, "--x", help="Columns to model (default: all others)."),
    id_column: str | None = typer.Option(None, "--id", help="A label column, not modelled."),
    scaling: str = typer.Option("autoscale", "--scaling", help=", ".join(SCALINGS)),
    alpha: float = typer.Option(0.99, "--alpha", help="Confidence of the control limits."),
    as_json: bool = AS_JSON,
) -> None:
    """Fit a PCA or PLS model to normal-operation data and write it as JSON."""
    with bad_input("--method"):
        if method not in ("pca", "pls"):
            raise ValueError(f"{method!r} is not 'pca' or 'pls'")
    with bad_input("--y"):
        y_names = _names(y)
        if method == "pls" and not y_names:
            raise ValueError("PLS needs the response columns")
        if method == "pca" and y_names:
            raise ValueError("only for --method pls")
    with bad_input():
        how = check_scaling(scaling)
        header, rows = read_csv(data)
        skip = {*y_names, *([id_column] if id_column else [])}
        x_names = _names(x) or [n for n in header if n not in skip]
        if id_column and id_column not in header:
            raise MonitoringInputError(f"{data}: no column {id_column!r} (--id)")
        xa = numeric_columns(data, header, rows, x_names)
        if method == "pca":
            fitted: PCAModel | PLSModel = fit_pca(xa, components, scaling=how)
        else:
            ya = numeric_columns(data, header, rows, y_names)
            fitted = fit_pls(xa, ya, components, scaling=how)
        document = model_document(fitted, x_names, y_names, alpha)
    try:
        model.write_text(json.dumps(document, indent=1, allow_nan=False), encoding="utf-8")
    except OSError as exc:
        fail(f"--model: cannot write {model} ({exc.strerror})")
    summary = {k: document[k] for k in ("method", "components", "rows", "limits")}
    if as_json:
        print(json.dumps(summary, allow_nan=False))
        return
    limits = document["limits"]
    Console().print(
        f"{method.upper()} model, {document['components']} components, {len(x_names)} variables, "
        f"{document['rows']} rows; T² limit {limits['t2']:.4g}, SPE limit {limits['spe']:.4g} "
        f"({alpha:.0%}); written to {model}"
    )


def model_document(
    model: PCAModel | PLSModel, x_names: list[str], y_names: list[str], alpha: float
) -> dict[str, Any]:
    """The model file's JSON content."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "method": "pca" if isinstance(model, PCAModel) else "pls",
        "variables": x_names,
        "responses": y_names,
        "components": model.n_components,
        "rows": model.n_train,
        "limits": {
            "alpha": alpha,
            "t2": model.t2_limit(alpha),
            "spe": model.spe_limit(alpha),
            "t2_method": "F (Tracy, Young & Mason 1992)",
            "spe_method": "Box (1954) from residual eigenvalues",
        },
        "model": model.to_dict(),
    }


def load_model(path: Path) -> tuple[dict[str, Any], PCAModel | PLSModel]:
    """A model file written by ``fit``; errors name the field."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"{path}: format: not a {FORMAT} file")
    if document.get("version") != VERSION:
        raise ModelFileError(f"{path}: version: {document.get('version')!r}, expected {VERSION}")
    for key in ("variables", "responses"):
        names = document.get(key)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ModelFileError(f"{path}: {key}: expected a list of column names")
    limits = document.get("limits")
    if not isinstance(limits, dict) or not all(
        isinstance(limits.get(k), int | float) for k in ("t2", "spe")
    ):
        raise ModelFileError(f"{path}: limits: expected numbers t2 and spe")
    raw = document.get("model")
    if not isinstance(raw, dict):
        raise ModelFileError(f"{path}: model: missing")
    try:
        model = (
            PCAModel.from_dict(raw) if document.get("method") == "pca" else PLSModel.from_dict(raw)
        )
    except MonitoringInputError as exc:
        raise ModelFileError(f"{path}: model.{exc}") from None
    if model.n_vars != len(document["variables"]):
        raise ModelFileError(
            f"{path}: variables: {len(document['variables'])} names for {model.n_vars}"
        )
    return document, model


@mspc_app.command("score")
def score(
    model: Path = typer.Option(..., "--model", help="Model file written by 'mspc fit'."),
    data: Path = typer.Option(..., "--data", help="CSV with the model's columns."),
    out: Path | None = typer.Option(None, "--out", help="Write the scores as CSV."),
    id_column: str | None = typer.Option(None, "--id", help="A label column to carry over."),
    as_json: bool = AS_JSON,
) -> None:
    """T², SPE, limits, flags and the top contributing variable of every row."""
    with bad_input():
        document, fitted = load_model(model)
        header, rows = read_csv(data)
        names: list[str] = document["variables"]
        xa = numeric_columns(data, header, rows, names)
        if id_column and id_column not in header:
            raise MonitoringInputError(f"{data}: no column {id_column!r} (--id)")
        labels = [r[header.index(id_column)] for r in rows] if id_column else None
        table = score_rows(fitted, document, xa, labels)
    if out is not None:
        try:
            with out.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(table[0]))
                writer.writeheader()
                writer.writerows(table)
        except OSError as exc:
            fail(f"--out: cannot write {out} ({exc.strerror})")
    flagged = sum(1 for r in table if r["T2_flag"] or r["SPE_flag"])
    if as_json:
        clean = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in table
        ]
        print(
            json.dumps(
                {"rows": clean, "flagged": flagged, "limits": document["limits"]}, allow_nan=False
            )
        )
        return
    console = Console()
    console.print(f"{len(table)} rows, {flagged} flagged (T² or SPE above its limit)")
    if out is not None:
        console.print(f"scores written to {out}")


def score_rows(
    model: PCAModel | PLSModel,
    document: dict[str, Any],
    x: FloatArray,
    labels: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One record per row: T², SPE, limits, flags, top variable (and PLS predictions)."""
    proj = model.project(x)
    t2, spe = proj.t2(), proj.spe()
    t2_lim, spe_lim = float(document["limits"]["t2"]), float(document["limits"]["spe"])
    ct2, cspe = proj.t2_contributions(), proj.spe_contributions()
    use_spe = np.nan_to_num(spe / spe_lim, nan=-1) >= np.nan_to_num(t2 / t2_lim, nan=-1)
    chosen = np.where(use_spe[:, None], cspe, np.abs(ct2))
    top = np.argmax(chosen, axis=1)
    names: list[str] = document["variables"]
    predictions = None
    if isinstance(model, PLSModel):
        predictions = model.y_scaler.inverse(proj.scores @ model.y_loadings.T)
    out = []
    for i in range(x.shape[0]):
        record: dict[str, Any] = {"row": i + 1}
        if labels is not None:
            record["id"] = labels[i]
        record.update(
            T2=float(t2[i]),
            T2_limit=t2_lim,
            T2_flag=bool(t2[i] > t2_lim),
            SPE=float(spe[i]),
            SPE_limit=spe_lim,
            SPE_flag=bool(spe[i] > spe_lim),
            top_variable=names[int(top[i])] if np.isfinite(t2[i]) else "",
            top_statistic=("SPE" if use_spe[i] else "T2") if np.isfinite(t2[i]) else "",
        )
        if predictions is not None:
            for j, name in enumerate(document["responses"]):
                record[f"predicted_{name}"] = float(predictions[i, j])
        out.append(record)
    return out
