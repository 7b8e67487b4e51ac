"""An in-memory ``SampleSink`` for connector tests, with the historian's write semantics.

The same tag, time and value written twice is stored once (a duplicate); another value (or
quality) for a stored tag and time is quarantined with the historian's reason, never written
over the stored one; a non-finite value is quarantined. Events are idempotent on (kind,
source, time, subject). ``fail_next`` makes the next calls raise, like a busy historian.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime

from pharmatwin.historian.checks import SAMPLE_SOURCE, conflict_reason, raw_text
from pharmatwin.historian.records import Event, Quarantined, Sample, WriteResult, to_us


class SinkBusyError(RuntimeError):
    """What a busy historian might raise."""


class MemorySink:
    """Thread-safe; ``wait_until`` blocks (bounded) until a condition on the sink holds."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.samples: dict[tuple[str, int], Sample] = {}
        self.quarantined: list[Quarantined] = []
        self.events: dict[tuple[str, str, int, str], Event] = {}
        self.duplicates = 0
        self.failures = 0
        self._fail = 0

    def fail_next(self, calls: int) -> None:
        """The next ``calls`` calls to write / quarantine / add_event raise ``SinkBusyError``."""
        with self._cond:
            self._fail = calls

    def _maybe_fail(self) -> None:
        if self._fail > 0:
            self._fail -= 1
            self.failures += 1
            raise SinkBusyError("historian busy (test)")

    def write(self, samples: list[Sample]) -> WriteResult:
        with self._cond:
            self._maybe_fail()
            inserted = duplicates = rejected = 0
            for s in samples:
                key = (s.tag, to_us(s.time))
                stored = self.samples.get(key)
                if not math.isfinite(s.value):
                    reason = f"value {s.value!r} is not a finite number"
                elif stored is None:
                    self.samples[key] = s
                    inserted += 1
                    continue
                elif stored.value == s.value and stored.quality == s.quality:
                    duplicates += 1
                    continue
                else:
                    reason = conflict_reason(
                        stored.value, stored.quality, s.value, s.quality, key[1]
                    )
                self.quarantined.append(
                    Quarantined(SAMPLE_SOURCE, reason, raw_text(s.value, s.quality), s.tag, s.time)
                )
                rejected += 1
            self.duplicates += duplicates
            self._cond.notify_all()
            return WriteResult(inserted, duplicates, rejected)

    def quarantine(self, items: list[Quarantined]) -> None:
        with self._cond:
            self._maybe_fail()
            self.quarantined.extend(items)
            self._cond.notify_all()

    def add_event(self, event: Event) -> None:
        with self._cond:
            self._maybe_fail()
            self.events[(event.kind, event.source, to_us(event.time), event.subject)] = event
            self._cond.notify_all()

    # ------------------------------------------------------------ for assertions

    def wait_until(self, condition: Callable[[MemorySink], bool], timeout: float = 20.0) -> bool:
        """Wait until ``condition(self)`` is true; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
            return True

    def values(self, tag: str) -> list[tuple[datetime, float]]:
        """(time, value) of ``tag``, in time order."""
        with self._cond:
            found = [(s.time, s.value) for (t, _), s in self.samples.items() if t == tag]
        return sorted(found)

    def reasons(self) -> list[str]:
        with self._cond:
            return [q.reason for q in self.quarantined]

    def event_list(self, kind: str | None = None) -> list[Event]:
        with self._cond:
            found = [e for e in self.events.values() if kind is None or e.kind == kind]
        return sorted(found, key=lambda e: (e.time, e.subject))
