"""The virtual plant server as a plain OPC UA client meets it: hierarchy, units, live values on
the plant's clock, history, and setpoint writes that change the process."""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaStatusCodeError
from typer.testing import CliRunner

from pharmatwin.cli.plant import plant_app
from pharmatwin.connectors.mqtt_base import new_client, parse_mqtt_url
from pharmatwin.connectors.sparkplug_proto import Payload, decode_payload
from pharmatwin.equipment.bioreactor.live import LivePlant, Reading
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.equipment.bioreactor.sensors import AT_LINE, ONLINE
from pharmatwin.runtime.plant_nodes import NAMESPACE_URI, unit_id
from pharmatwin.runtime.plant_server import VirtualPlantServer
from tests.services.mosquitto import Mosquitto, mosquitto

__all__ = ["mosquitto"]

SPEED = 18_000.0  # 5 batch hours per second: the batch would end after about 70 s
TIMEOUT_S = 4.0  # one client request
WAIT_S = 60.0  # the longest any wait for the plant may take on a loaded machine

for _name in ("asyncua",):
    logging.getLogger(_name).setLevel(logging.ERROR)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def reference() -> LivePlant:
    """The same batch run directly, to compare what the server publishes with."""
    return LivePlant(load_scenario("nominal"))


@pytest.fixture(scope="module")
def served(reference: LivePlant) -> Iterator[VirtualPlantServer]:
    """The server, started once the reference exists (its clock runs from the start)."""
    url = f"opc.tcp://127.0.0.1:{_free_port()}/pharmatwin/"
    server = VirtualPlantServer(load_scenario("nominal"), url, speed=SPEED, tick_s=0.05)
    try:
        server.start(timeout_s=WAIT_S)
        yield server
    finally:
        server.stop()


def _hours(server: VirtualPlantServer, when: datetime) -> float:
    return (when - server.start_utc) / timedelta(hours=1)


async def _node(client: Client, tag: str) -> Node:
    index = await client.get_namespace_index(NAMESPACE_URI)
    return client.get_node(f"ns={index};s={tag}")


async def _wait(server: VirtualPlantServer, batch_h: float) -> None:
    deadline = time.monotonic() + WAIT_S
    while server.batch_h < batch_h:
        assert time.monotonic() < deadline, f"plant stuck at {server.batch_h:.2f} h"
        await asyncio.sleep(0.05)


def _run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout=2 * WAIT_S))


def _url(server: VirtualPlantServer) -> str:
    assert server.opcua_url is not None
    return server.opcua_url


def _value(data: ua.DataValue) -> Any:
    assert data.Value is not None
    return data.Value.Value


def _source(data: ua.DataValue) -> datetime:
    assert data.SourceTimestamp is not None
    return data.SourceTimestamp


def _received(data: ua.DataValue) -> datetime:
    assert data.ServerTimestamp is not None
    return data.ServerTimestamp


async def _names(folder: Node) -> list[str]:
    return [str((await child.read_browse_name()).Name) for child in await folder.get_children()]


async def _property(node: Node, name: str) -> Any:
    return await (await node.get_child(f"0:{name}")).read_value()


async def _access(node: Node) -> int:
    return int(_value(await node.read_attribute(AttributeIds.AccessLevel)))


def test_address_space_is_an_isa95_hierarchy_with_units(served: VirtualPlantServer) -> None:
    async def check() -> None:
        async with Client(_url(served), timeout=TIMEOUT_S) as client:
            index = await client.get_namespace_index(NAMESPACE_URI)
            unit = await client.nodes.objects.get_child(
                [f"{index}:VirtualPlant", f"{index}:Upstream", f"{index}:BR01"]
            )
            assert await _names(unit) == ["Sensors", "LabResults", "Setpoints", "Status"]
            sensors, labs, setpoints, status = await unit.get_children()
            assert await _names(sensors) == [s.tag for s in ONLINE]
            assert await _names(labs) == [a.tag for a in AT_LINE]
            assert await _names(setpoints) == ["BR01.TIC101.SP", "BR01.AIC201.SP", "BR01.AIC301.SP"]
            assert "BR01.BatchTime_h" in await _names(status)

            temperature = await _node(client, "BR01.TT101.PV")
            assert temperature.nodeid == ua.NodeId(ua.String("BR01.TT101.PV"), ua.Int16(index))
            assert "temperature" in str((await temperature.read_display_name()).Text)
            assert "culture temperature" in str((await temperature.read_description()).Text)
            assert await temperature.read_data_type_as_variant_type() == ua.VariantType.Double
            eu = await _property(temperature, "EngineeringUnits")
            assert (eu.UnitId, eu.DisplayName.Text) == (unit_id("CEL"), "°C")
            assert eu.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
            span = await _property(temperature, "EURange")
            assert (span.Low, span.High) == (0.0, 50.0)
            glucose = await _property(await _node(client, "BR01.GLC.LAB"), "EngineeringUnits")
            assert (glucose.UnitId, glucose.DisplayName.Text) == (unit_id("M33"), "mmol/l")
            ph = await _property(await _node(client, "BR01.AT201.PV"), "EngineeringUnits")
            assert (ph.UnitId, ph.DisplayName.Text) == (-1, "pH")  # no UNECE code for pH

            assert await _access(temperature) & ua.AccessLevel.HistoryRead.mask
            assert not await _access(temperature) & ua.AccessLevel.CurrentWrite.mask
            setpoint = await _node(client, "BR01.TIC101.SP")
            assert await _access(setpoint) & ua.AccessLevel.CurrentWrite.mask
            assert await (await _node(client, "BR01.BatchID")).read_value() == "nominal-7"
            assert await (await _node(client, "BR01.Speed")).read_value() == SPEED

    _run(check())


