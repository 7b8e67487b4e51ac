"""``pharmatwin plant serve``: run the virtual bioreactor and serve it over OPC UA (and MQTT)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
from enum import StrEnum
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from pharmatwin.cli.errors import bad_input, fail
from pharmatwin.equipment.bioreactor.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from pharmatwin.runtime.plant_server import VirtualPlantServer

DEFAULT_OPCUA = "opc.tcp://127.0.0.1:4840/pharmatwin/"

plant_app = typer.Typer(help="Run the virtual plant.", no_args_is_help=True)


class AfterHarvest(StrEnum):
    """What the server does once every reading of the batch is published."""

    exit = "exit"
    stay = "stay"
    loop = "loop"


@plant_app.callback()
def _plant() -> None:
    """Run the virtual plant: a simulated bioreactor served like a real one."""


@plant_app.command("serve")
def serve(
    opcua: str = typer.Option(DEFAULT_OPCUA, "--opcua", help="OPC UA endpoint to listen on."),
    mqtt: str | None = typer.Option(
        None, "--mqtt", help="Also publish Sparkplug B to this MQTT broker URL."
    ),
    speed: float = typer.Option(60.0, help="Batch time per wall-clock time (60: 1 h a minute)."),
    scenario: str = typer.Option(
        "nominal", help="Built-in scenario (`pharmatwin scenarios`) or a YAML file."
    ),
    seed: int | None = typer.Option(None, help="Override the scenario's random seed."),
    after_harvest: AfterHarvest = typer.Option(
        AfterHarvest.exit, help="At the end of the batch: exit, stay up, or start the next batch."
    ),
) -> None:
    """Serve the virtual bioreactor in accelerated time until Ctrl-C or harvest."""
    if not (math.isfinite(speed) and speed > 0):
        fail(f"--speed: must be a number > 0, got {speed:g}")
    if not opcua.startswith("opc.tcp://"):
        fail(f"--opcua: must be an opc.tcp:// URL, got {opcua!r}")
    with bad_input():
        chosen = load_scenario(scenario)
        if seed is not None:
            if seed < 0:
                raise ValueError(f"--seed: must be >= 0, got {seed}")
            chosen = chosen.model_copy(update={"seed": seed})
    from pharmatwin.runtime.plant_server import VirtualPlantServer

    console = Console()
    console.print(f"preparing batch {chosen.name}-{chosen.seed} ...")
    with bad_input("scenario"):
        server = VirtualPlantServer(
            chosen, opcua, mqtt, speed=speed, loop=after_harvest is AfterHarvest.loop
        )
    _describe(console, server, chosen)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pharmatwin").setLevel(logging.INFO)
    logging.getLogger("asyncua").setLevel(logging.ERROR)  # its notes on unused security
    try:
        asyncio.run(_serve(server, exit_at_harvest=after_harvest is AfterHarvest.exit))
    except OSError as exc:
        fail(f"--opcua: cannot listen on {opcua}: {exc}")
    console.print(f"stopped at batch time {server.batch_h:.2f} h")


async def _serve(server: VirtualPlantServer, exit_at_harvest: bool) -> None:
    """Run until Ctrl-C / SIGTERM, or the end of the batch when ``exit_at_harvest``."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(server.run(stop))
    while not task.done():
        if exit_at_harvest and server.batch_done.is_set():
            stop.set()
        await asyncio.wait([task], timeout=0.5)
    task.result()


def _describe(console: Console, server: VirtualPlantServer, scenario: Scenario) -> None:
    from pharmatwin.runtime.plant_nodes import AREA, FOLDERS, SITE, UNIT, plant_tags

    faults = ", ".join(f.kind for f in scenario.faults) or "none"
    console.print(
        f"[bold]virtual plant[/] {server.batch_id}: faults {faults}, speed x{server.speed:g}, "
        f"batch start {server.start_utc.isoformat()}, harvest at {server.plant.harvest_h:g} h"
    )
    if server.opcua_url is not None:
        console.print(f"OPC UA  {server.opcua_url}")
        console.print(f"  namespace {server.namespace_uri} (address tags as nsu=<uri>;s=<tag>)")
        console.print(f"  Objects/{SITE}/{AREA}/{UNIT}/{{{', '.join(FOLDERS)}}}")
    if server.mqtt_url is not None:
        console.print(f"MQTT    {server.mqtt_url} (Sparkplug B: pharmatwin/VirtualPlant/{UNIT})")
    table = Table(title=f"{UNIT} tags")
    for column in ("tag", "unit", "folder", "description"):
        table.add_column(column)
    for tag in plant_tags():
        table.add_row(tag.tag, tag.unit or "-", tag.folder, tag.description.split(";")[0])
    console.print(table)
