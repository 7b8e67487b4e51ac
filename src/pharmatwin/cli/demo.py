"""``pharmatwin demo``: the virtual plant, its live twin and the dashboard, in one command."""

from __future__ import annotations

import typer
from rich.console import Console

from pharmatwin.cli.errors import bad_input
from pharmatwin.cli.twin_run import DB_HELP


def demo(
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port of the web service."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    speed: float = typer.Option(2880.0, "--speed", min=1.0, help="Batch time per wall time."),
    scenario: str = typer.Option("aeration-failure", help="The virtual plant's scenario."),
) -> None:
    """Start the virtual plant, the runtime and the service on http://127.0.0.1:PORT."""
    import uvicorn

    from pharmatwin.historian.urls import resolve_db_url
    from pharmatwin.service.demo import Demo

    console = Console()
    with bad_input():
        url = resolve_db_url(db)
        demo_run = Demo(url, scenario=scenario, speed=speed)
    console.print(f"starting the virtual plant ({scenario}, {speed:g} x real time) ...")
    app = demo_run.start()
    try:
        console.print(f"historian: {url}")
        console.print(
            f"dashboard and API: [bold]http://127.0.0.1:{port}/[/bold] (API docs /api/docs)"
        )
        console.print("demo logins (user / password):")
        for role, password in demo_run.logins.items():
            console.print(f"  {role:9s} {password}")
        console.print("Ctrl-C stops everything.")
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        demo_run.stop()
        console.print("stopped")
