"""A sink that applies the tag map before storing: connectors name items, the historian tags."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pharmatwin.connectors.tagmap import TagMap
from pharmatwin.historian.records import Event, Quarantined, Sample, SampleSink, WriteResult


class MappedSink:
    """Renames and converts samples with a ``TagMap``, quarantines what it cannot map, and
    passes the rest to ``sink``. Thread-safe: connectors may call it from their own threads."""

    def __init__(
        self,
        sink: SampleSink,
        tagmap: TagMap,
        units: Callable[[str], str | None] | None = None,
    ) -> None:
        self.sink = sink
        self.tagmap = tagmap
        self.units = units
        """The unit the source reports for an item (e.g. a Sparkplug metric's engUnit
        property), used when a write does not give its own."""
        self._lock = threading.Lock()

    def write(
        self, samples: list[Sample], units: Callable[[str], str | None] | None = None
    ) -> WriteResult:
        """Map, convert and store; ``units`` gives the unit the source reported per item."""
        kept, rejected = self.tagmap.apply(samples, units or self.units)
        with self._lock:
            if rejected:
                self.sink.quarantine(rejected)
            result = self.sink.write(kept) if kept else WriteResult(0, 0, 0)
        return WriteResult(result.inserted, result.duplicates, result.quarantined + len(rejected))

    def quarantine(self, items: list[Quarantined]) -> None:
        with self._lock:
            self.sink.quarantine(items)

    def add_event(self, event: Event) -> None:
        with self._lock:
            self.sink.add_event(event)
