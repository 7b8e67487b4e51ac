"""Publishes samples as plain JSON messages (format: ``connectors.mqtt_json``).

QoS 1 by default. paho keeps QoS 1 messages published while the broker is away in memory
(unbounded queue) and sends them after it reconnects, so a broker restart loses nothing as long
as this process lives; ``flush`` waits until the broker has acknowledged everything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pharmatwin.connectors.mqtt_base import new_client, parse_mqtt_url
from pharmatwin.connectors.mqtt_json import encode_json_samples
from pharmatwin.historian.records import Sample

if TYPE_CHECKING:
    from paho.mqtt.client import Client


class JsonPublisher:
    """Publishes to ``topic`` on the broker at ``url``. Thread-safe."""

    def __init__(
        self,
        url: str,
        topic: str,
        *,
        client_id: str = "",
        qos: int = 1,
        keepalive_s: int = 30,
        reconnect_max_s: int = 4,
    ) -> None:
        self._host_port = parse_mqtt_url(url)
        if not topic or any(c in topic for c in "+#"):
            raise ValueError(f"topic {topic!r}: a topic name without wildcards is required")
        if qos not in (0, 1):
            raise ValueError(f"qos: {qos}; 0 or 1")
        self.url = url
        self.topic = topic
        self.client_id = client_id or f"pharmatwin-json-{id(self):x}"
        self.qos = qos
        self._keepalive = keepalive_s
        self._reconnect_max = reconnect_max_s
        self._lock = threading.Lock()
        self._unacked: set[int] = set()
        self._early: set[int] = set()
        self._connected = threading.Event()
        self._client: Client | None = None

    def start(self, timeout: float | None = 10.0) -> None:
        """Connect in the background; with ``timeout``, wait until connected (else
        ``TimeoutError``)."""
        if self._client is not None:
            raise RuntimeError(f"JSON publisher {self.client_id}: already started")
        client = new_client(self.client_id, clean_session=True)
        client.reconnect_delay_set(1, self._reconnect_max)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: self._connected.clear()
        client.on_publish = self._on_publish
        self._client = client
        client.connect_async(*self._host_port, keepalive=self._keepalive)
        client.loop_start()
        if timeout is not None and not self._connected.wait(timeout):
            self.stop(timeout=0)
            raise TimeoutError(f"MQTT {self.url}: not connected within {timeout} s")

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def publish(self, samples: Sequence[Sample], topic: str | None = None) -> None:
        """Publish ``samples`` as one message (a JSON array)."""
        self.publish_raw(encode_json_samples(samples), topic)

    def publish_raw(self, payload: bytes | str, topic: str | None = None) -> None:
        """Publish ``payload`` as it is (for other shapes of the format, or tests)."""
        client = self._client
        if client is None:
            raise RuntimeError(f"JSON publisher {self.client_id}: not started")
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        info = client.publish(topic or self.topic, data, qos=self.qos)
        if self.qos == 0:
            return
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
            else:
                self._unacked.add(info.mid)

    def flush(self, timeout: float) -> bool:
        """Wait until the broker has acknowledged every QoS 1 message; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._unacked:
                    return True
            time.sleep(0.02)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        """Flush (up to ``timeout`` s) and disconnect."""
        client = self._client
        if client is None:
            return
        self.flush(timeout)
        client.disconnect()
        client.loop_stop()
        self._client = None
        self._connected.clear()

    def _on_connect(self, _c: Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            self._connected.set()

    def _on_publish(self, _c: Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        if self.qos == 0:
            return
        with self._lock:
            if mid in self._unacked:
                self._unacked.discard(mid)
            else:
                self._early.add(mid)