class _Collect:
    """Every value notified, by tag; a variable not yet written notifies its initial status."""

    def __init__(self) -> None:
        self.values: dict[str, list[ua.DataValue]] = {}
        self.waiting: list[str] = []

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        value: ua.DataValue = data.monitored_item.Value
        tag = str(node.nodeid.Identifier)
        if value.StatusCode is not None and not value.StatusCode.is_good():
            assert value.StatusCode.value == StatusCodes.BadWaitingForInitialData
            self.waiting.append(tag)
            return
        self.values.setdefault(tag, []).append(value)


async def _subscribe(client: Client, tags: list[str], handler: _Collect) -> None:
    subscription = await client.create_subscription(20, handler)
    trigger = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
    requests = [
        ua.MonitoredItemCreateRequest(
            ItemToMonitor=ua.ReadValueId(
                NodeId=(await _node(client, tag)).nodeid, AttributeId=AttributeIds.Value
            ),
            MonitoringMode=ua.MonitoringMode.Reporting,
            RequestedParameters=ua.MonitoringParameters(
                ClientHandle=handle, Filter=trigger, QueueSize=10_000, DiscardOldest=True
            ),
        )
        for handle, tag in enumerate(tags, start=1)
    ]
    results = await subscription.create_monitored_items(requests)
    assert all(isinstance(r, int) for r in results), results


def _by_time(readings: list[Reading], tag: str) -> dict[float, float]:
    return {round(r.time_h, 6): r.value for r in readings if r.tag == tag}


