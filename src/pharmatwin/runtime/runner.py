"""The runtime: connectors into the historian, and every asset's twin kept live from it.

``Runtime.start()`` opens the historian, registers each asset's tags and batch, starts one
connector per source (each writing through the tag map into its own historian connection) and
builds the live twins; ``poll()`` steps every twin over the hours whose data are complete;
``run(stop)`` polls until ``stop`` is set. After a restart the connectors resume from the
historian's latest sample of each tag and the twins step their batch again from stored data
(see ``runtime.live_twin``), so nothing is lost or counted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from pharmatwin.connectors.mapped_sink import MappedSink
from pharmatwin.connectors.tagmap import TagMap, TagMapping
from pharmatwin.historian.errors import HistorianError
from pharmatwin.historian.records import Batch, TagInfo
from pharmatwin.historian.store import Historian
from pharmatwin.historian.urls import open_historian
from pharmatwin.runtime.bioreactor_twin import StepResult
from pharmatwin.runtime.live_twin import LiveTwin, TwinStore
from pharmatwin.runtime.plant_config import AssetEntry, PlantConfig, SourceConfig
from pharmatwin.runtime.versioned_twin import (
    VersionRecords,
    VersionStampedStore,
    require_approved_versions,
    versions_event,
)

log = logging.getLogger(__name__)

BEFORE_START = timedelta(seconds=1)
"""A new tag is backfilled from this long before its batch's start (history reads exclude
their start time)."""


class Connector(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class PollReport:
    """What one poll did: steps per twin, and errors met (the poll is retried next time)."""

    steps: dict[str, list[StepResult]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Runtime:
    """Keeps the twins of a plant configuration live."""

    def __init__(
        self,
        config: PlantConfig,
        db_url: str | None = None,
        versions: VersionRecords | None = None,
    ) -> None:
        """``versions``: the store of approved twin configurations and recipes (required in
        production mode; in development mode, when given, unapproved ones become drafts)."""
        if config.mode == "production" and versions is None:
            raise ValueError("mode: production needs the version store of approved configurations")
        self.config = config
        self.versions = versions
        self.db_url = db_url or config.db or None
        self.historian: Historian | None = None
        self.twins: dict[str, LiveTwin] = {}
        self.connectors: dict[str, Connector] = {}
        self._sinks: list[Historian] = []

    def start(self, connect: bool = True) -> None:
        """Open the historian, register tags and batches, start the connectors (unless
        ``connect`` is false: then the twins run on what is already stored)."""
        self.historian = historian = open_historian(self.db_url)
        for entry in self.config.assets:
            # first, so that a refused twin writes nothing
            refs = (
                require_approved_versions(entry.asset, self.versions, mode=self.config.mode)
                if self.versions is not None
                else ()
            )
            mappings = self._mappings(entry)
            historian.ensure_tags(
                [TagInfo(m.tag, m.unit, entry.asset.name, m.description) for m in mappings]
            )
            batch = Batch(
                batch_id=entry.batch_id,
                asset=entry.asset.name,
                recipe=entry.asset.recipe.name,
                start=entry.batch.start,
            )
            historian.start_batch(batch)
            stored = historian.batch(batch.batch_id) or batch
            prefix = self.config.source(entry.source).item_prefix(entry.asset.name)
            store: TwinStore = historian
            if refs:  # the batch and every forecast name the exact versions used
                historian.add_event(versions_event(stored, refs))
                store = VersionStampedStore(historian, refs)
            self.twins[entry.asset.name] = LiveTwin(entry.asset, stored, store, prefix)
        if connect:
            for source in self.config.sources:
                entries = [e for e in self.config.assets if e.source == source.name]
                if entries:
                    self.connectors[source.name] = self._connector(source, entries)
            for connector in self.connectors.values():
                connector.start()

    def poll(self) -> PollReport:
        """Step every twin as far as its data allow."""
        report = PollReport()
        for name, twin in self.twins.items():
            try:
                report.steps[name] = twin.poll()
            except HistorianError as exc:
                report.errors.append(f"{name}: {exc}")
                log.warning("%s: %s; retrying at the next poll", name, exc)
        return report

    def run(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Poll every ``poll_s`` seconds until ``stop`` is set."""
        while not stop.is_set():
            self.poll()
            stop.wait(poll_s)

    def finished(self) -> bool:
        return all(t.session.finished for t in self.twins.values())

    def stop(self) -> None:
        """Stop the connectors (they flush what they hold) and close the historian."""
        for connector in self.connectors.values():
            connector.stop()
        self.connectors.clear()
        for sink in self._sinks:
            sink.close()
        self._sinks.clear()
        if self.historian is not None:
            self.historian.close()
            self.historian = None

    def _mappings(self, entry: AssetEntry) -> list[TagMapping]:
        prefix = self.config.source(entry.source).item_prefix(entry.asset.name)
        return entry.asset.tag_map(prefix)

    def _connector(self, source: SourceConfig, entries: list[AssetEntry]) -> Connector:
        mappings = [m for e in entries for m in self._mappings(e)]
        sink_store = open_historian(self.db_url)
        self._sinks.append(sink_store)
        sink = MappedSink(sink_store, TagMap(mappings, source=source.name))
        assert self.historian is not None
        latest = self.historian.latest([m.tag for m in mappings])
        # a tag with nothing stored yet is read from the start of its batch, so readings
        # published before the runtime first connected are backfilled too
        starts = {m.source: e.batch.start for e in entries for m in self._mappings(e)}
        since = {
            m.source: latest[m.tag].time if m.tag in latest else starts[m.source] - BEFORE_START
            for m in mappings
        }
        return build_connector(source, sink, [m.source for m in mappings], since)


def build_connector(
    source: SourceConfig, sink: MappedSink, items: list[str], since: dict[str, Any]
) -> Connector:
    """The connector for ``source``, delivering source items (tag-map sources) to ``sink``."""
    if source.kind == "opcua":
        from pharmatwin.connectors.opcua_client import OpcUaSource

        return OpcUaSource(
            source.url, {item: item for item in items}, sink, name=source.name, since=since
        )
    if source.kind == "mqtt":
        from pharmatwin.connectors.mqtt import MqttSubscriber, Subscription

        if source.format == "sparkplug":
            topic = f"spBv1.0/{source.group}/#"
            subscriber = MqttSubscriber(
                source.url,
                source.client_id,
                sink,
                [Subscription(topic, "sparkplug")],
                sparkplug_tags=lambda metric: metric.key,
            )
            sink.units = subscriber.host.unit  # each metric's engUnit from its birth
            return subscriber
        return MqttSubscriber(
            source.url, source.client_id, sink, [Subscription(source.topic, "json")]
        )
    if source.kind == "file":
        from pharmatwin.connectors.folder import FolderSource

        return FolderSource(Path(source.url), sink, name=source.name)
    raise ValueError(f"sources.{source.name}.kind: {source.kind!r} is not a live source")


def wait_until(predicate: Any, timeout_s: float, every_s: float = 0.2) -> bool:
    """Poll ``predicate()`` until true or ``timeout_s`` passes; returns whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return bool(predicate())
