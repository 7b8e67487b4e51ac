"""``pharmatwin ebr BATCH --out FILE.html|FILE.pdf``: the electronic batch record of a batch.

Reads the batch, its samples, events and twin outputs from the historian, and the audit trail,
signatures and versions from the same database (``--db URL``; default ``PHARMATWIN_DB``, else
the historian's default), and writes an HTML page or a PDF (see ``pharmatwin.gmp.batch_record``).
``--asset`` names the asset definition (built-in name or YAML file) that says which model
output reads which tag; by default the built-in asset named like the batch's asset, if any.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

import typer

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.cli.versions import DB, gmp_stores
from pharmatwin.historian.errors import HistorianError
from pharmatwin.historian.urls import open_historian, resolve_db_url
from pharmatwin.runtime.asset import Asset, load_asset

STORAGE_EXIT = 1

ebr_app = typer.Typer(
    help="Electronic batch record of one batch, as HTML or PDF.",
    context_settings={"allow_interspersed_args": True},
)


def _asset(name: str | None, batch_asset: str) -> Asset | None:
    if name is not None:
        return load_asset(name)
    try:
        return load_asset(batch_asset.lower())
    except ValueError:
        return None


@ebr_app.callback(invoke_without_command=True)
def ebr(
    batch: str = typer.Argument(..., help="The batch id."),
    out: Path = typer.Option(..., "--out", help="The file to write: .html or .pdf."),
    asset: str | None = typer.Option(
        None, "--asset", help="Asset definition: a built-in name or a YAML file."
    ),
    db: str | None = DB,
) -> None:
    """Write the electronic batch record of BATCH."""
    from pharmatwin.gmp.batch_record import build_batch_record, write_batch_record

    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        fail(f"out: {out.name!r} must end in .html or .pdf")
    if out.suffix.lower() == ".pdf" and find_spec("reportlab") is None:
        fail("out: a PDF needs reportlab; install the 'gmp' extra (pip install pharmatwin[gmp])")
    url = resolve_db_url(db)
    try:
        with bad_input(), open_historian(url) as historian:
            stored = historian.batch(batch)
            if stored is None:
                fail(f"batch: no batch {batch!r} in {historian.label}")
            definition = _asset(asset, stored.asset)
            with gmp_stores(url) as stores:
                record = build_batch_record(
                    historian,
                    batch,
                    audit=stores.audit,
                    signatures=stores.signatures,
                    versions=stores.versions,
                    asset=definition,
                )
        out.parent.mkdir(parents=True, exist_ok=True)
        write_batch_record(record, out)
    except HistorianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(STORAGE_EXIT) from None
    print(f"batch record of {batch} written to {out} (content sha256 {record.content_hash})")
