"""Broker URLs and paho-mqtt clients shared by the MQTT subscriber and publishers.

Clients speak MQTT 3.1.1 (OASIS standard, 2014) through paho-mqtt 2.x with the version 2
callback API. Only plain TCP (``mqtt://host:port``, default port 1883) is supported for now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from paho.mqtt.client import Client

DEFAULT_PORT = 1883


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """(host, port) of ``mqtt://host[:port]`` (``tcp://`` is accepted too)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"MQTT url {url!r}: scheme must be mqtt:// (TLS is not supported yet)")
    if not parts.hostname:
        raise ValueError(f"MQTT url {url!r}: no host")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"MQTT url {url!r}: the port is not a number 1-65535") from None
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"MQTT url {url!r}: a path or query is not allowed")
    return parts.hostname, port


def new_client(
    client_id: str,
    clean_session: bool,
    *,
    manual_ack: bool = False,
    reconnect_on_failure: bool = True,
) -> Client:
    """A paho client (callback API 2, MQTT 3.1.1) with an unbounded outgoing queue, so QoS 1
    messages published while the broker is away wait in memory and are sent on reconnect."""
    from paho.mqtt.client import Client
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    if not client_id:
        raise ValueError("client_id: an MQTT client id is required (it names the session)")
    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=MQTTProtocolVersion.MQTTv311,
        manual_ack=manual_ack,
        reconnect_on_failure=reconnect_on_failure,
    )
    client.max_queued_messages_set(0)
    return client
