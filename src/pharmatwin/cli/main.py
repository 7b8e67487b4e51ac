"""``pharmatwin`` command line: simulate equipment, list scenarios."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin import __version__
from pharmatwin.cli.audit import audit_app
from pharmatwin.cli.demo import demo
from pharmatwin.cli.ebr import ebr_app
from pharmatwin.cli.genealogy import genealogy_app
from pharmatwin.cli.historian import historian_app
from pharmatwin.cli.lyo import lyo_app
from pharmatwin.cli.lyo import simulate as simulate_lyophilizer
from pharmatwin.cli.lyo_optimize import optimize as lyo_optimize
from pharmatwin.cli.lyo_twin import validate_twin as lyo_validate_twin
from pharmatwin.cli.mspc import mspc_app
from pharmatwin.cli.mspc_batch import batch_study
from pharmatwin.cli.mspc_raman import raman_study
from pharmatwin.cli.plant import plant_app
from pharmatwin.cli.serve import serve
from pharmatwin.cli.simulate import simulate_app
from pharmatwin.cli.twin import twin_app
from pharmatwin.cli.user import user_app
from pharmatwin.cli.versions import versions_app
from pharmatwin.equipment.bioreactor.scenario import builtin_names, load_scenario

app = typer.Typer(
    name="pharmatwin",
    help="Digital twins for pharmaceutical manufacturing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
simulate_app.command("lyophilizer")(simulate_lyophilizer)  # = lyo simulate
app.add_typer(simulate_app, name="simulate")
app.add_typer(twin_app, name="twin")
app.add_typer(historian_app, name="historian")
app.add_typer(plant_app, name="plant")
app.add_typer(user_app, name="user")
lyo_app.command("optimize")(lyo_optimize)
lyo_app.command("validate-twin")(lyo_validate_twin)
app.add_typer(lyo_app, name="lyo")
mspc_app.command("batch-study")(batch_study)
mspc_app.command("raman-study")(raman_study)
app.add_typer(mspc_app, name="mspc")
app.add_typer(audit_app, name="audit")
app.add_typer(versions_app, name="versions")
app.add_typer(ebr_app, name="ebr")
app.add_typer(genealogy_app, name="genealogy")
app.command("serve")(serve)
app.command("demo")(demo)


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


@app.command()
def scenarios(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """List the built-in scenarios of the virtual bioreactor."""
    rows: list[dict[str, Any]] = []
    for name in builtin_names():
        scenario = load_scenario(name)
        rows.append(
            {
                "name": scenario.name,
                "faults": [f.kind for f in scenario.faults],
                "description": " ".join(scenario.description.split()),
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Built-in scenarios (bioreactor)")
    for column in ("name", "faults", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], ", ".join(row["faults"]) or "-", row["description"])
    Console().print(table)


if __name__ == "__main__":  # pragma: no cover
    app()
