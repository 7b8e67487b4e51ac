"""A small OPC UA test server: asyncua on 127.0.0.1, Double variables, optional history.

It runs in its own thread with its own event loop, so tests (and the connector under test,
which has its own thread too) stay synchronous. Values are written with explicit Source and
Server timestamps, as the virtual plant does: its clock, not this machine's.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.history import HistoryDict
from asyncua.server.server import Server
from asyncua.ua.status_codes import StatusCodes

NAMESPACE = "urn:pharmatwin:test-plant"
CALL_TIMEOUT_S = 60.0
"""Bound on one call into the server thread, s (generous: the machine may be loaded)."""

T = TypeVar("T")

logging.getLogger("asyncua").setLevel(logging.CRITICAL)  # chatty on every disconnection


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Written:
    """One value the server published."""

    name: str
    value: float
    source: datetime
    server: datetime
    status: str = "Good"


class TestPlantServer:
    """An asyncua server with ``names`` as Double variables ``ns=<idx>;s=<name>``.

    ``history=True`` historizes every variable in memory (asyncua HistoryDict): the history
    survives ``disconnect_clients`` / ``accept_clients`` but not ``stop`` / ``start``.
    """

    __test__ = False

    def __init__(self, port: int, names: list[str], start: datetime, history: bool = False) -> None:
        self.port = port
        self.initial_time = start
        self.url = f"opc.tcp://127.0.0.1:{port}"
        self.names = names
        self.history = history
        self._storage = HistoryDict()
        self.written: list[Written] = []
        self.index = 0
        self._server: Server | None = None
        self._nodes: dict[str, Node] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    def node_id(self, name: str) -> str:
        return f"ns={self.index};s={name}"

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, initial_time: datetime | None = None) -> None:
        """Start (or start again, on the same port) with every variable at -1.0.

        The initial value has ``initial_time`` (default: the constructor's ``start``) as source
        and server timestamp, so nothing the server publishes carries this machine's clock.
        """
        self._call(self._start(initial_time or self.initial_time))

    async def _start(self, initial_time: datetime) -> None:
        server = Server()
        await server.init()
        server.disable_clock()  # the plant's clock is in the values; stop() is quicker without
        server.set_endpoint(self.url)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        self.index = await server.register_namespace(NAMESPACE)
        plant = await server.nodes.objects.add_folder(
            ua.NodeId(ua.String("Plant"), ua.Int16(self.index)), f"{self.index}:Plant"
        )
        if self.history:
            self._storage = HistoryDict()  # in memory: a restarted server has lost it
            server.iserver.history_manager.set_storage(self._storage)
        for name in self.names:
            node_id = ua.NodeId(ua.String(name), ua.Int16(self.index))
            self._nodes[name] = node = await plant.add_variable(
                node_id, f"{self.index}:{name}", 0.0, ua.VariantType.Double
            )
            if self.history:
                await self._historize(node)
            initial = Written(name, -1.0, initial_time, initial_time)
            await self._write(server, initial)
            self.written.append(initial)
        await server.start()
        self._server = server

    def stop(self) -> None:
        """Stop the whole server (address space and in-memory history are gone)."""
        if self._server is not None:
            self._call(self._server.stop())
            self._server = None

    def disconnect_clients(self) -> None:
        """Close the listening socket and every client connection; the server keeps running."""
        assert self._server is not None and self._server.bserver is not None
        self._call(self._server.bserver.stop())

    def accept_clients(self) -> None:
        """Listen again on the same port."""
        assert self._server is not None and self._server.bserver is not None
        self._call(self._server.bserver.start())

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._call(self._cancel_tasks())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CALL_TIMEOUT_S)
            self._loop.close()

    async def _cancel_tasks(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- values -------------------------------------------------------------------------------

    def write(
        self,
        name: str,
        value: float,
        source: datetime,
        server: datetime | None = None,
        status: str = "Good",
    ) -> Written:
        """Publish one value with its source and server timestamps (server defaults to source)."""
        record = Written(name, value, source, server or source, status)
        assert self._server is not None
        self._call(self._write(self._server, record))
        self.written.append(record)
        return record

    async def _write(self, server: Server, record: Written) -> None:
        code = ua.StatusCode(getattr(StatusCodes, record.status))
        datavalue = ua.DataValue(
            ua.Variant(record.value, ua.VariantType.Double),
            StatusCode=code,
            SourceTimestamp=cast(ua.DateTime, record.source),
            ServerTimestamp=cast(ua.DateTime, record.server),
        )
        node_id = self._nodes[record.name].nodeid
        await server.write_attribute_value(node_id, datavalue)
        if self.history:
            await self._storage.save_node_value(node_id, datavalue)

    async def _historize(self, node: Node) -> None:
        """Keep every written value: asyncua's own historizing records through an internal
        subscription that can merge two writes close together, so values are saved directly."""
        await self._storage.new_historized_node(node.nodeid, None, 0)
        access = ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.HistoryRead.mask
        for attribute in (ua.AttributeIds.AccessLevel, ua.AttributeIds.UserAccessLevel):
            await node.write_attribute(
                attribute, ua.DataValue(ua.Variant(access, ua.VariantType.Byte))
            )
        await node.write_attribute(
            ua.AttributeIds.Historizing, ua.DataValue(ua.Variant(True, ua.VariantType.Boolean))
        )


@contextmanager
def running_server(
    names: list[str], start: datetime, history: bool = False, port: int | None = None
) -> Iterator[TestPlantServer]:
    """A started server, closed afterwards even when the test fails."""
    server = TestPlantServer(port or free_port(), names, start, history)
    try:
        server.start()
        yield server
    finally:
        server.close()
