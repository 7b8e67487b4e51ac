"""The file connector: CSV or Parquet files dropped into a folder are read into the historian.

Each new ``*.csv`` / ``*.parquet`` file (columns as ``historian.files``: time_utc, tag, value,
unit, quality, available_utc) is read through the tag map and stored; rows that fail a check,
and values whose unit does not convert, are quarantined with the row and the reason. A file is
moved to ``processed/`` only once everything in it is stored (a file that cannot be read at
all, e.g. with a column missing, is quarantined as a whole and moved to ``rejected/``), so a
crash mid-file means the file is read again at the next start, which stores nothing twice
(writes are idempotent).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from pharmatwin.connectors.mapped_sink import MappedSink
from pharmatwin.historian.records import Quarantined, WriteResult
from pharmatwin.historian.transfer import read_samples

log = logging.getLogger(__name__)

PATTERNS = ("*.csv", "*.parquet")


class FolderSource:
    """Polls ``folder`` every ``poll_s`` seconds for new files."""

    def __init__(self, folder: Path, sink: MappedSink, name: str = "files", poll_s: float = 1.0):
        if not folder.is_dir():
            raise ValueError(f"url: {str(folder)!r} is not a folder")
        self.folder = folder
        self.sink = sink
        self.name = name
        self.poll_s = poll_s
        self.done = folder / "processed"
        self.results: dict[str, WriteResult] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def pending(self) -> list[Path]:
        """Files waiting, oldest first."""
        files = [p for pattern in PATTERNS for p in self.folder.glob(pattern) if p.is_file()]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def read_once(self) -> dict[str, WriteResult]:
        """Read every waiting file; returns the counts per file read."""
        read = {}
        for path in self.pending():
            inserted = duplicates = quarantined = 0
            target = self.done
            try:
                for samples, rejected, units in read_samples(path, source=self.name):
                    if rejected:
                        self.sink.quarantine(rejected)
                    result = self.sink.write(samples, units.get)
                    inserted += result.inserted
                    duplicates += result.duplicates
                    quarantined += result.quarantined + len(rejected)
            except ValueError as exc:  # the file as a whole cannot be read
                self.sink.quarantine([Quarantined(self.name, str(exc), raw=path.name)])
                quarantined += 1
                target = self.folder / "rejected"
            target.mkdir(exist_ok=True)
            path.replace(target / path.name)
            read[path.name] = WriteResult(inserted, duplicates, quarantined)
        self.results.update(read)
        return read

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.read_once()
            except Exception as exc:  # keep polling: the file stays and is read again
                log.warning("%s: %s; retrying", self.name, exc)
            self._stop.wait(self.poll_s)
