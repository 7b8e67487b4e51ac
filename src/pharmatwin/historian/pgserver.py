"""A throwaway PostgreSQL server for tests and benchmarks.

``initdb`` into a new temporary folder, ``pg_ctl start`` listening on 127.0.0.1 on a free port
(Unix socket in the same folder), a database created, and ``pg_ctl stop -m immediate`` plus
removal of the folder at the end. Run as root, the server runs as the ``postgres`` system user
(PostgreSQL refuses to run as root) through ``runuser``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEBIAN_BINDIRS = "/usr/lib/postgresql"
"""Where Debian and Ubuntu install the server binaries, one folder per major version."""

FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
"""Settings for test servers whose data is thrown away (no durability needed)."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` (newest version), or None."""
    root = Path(DEBIAN_BINDIRS)
    candidates = sorted(
        (p / "bin" for p in root.glob("*") if (p / "bin" / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PgServer:
    """A running server: its folder, port, binaries and how to run them."""

    root: Path
    port: int
    bindir: Path
    prefix: list[str]
    database: str

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def log(self, lines: int = 20) -> str:
        """The last lines of the server's log."""
        path = self.root / "server.log"
        text = path.read_text(errors="replace") if path.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server at once (``pg_ctl stop -m immediate``) and remove its folder."""
        try:
            pg_ctl = [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data)]
            subprocess.run(
                [*pg_ctl, "stop", *_STOP_FLAGS],
                capture_output=True,
                timeout=60,
                check=False,
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


_STOP_FLAGS = ["-m", "immediate", "-w", "-t", "30"]
_INITDB_FLAGS = ["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]


def _run(cmd: list[str], what: str, timeout: float) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}")


def _prefix(root: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    shutil.chown(root, user="postgres", group="postgres")
    return ["runuser", "-u", "postgres", "--"]


def start_server(
    database: str = "pharmatwin",
    settings: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> PgServer:
    """Start a server on a free port and create ``database``; waits at most ``timeout_s``."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="pharmatwin-pg-"))
    prefix = _prefix(root)
    server = PgServer(root, free_port(), bindir, prefix, database)
    try:
        _run(
            [*prefix, str(bindir / "initdb"), "-D", str(server.data), *_INITDB_FLAGS],
            "initdb",
            timeout=120,
        )
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(server.port),
            "unix_socket_directories": str(root),
            **(settings or {}),
        }
        flags = " ".join(f"-c {key}={value}" for key, value in options.items())
        pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(server.data)]
        wait = ["-w", "-t", f"{timeout_s:.0f}"]
        _run(
            [*pg_ctl, "-l", str(root / "server.log"), "-o", flags, *wait, "start"],
            "pg_ctl start",
            timeout=timeout_s + 10,
        )
        _create_database(server, timeout_s)
    except BaseException as exc:
        log = server.log()
        server.stop()
        if isinstance(exc, Exception):
            raise RuntimeError(f"PostgreSQL did not start: {exc}\nserver log:\n{log}") from exc
        raise
    return server


def _create_database(server: PgServer, timeout_s: float) -> None:
    """Connect (retrying until ``timeout_s``) and create the database."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    admin = f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
    while True:
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
                connection.execute(f'CREATE DATABASE "{server.database}"')
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def running_server(
    database: str = "pharmatwin", settings: dict[str, str] | None = None
) -> Iterator[PgServer]:
    """A server for the duration of a ``with`` block; stopped even on failure."""
    server = start_server(database, settings)
    try:
        yield server
    finally:
        server.stop()
