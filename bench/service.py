"""Latency of the web service's API under concurrent clients and time to an interactive page.

    .venv/bin/python -m bench.service [--clients 50] [--requests 20] [--quick]

Setup (temporary folder): a SQLite historian holding the virtual plant's full 14-day
``aeration-failure`` batch (one-minute readings and at-line results), a 30-member ``LiveTwin``
stepped over all of it (beliefs, forecasts, alarms stored; the batch ended so every hour is
ready), one user per role, and the app (``ServiceContext(db_url, runtime=None)``) served by
uvicorn on 127.0.0.1 on a free port in a thread.

1. API: N clients (threads, ``httpx.Client``, each logged in with its own Bearer token) make R
   requests each, cycling over the asset, forecast, alarm, tag-history and signal endpoints.
   Baseline in the same run: the same clients making R ``GET /api/auth/me`` each. Latency in
   ms, p50/p99 per endpoint and overall; errors must be 0; each phase aborts after 120 s.
2. Browser: Debian's Chromium (Playwright, headless), logged in; time from ``page.goto`` of
   ``/assets/BR01`` until every measured and estimated chart holds Plotly data and the what-if
   button is enabled. Baseline: ``/batches`` until its batch rows are shown.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from pharmatwin.core.utc import parse_utc
from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.gmp.permissions import ROLES
from pharmatwin.gmp.users import UserStore
from pharmatwin.historian.records import Batch, to_us
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.asset import Asset, load_asset
from pharmatwin.runtime.live_twin import LiveTwin
from pharmatwin.runtime.plant_export import sensor_table
from pharmatwin.service.app import create_app
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.demo import free_port
from pharmatwin.service.settings import ServiceSettings

SCENARIO = "aeration-failure"
START = "2026-01-05T06:00:00Z"
BATCH = "B1"
ASSET = "BR01"
PASSWORD = "Correct-Horse-42"
MEMBERS = 30
PHASE_LIMIT_S = 120.0
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 60_000
ENDPOINTS = (
    ("assets", "/api/assets"),
    ("asset", f"/api/assets/{ASSET}"),
    ("forecast", f"/api/assets/{ASSET}/forecast"),
    ("alarms", "/api/alarms"),
    ("tag history", f"/api/tags/{ASSET}.TT101.PV/history?start={START}&every=600"),
    ("signals", f"/api/assets/{ASSET}/signals?start={START}&every=600"),
)
ASSET_READY = """() => {
  const sel = (s) => Array.from(document.querySelectorAll(s));
  const measured = sel('[data-testid=chart-measured]');
  const estimated = sel('[data-testid=chart-estimated]');
  const drawn = (c) => Array.isArray(c.data) && c.data.length > 0;
  const button = document.querySelector('[data-testid=whatif-evaluate]');
  const options = document.querySelectorAll('[data-testid=whatif-action] option').length;
  return measured.length > 0 && estimated.length > 0 && measured.every(drawn)
    && estimated.every(drawn) && button !== null && !button.disabled && !button.hidden
    && options > 0;
}"""
BATCHES_READY = "() => document.querySelectorAll('[data-testid=batch-row]').length > 0"


def _asset() -> Asset:
    asset = load_asset("br01")
    return asset.model_copy(update={"twin": asset.twin.model_copy(update={"members": MEMBERS})})


def prepare(folder: Path) -> tuple[str, Asset, int]:
    """Store the full batch, step the twin over it, add users; returns (URL, asset, rows)."""
    url = f"sqlite:///{folder / 'historian.db'}"
    asset = _asset()
    t0 = time.perf_counter()
    table = sensor_table(run_plant(load_scenario(SCENARIO)), START, BATCH)
    start = parse_utc(START)
    start_us = to_us(start)
    batch = Batch(BATCH, asset.name, asset.recipe.name, start)
    with open_historian(url) as historian:
        historian.start_batch(batch)
        historian.write_columns(
            table.tag.astype(str),
            start_us + np.round(table.time_h * 3.6e9).astype(np.int64),
            table.value,
            available_us=start_us + np.round(table.available_h * 3.6e9).astype(np.int64),
        )
        end = start + timedelta(hours=float(table.time_h.max()))
        historian.end_batch(BATCH, end, "complete")
        t1 = time.perf_counter()
        twin = LiveTwin(asset, historian.batch(BATCH) or batch, historian)
        twin.poll()
        if not twin.session.finished:
            raise RuntimeError(f"twin: stopped at hour {twin.session.hour}, batch not finished")
        t2 = time.perf_counter()
        stored = {
            kind: len(historian.outputs(twin.name, BATCH, kind)) for kind in ("belief", "forecast")
        }
        alarms = [e for e in historian.events(batch_id=BATCH) if e.kind == "alarm"]
    if not alarms or not stored["forecast"]:
        raise RuntimeError(f"twin: stored {stored} and {len(alarms)} alarms; expected some")
    with UserStore(url) as users:
        for role in ROLES:
            users.add(role, role, PASSWORD)
    print(
        f"setup: {len(table.tag)} samples stored in {t1 - t0:.1f} s, "
        f"twin stepped {twin.session.hour:g} h in {t2 - t1:.1f} s "
        f"({stored['belief']} beliefs, {stored['forecast']} forecasts, {len(alarms)} alarms)"
    )
    return url, asset, len(table.tag)


@contextmanager
def served(url: str, asset: Asset) -> Iterator[str]:
    """The app behind uvicorn on a free loopback port in a thread; stopped at the end."""
    context = ServiceContext(db_url=url, runtime=None, assets={asset.name: asset})
    app = create_app(ServiceSettings(db=url), context)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30.0
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the web service did not start within 30 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class Phase:
    """Latencies (ms) by endpoint name, errors, wall time (s)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    aborted: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def all(self) -> list[float]:
        return [x for xs in self.latencies.values() for x in xs]


