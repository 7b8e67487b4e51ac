"""The virtual plant server: the virtual bioreactor in accelerated time over OPC UA (and MQTT).

Batch time runs at ``speed`` times wall-clock time from the moment the server listens. Every
tick the readings that came due are written one after the other, each as an OPC UA DataValue
stamped with the plant's virtual clock (Part 4 §7.11: SourceTimestamp when the value was true,
ServerTimestamp when the server learned it): online readings carry their reading time as both,
laboratory results their sample time and their availability. Sensor, laboratory and setpoint
variables keep every value in an in-memory history (Part 11 HistoryRead raw). The history is
written directly, not through asyncua's ``historize_node_data_change``: that one samples the
variable through a subscription whose default trigger drops a value equal to the previous one.

A client writing a setpoint variable changes the process from the current batch time: the plant
re-runs in a worker thread; meanwhile readings keep coming up to the moment the change takes
effect (the next model coupling step), and resume past it once the new run is ready. A value out
of range is refused with ``BadOutOfRange`` and not applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AddressSpace, AttributeService
from asyncua.server.history import HistoryDict
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes

from pharmatwin.core.actions import Action
from pharmatwin.core.utc import parse_utc
from pharmatwin.equipment.bioreactor.live import (
    LivePlant,
    Reading,
    SetpointError,
    SetpointRangeError,
)
from pharmatwin.equipment.bioreactor.scenario import Scenario
from pharmatwin.runtime.plant_nodes import (
    NAMESPACE_URI,
    SETPOINT_TAGS,
    UNIT,
    PlantNodes,
    build_address_space,
    data_value,
    status,
)

if TYPE_CHECKING:
    from pharmatwin.connectors.mqtt_edge import SparkplugEdgeNode

DEFAULT_OPCUA_URL = "opc.tcp://127.0.0.1:4840/pharmatwin/"
GROUP_ID, EDGE_NODE_ID = "pharmatwin", "VirtualPlant"
YIELD_EVERY = 200
"""Writes between two yields to the event loop while catching up."""
MQTT_START_S = 10.0
_log = logging.getLogger(__name__)


class _Clock:
    """Batch hours elapsed at ``speed`` times wall-clock time since ``restart``."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._origin = time.monotonic()

    def restart(self) -> None:
        self._origin = time.monotonic()

    def now_h(self) -> float:
        return (time.monotonic() - self._origin) * self.speed / 3600.0


WriteGuard = Callable[[ua.WriteValue], Awaitable[ua.StatusCode | None]]
"""Answers a client's write of one node itself, or returns None to let it through."""


class _GuardedAttributeService(AttributeService):
    """The attribute service with a guard that may answer a write itself (Part 4 §5.10.4:
    one status per node written)."""

    def __init__(self, aspace: AddressSpace, guard: WriteGuard) -> None:
        super().__init__(aspace)
        self._guard = guard

    async def write(
        self, params: ua.WriteParameters, user: User | None = None
    ) -> list[ua.StatusCode]:
        who = user if user is not None else User(role=UserRole.Admin)
        results: list[ua.StatusCode] = []
        for item in params.NodesToWrite:
            verdict = await self._guard(item)
            if verdict is None:
                one = ua.WriteParameters(NodesToWrite=[item])
                verdict = (await super().write(one, who))[0]
            results.append(verdict)
        return results