def test_live_values_history_and_setpoint_writes(
    served: VirtualPlantServer, reference: LivePlant
) -> None:
    unchanged = reference.readings_between(-1.0, reference.end_h)
    expected_temperature = _by_time(unchanged, "BR01.TT101.PV")
    tags = ["BR01.TT101.PV", "BR01.PH.LAB", "BR01.TITRE.LAB", "BR01.TIC101.SP"]
    handler = _Collect()

    async def check() -> None:
        async with Client(_url(served), timeout=TIMEOUT_S) as client:
            await _subscribe(client, tags, handler)
            subscribed_h = served.batch_h
            await _wait(served, subscribed_h + 2.0)
            deadline = time.monotonic() + WAIT_S
            while len(handler.values.get("BR01.TT101.PV", [])) < 100:
                assert time.monotonic() < deadline, "notifications stopped coming"
                await asyncio.sleep(0.05)

            # subscribed values carry the plant's clock, every one of them, in order
            received = handler.values["BR01.TT101.PV"]
            times = [_hours(served, _source(v)) for v in received]
            assert len(received) >= 100  # two batch hours of one-minute readings
            assert times == sorted(times)
            assert max(b - a for a, b in pairwise(times)) < 1.5 / 60
            for when, value in zip(times, received, strict=True):
                assert _value(value) == expected_temperature[round(when, 6)]
                assert _received(value) == _source(value)

            # a laboratory result: sampled before it became available
            lab = handler.values.get("BR01.TITRE.LAB", []) + handler.values["BR01.PH.LAB"]
            assert lab
            for value in lab:
                assert _source(value) < _received(value)
                assert _hours(served, _source(value)) % 24 == pytest.approx(0.0)

            # history: every value written, backfilled with HistoryRead
            temperature = await _node(client, "BR01.TT101.PV")
            until_h = served.batch_h
            history = await temperature.read_raw_history(served.start_utc, served.time_of(until_h))
            got = {round(_hours(served, _source(v)), 6): _value(v) for v in history}
            below = until_h - 0.01  # clear of the window's edge
            assert len(got) > 60 * subscribed_h
            assert {t: v for t, v in got.items() if t <= below} == {
                t: v for t, v in expected_temperature.items() if t <= below
            }

            # an out-of-range setpoint is refused and changes nothing
            setpoint = await _node(client, "BR01.TIC101.SP")
            assert await setpoint.read_value() == 36.5
            with pytest.raises(UaStatusCodeError) as refused:
                await setpoint.write_value(ua.Variant(45.0, ua.VariantType.Double))
            assert refused.value.code == StatusCodes.BadOutOfRange
            assert await setpoint.read_value() == 36.5
            assert served.plant.actions == []

            # a valid one changes the process from the current batch time
            await setpoint.write_value(ua.Variant(31.0, ua.VariantType.Double))
            assert await setpoint.read_value() == 31.0
            deadline = time.monotonic() + WAIT_S
            while not served.plant.actions:
                assert time.monotonic() < deadline, "the setpoint change was not carried out"
                await asyncio.sleep(0.1)
            [(effective_h, _)] = served.plant.actions
            assert effective_h < 110.0, "too late to compare before the recipe's own shift"
            await _wait(served, effective_h + 6.5)
            window = (served.time_of(effective_h - 0.5), served.time_of(effective_h + 6.5))
            history = await temperature.read_raw_history(*window)
            served_after = {
                t: _value(v)
                for v in history
                if effective_h < (t := round(_hours(served, _source(v)), 6)) <= effective_h + 6
            }

        reference.set_setpoint("T", 31.0, effective_h)
        after = reference.readings_between(effective_h, effective_h + 6.0)
        expected_after = _by_time(after, "BR01.TT101.PV")
        assert served_after == expected_after
        late = [v for t, v in expected_after.items() if t > effective_h + 4.0]
        assert sum(late) / len(late) == pytest.approx(31.0, abs=0.3)  # was 36.5
        before = [
            v for t, v in expected_temperature.items() if effective_h + 4 < t <= effective_h + 6
        ]
        assert sum(before) / len(before) == pytest.approx(36.5, abs=0.3)
        shown = handler.values["BR01.TIC101.SP"]
        assert _value(shown[-1]) == 31.0

    _run(check())


def test_readings_are_published_as_sparkplug_b(mosquitto: Mosquitto, reference: LivePlant) -> None:
    from paho.mqtt.client import Client as MqttClient
    from paho.mqtt.client import MQTTMessage

    received: queue.Queue[tuple[str, Payload]] = queue.Queue()

    def on_message(client: MqttClient, userdata: object, message: MQTTMessage) -> None:
        received.put((message.topic, decode_payload(bytes(message.payload))))

    listener = new_client("test-listener", clean_session=True)
    listener.on_message = on_message
    listener.connect(*parse_mqtt_url(mosquitto.url))
    listener.subscribe("spBv1.0/pharmatwin/#", qos=1)
    listener.loop_start()
    server = VirtualPlantServer(
        load_scenario("nominal"), None, mosquitto.url, speed=SPEED, tick_s=0.05
    )
    try:
        server.start(timeout_s=WAIT_S)
        assert server.wait_until(1.0, WAIT_S)
    finally:
        server.stop()
        listener.loop_stop()
        listener.disconnect()
    messages: list[tuple[str, Payload]] = []
    while not received.empty():
        messages.append(received.get())
    births = [p for topic, p in messages if topic == "spBv1.0/pharmatwin/DBIRTH/VirtualPlant/BR01"]
    assert births, [topic for topic, _ in messages]
    aliases = {m.alias: m.name for m in births[0].metrics}
    units = {m.name: dict(m.properties).get("engUnit") for m in births[0].metrics}
    assert units["BR01.TT101.PV"] == "degC"
    assert units["BR01.TITRE.LAB"] == "g/L"
    values = {
        round((m.timestamp or 0) / 3.6e6 - server.start_utc.timestamp() / 3600, 6): m.double_value
        for topic, p in messages
        if topic == "spBv1.0/pharmatwin/DDATA/VirtualPlant/BR01"
        for m in p.metrics
        if aliases.get(m.alias) == "BR01.TT101.PV"
    }
    expected = _by_time(reference.readings_between(-1.0, 1.0), "BR01.TT101.PV")
    assert set(expected) <= set(values)  # every reading of the first hour, on the plant's clock
    assert {t: values[t] for t in expected} == expected


def test_serve_refuses_a_speed_that_is_not_positive() -> None:
    result = CliRunner().invoke(plant_app, ["serve", "--speed", "0"])
    assert result.exit_code == 2
    assert "--speed: must be a number > 0, got 0" in result.output