def _login(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60.0)
    response = client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
    if response.status_code != 200:
        raise RuntimeError(f"login {name}: HTTP {response.status_code} {response.text}")
    client.cookies.clear()
    client.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return client


def run_phase(clients: list[httpx.Client], plan: tuple[tuple[str, str], ...], r: int) -> Phase:
    """Every client makes ``r`` requests cycling over ``plan``, all at once."""
    phase = Phase()
    deadline = time.monotonic() + PHASE_LIMIT_S
    barrier = threading.Barrier(len(clients) + 1)

    def work(i: int, client: httpx.Client) -> None:
        barrier.wait()
        for k in range(r):
            if time.monotonic() > deadline:
                phase.aborted = True
                return
            name, path = plan[(i + k) % len(plan)]
            t0 = time.perf_counter()
            try:
                response = client.get(path)
                ok, why = response.status_code == 200, f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                ok, why = False, repr(error)
            ms = (time.perf_counter() - t0) * 1e3
            with phase.lock:
                phase.latencies.setdefault(name, []).append(ms)
                if not ok:
                    phase.errors.append(f"{name}: {why}")

    threads = [
        threading.Thread(target=work, args=(i, c), daemon=True) for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(timeout=PHASE_LIMIT_S + 70.0)
    phase.wall_s = time.perf_counter() - t0
    return phase


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def api_bench(base: str, n: int, r: int) -> tuple[float, float]:
    """Print the API figures; returns overall (p50, p99) in ms."""
    t0 = time.perf_counter()
    clients = [_login(base, ROLES[i % len(ROLES)]) for i in range(n)]
    print(f"\n== API: {n} clients x {r} requests (logins took {time.perf_counter() - t0:.1f} s)")
    try:
        base_phase = run_phase(clients, (("auth/me", "/api/auth/me"),), r)
        load = run_phase(clients, ENDPOINTS, r)
    finally:
        for c in clients:
            c.close()
    me = base_phase.all()
    me50, me99 = _pct(me, 50), _pct(me, 99)
    print(f"{'endpoint':<14}{'count':>7}{'p50 ms':>10}{'p99 ms':>10}{'p50/me':>9}{'p99/me':>9}")
    print(f"{'auth/me':<14}{len(me):>7}{me50:>10.1f}{me99:>10.1f}{1.0:>9.1f}{1.0:>9.1f}")
    for name, _ in ENDPOINTS:
        xs = load.latencies.get(name, [])
        p50, p99 = _pct(xs, 50), _pct(xs, 99)
        print(f"{name:<14}{len(xs):>7}{p50:>10.1f}{p99:>10.1f}{p50 / me50:>9.1f}{p99 / me99:>9.1f}")
    xs = load.all()
    p50, p99 = _pct(xs, 50), _pct(xs, 99)
    print(
        f"{'overall':<14}{len(xs):>7}{p50:>10.1f}{p99:>10.1f}{p50 / me50:>9.1f}{p99 / me99:>9.1f}"
    )
    for label, ph in (("auth/me", base_phase), ("endpoints", load)):
        count = len(ph.all())
        print(
            f"{label}: {count} requests in {ph.wall_s:.2f} s = {count / ph.wall_s:.1f} req/s, "
            f"errors {len(ph.errors)}{' (ABORTED at 120 s)' if ph.aborted else ''}"
        )
        for e in sorted(set(ph.errors))[:5]:
            print(f"  error: {e}")
    return p50, p99


def page_bench(base: str, loads: int) -> float | None:
    """Print time-to-interactive of the asset page and /batches; returns the asset median."""
    if not CHROMIUM.exists():
        print(f"\n== browser: skipped, {CHROMIUM} is missing (Debian package chromium)")
        return None
    from playwright.sync_api import sync_playwright

    print(f"\n== browser: time until interactive, {loads} load(s) each")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(f"{base}/login")
            page.fill("#login-name", "operator")
            page.fill("#login-password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_selector("[data-testid=asset-card]")
            medians: dict[str, float] = {}
            for label, path, ready in (
                ("asset page (14-day batch)", f"/assets/{ASSET}", ASSET_READY),
                ("batches page (baseline)", "/batches", BATCHES_READY),
            ):
                times = []
                for _ in range(loads):
                    page.goto("about:blank")
                    t0 = time.perf_counter()
                    page.goto(f"{base}{path}")
                    page.wait_for_function(ready, polling=10)
                    times.append((time.perf_counter() - t0) * 1e3)
                medians[label] = statistics.median(times)
                shown = ", ".join(f"{t:.0f}" for t in times)
                print(f"{label}: {shown} ms; median {medians[label]:.0f} ms")
            asset_ms, batches_ms = medians.values()
            print(f"ratio asset/batches: {asset_ms / batches_ms:.1f}")
            return asset_ms
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="10 clients x 5 requests, 1 load")
    args = parser.parse_args()
    n, r, loads = (10, 5, 1) if args.quick else (args.clients, args.requests, 3)
    if n < 1 or r < 1:
        raise SystemExit("--clients and --requests: must be at least 1")
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="bench-service-"))
    try:
        url, asset, _ = prepare(folder)
        with served(url, asset) as base:
            p50, p99 = api_bench(base, n, r)
            page_ms = page_bench(base, loads)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("\n== summary")
    print(f"API p50/p99 under {n} clients: {p50:.1f} / {p99:.1f} ms")
    if page_ms is None:
        print("asset page interactive (14-day batch): skipped (no chromium)")
    else:
        print(f"asset page interactive (14-day batch): {page_ms:.0f} ms (median of {loads})")
    print(f"total wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