class VirtualPlantServer:
    """The virtual bioreactor served over OPC UA (and optionally MQTT Sparkplug B).

    Use ``await run(stop)`` in an event loop, or ``start()`` / ``stop()`` to run it in a thread.
    """

    def __init__(
        self,
        scenario: Scenario,
        opcua_url: str | None = DEFAULT_OPCUA_URL,
        mqtt_url: str | None = None,
        *,
        speed: float = 60.0,
        start_utc: datetime | None = None,
        tick_s: float = 0.2,
        loop: bool = False,
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed: must be a number > 0, got {speed}")
        if not (math.isfinite(tick_s) and 0 < tick_s <= 60):
            raise ValueError(f"tick_s: must be in (0, 60] s, got {tick_s}")
        if opcua_url is not None and not opcua_url.startswith("opc.tcp://"):
            raise ValueError(f"opcua_url: must start with opc.tcp://, got {opcua_url!r}")
        if mqtt_url is not None:
            from pharmatwin.connectors.mqtt_base import parse_mqtt_url

            parse_mqtt_url(mqtt_url)  # a clear error now rather than in the server thread
        if start_utc is not None and start_utc.tzinfo is None:
            raise ValueError("start_utc: a timezone-aware UTC time is required")
        self.opcua_url, self.mqtt_url, self.speed, self.tick_s = opcua_url, mqtt_url, speed, tick_s
        self.loop = loop
        self._scenario = scenario
        self.plant = LivePlant(scenario)
        self._start = (start_utc or parse_utc(scenario.start_utc)).astimezone(UTC)
        self.nodes: PlantNodes | None = None
        self.batch_done = threading.Event()
        """Set when every reading of the batch has been published."""
        self._clock = _Clock(speed)
        self._cursor = -1.0  # everything up to here is published, batch h
        self._pending: list[tuple[Action, float, float]] = []  # action, at_h, effective_h
        self._worker: asyncio.Task[None] | None = None
        self._overridden: dict[str, float] = {}  # setpoint tag -> batch h its write takes effect
        self._shown: dict[str, float | str] = {}
        self._sp_nodes: dict[ua.NodeId, str] = {}
        self._server: Server | None = None
        self._history = HistoryDict()
        self._edge: SparkplugEdgeNode | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def batch_h(self) -> float:
        """Batch time up to which every reading has been published, h."""
        return max(self._cursor, 0.0)

    @property
    def start_utc(self) -> datetime:
        """Wall-clock time of batch time 0 on the plant's virtual clock (UTC)."""
        return self._start

    @property
    def batch_id(self) -> str:
        scenario = self.plant.scenario
        return f"{scenario.name}-{scenario.seed}"

    @property
    def namespace_uri(self) -> str:
        return NAMESPACE_URI

    def time_of(self, t_h: float) -> datetime:
        """UTC time of batch time ``t_h`` on the plant's virtual clock."""
        return self._start + timedelta(hours=t_h)

    # -- running in a thread -------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> None:
        """Run the server in a background thread; return once it listens."""
        if self._thread is not None:
            raise RuntimeError("the virtual plant server is already started")
        self._thread = threading.Thread(target=self._thread_main, name="virtual-plant", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"the virtual plant server did not start within {timeout_s:g} s")
        if self._error is not None:
            raise RuntimeError(f"the virtual plant server failed: {self._error}") from self._error

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the background server and wait for it to close."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(f"the virtual plant server did not stop within {timeout_s:g} s")

    def wait_until(self, batch_h: float, timeout_s: float) -> bool:
        """Wait until readings up to ``batch_h`` are published; False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.batch_h < batch_h:
            if self._error is not None:
                raise RuntimeError(f"the virtual plant server failed: {self._error}")
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _thread_main(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            await self.run(self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
            _log.exception("virtual plant server failed")
        finally:
            self._ready.set()

    # -- the server ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set: publish what comes due every ``tick_s``."""
        try:
            if self.opcua_url is not None:
                await self._start_opcua(self.opcua_url)
            if self.mqtt_url is not None:
                self._edge = await asyncio.to_thread(self._start_edge, self.mqtt_url)
            self._clock.restart()
            self._ready.set()
            while not stop.is_set():
                await self._tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.tick_s)
        finally:
            if self._worker is not None:
                await asyncio.wait([self._worker], timeout=60)
            if self._edge is not None:
                await asyncio.to_thread(self._edge.stop)
            if self._server is not None:
                await self._server.stop()

    async def _start_opcua(self, url: str) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(url)
        server.set_server_name("pharmatwin virtual plant")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        index = await server.register_namespace(NAMESPACE_URI)
        self.nodes = nodes = await build_address_space(server, index)
        server.iserver.history_manager.set_storage(self._history)
        for node_id in nodes.historized:
            await self._history.new_historized_node(node_id, None, 0)
        iserver = server.iserver
        iserver.attribute_service = _GuardedAttributeService(iserver.aspace, self._client_write)
        self._sp_nodes = {nodes.node_id(tag): tag for tag in SETPOINT_TAGS}
        await server.start()
        self._server = server

    def _start_edge(self, url: str) -> SparkplugEdgeNode:
        """Connect the Sparkplug B edge node; waits (bounded) for its birth certificates."""
        from pharmatwin.connectors.mqtt_edge import SparkplugEdgeNode  # only when asked for

        edge = SparkplugEdgeNode(url, GROUP_ID, EDGE_NODE_ID, {UNIT: self.plant.tags})
        edge.start(timeout=MQTT_START_S)
        return edge

    async def _tick(self) -> None:
        end = self.plant.end_h
        barrier = min((effective for _, _, effective in self._pending), default=math.inf)
        target = min(self._clock.now_h(), end, barrier)
        if target > self._cursor:
            await self._publish_until(target)
        if self._cursor >= end and not self._pending and not self.batch_done.is_set():
            _log.info("batch %s: every reading published (%g h)", self.batch_id, end)
            self.batch_done.set()
            if self.loop:
                await self._next_batch()

    async def _publish_until(self, t1_h: float) -> None:
        readings = self.plant.readings_between(self._cursor, t1_h)
        for k, reading in enumerate(readings, start=1):
            await self._write_reading(reading)
            if k % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a long catch-up must not starve the clients
        if self._edge is not None and readings:
            self._publish_mqtt(readings)
        self._cursor = t1_h
        await self._show_setpoints(t1_h)
        await self._show_status(t1_h)

    def _publish_mqtt(self, readings: list[Reading]) -> None:
        """One DDATA per moment the readings became known, stamped with that moment on the
        plant's clock (laboratory results: their availability, hours after the sample)."""
        assert self._edge is not None  # the caller checks
        for available_h, group in itertools.groupby(readings, key=lambda r: r.available_h):
            values = [(r.tag, self.time_of(r.time_h), r.value) for r in group]
            try:
                self._edge.publish(UNIT, values, sent_at=self.time_of(available_h))
            except Exception:
                _log.exception("MQTT publish of %d readings failed", len(values))

    async def _write_reading(self, reading: Reading) -> None:
        if self._server is None or self.nodes is None:
            return
        code = StatusCodes.Good if math.isfinite(reading.value) else StatusCodes.BadNoData
        value = data_value(
            reading.value, self.time_of(reading.time_h), self.time_of(reading.available_h), code
        )
        await self._write(self.nodes.node_id(reading.tag), value, historized=True)

    async def _write(self, node_id: ua.NodeId, value: ua.DataValue, historized: bool) -> None:
        assert self._server is not None  # callers check
        await self._server.write_attribute_value(node_id, value)
        if historized:
            await self._history.save_node_value(node_id, value)

    async def _show_setpoints(self, t_h: float) -> None:
        for tag, name in SETPOINT_TAGS.items():
            if tag in self._overridden:
                if self._pending or t_h < self._overridden[tag]:
                    continue  # a client's change not yet carried out: keep showing it
                del self._overridden[tag]
            await self._show(tag, self.plant.setpoint(name, t_h), t_h, historized=True)

    async def _show_status(self, t_h: float) -> None:
        await self._show("BR01.BatchTime_h", t_h, t_h, always=True)
        await self._show("BR01.Phase", self.plant.phase_at(t_h), t_h)
        await self._show("BR01.BatchID", self.batch_id, t_h)
        await self._show("BR01.Speed", float(self.speed), t_h)

    async def _show(
        self,
        tag: str,
        value: float | str,
        t_h: float,
        historized: bool = False,
        always: bool = False,
    ) -> None:
        """Write ``tag`` stamped at ``t_h`` when its value changed (or ``always``)."""
        unchanged = self._shown.get(tag) == value
        if self._server is None or self.nodes is None or (unchanged and not always):
            return
        self._shown[tag] = value
        when = self.time_of(t_h)
        await self._write(self.nodes.node_id(tag), data_value(value, when, when), historized)

    async def _client_write(self, item: ua.WriteValue) -> ua.StatusCode | None:
        """A client's write of a setpoint variable: check, answer, and carry it out."""
        tag = self._sp_nodes.get(item.NodeId)
        if tag is None or item.AttributeId != AttributeIds.Value:
            return None
        variant = item.Value.Value if item.Value is not None else None
        value = variant.Value if variant is not None else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return status(StatusCodes.BadTypeMismatch)
        at_h = max(self._cursor, min(self._clock.now_h(), self.plant.end_h))
        try:
            action = self.plant.check_setpoint(SETPOINT_TAGS[tag], float(value), at_h)
        except SetpointRangeError as exc:
            _log.warning("write %s refused: %s", tag, exc)
            return status(StatusCodes.BadOutOfRange)
        except SetpointError as exc:
            _log.warning("write %s refused: %s", tag, exc)
            return status(StatusCodes.BadInvalidState)
        effective = self.plant.effective_h(at_h)
        self._pending.append((action, at_h, effective))
        self._overridden[tag] = effective
        await self._show(tag, float(value), effective, historized=True)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._carry_out())
        _log.info("%s set to %g from %g h (asked at %g h)", tag, value, effective, at_h)
        return status(StatusCodes.Good)

    def carry_out(self, action: Action, timeout_s: float = 30.0) -> float:
        """Carry out ``action`` on the virtual plant from now (thread-safe, for an in-process
        operator such as the demo's web service); returns the batch hour it takes effect.
        A setpoint out of range raises ``SetpointRangeError``."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the virtual plant is not running")
        future = asyncio.run_coroutine_threadsafe(self._queue(action), loop)
        return future.result(timeout_s)

    async def _queue(self, action: Action) -> float:
        at_h = max(self._cursor, min(self._clock.now_h(), self.plant.end_h))
        if action.kind == "setpoint" and action.input is not None and action.value is not None:
            self.plant.check_setpoint(action.input, action.value, at_h)
        effective = self.plant.effective_h(at_h)
        self._pending.append((action, at_h, effective))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._carry_out())
        _log.info("%s carried out from %g h (asked at %g h)", action.name, effective, at_h)
        return effective

    async def _carry_out(self) -> None:
        """Re-run the plant for each pending action, in order (a few seconds each)."""
        while self._pending:
            action, at_h, _ = self._pending[0]
            try:
                await asyncio.to_thread(self.plant.apply, action, at_h)
            except Exception:
                _log.exception("could not carry out %s at %g h", action.name, at_h)
            self._pending.pop(0)

    async def _next_batch(self) -> None:
        """Start the next batch: the scenario with the next seed, from the hour this one ended."""
        ended_h = math.ceil(self.plant.end_h)
        seed = self.plant.scenario.seed + 1
        following = self._scenario.model_copy(update={"seed": seed})
        self.plant = await asyncio.to_thread(LivePlant, following)
        self._start += timedelta(hours=ended_h)
        self._cursor = -1.0
        self._shown.clear()
        self._overridden.clear()
        self._clock.restart()
        self.batch_done.clear()
