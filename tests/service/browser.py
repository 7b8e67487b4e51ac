"""The demo served over HTTP on 127.0.0.1 and Debian's Chromium driven by Playwright.

The browser is the system's (``/usr/bin/chromium``, Debian package ``chromium``, installed by
``.ci/run``); the project never downloads one. Tests are skipped when it is absent. The launch
flags keep Chromium off the network (this machine has none but loopback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from pharmatwin.service.demo import Demo, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
"""Screenshots of the main pages, kept after the run (git-ignored)."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    return CHROMIUM


@contextmanager
def served_demo(db_url: str, speed: float, members: int) -> Iterator[tuple[Demo, str]]:
    """The demo behind uvicorn on a free loopback port; stopped at the end."""
    demo = Demo(db_url, speed=speed, members=members)
    app = demo.start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30.0
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the web service did not start within 30 s")
            time.sleep(0.05)
        yield demo, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        demo.stop()
