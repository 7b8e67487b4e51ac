"""``pharmatwin serve``: the web API over a historian (uvicorn).

Registered by ``pharmatwin.cli.main`` as ``app.command("serve")(serve)``.
"""

from __future__ import annotations

import typer

from pharmatwin.cli.historian import DB_HELP


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Serve the REST API and live stream (docs at http://HOST:PORT/api/docs)."""
    import uvicorn

    from pharmatwin.service.app import create_app
    from pharmatwin.service.context import ServiceContext
    from pharmatwin.service.settings import ServiceSettings

    settings = (
        ServiceSettings(host=host, port=port)
        if db is None
        else ServiceSettings(host=host, port=port, db=db)
    )
    app = create_app(settings, ServiceContext(db_url=settings.db))
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
