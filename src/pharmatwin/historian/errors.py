"""Errors of the historian's storage: the database is busy, full, or failed otherwise.

On each of them the write's transaction was rolled back: nothing of that write is stored and
nothing stored before is lost.
"""

from __future__ import annotations


class HistorianError(RuntimeError):
    """The historian's database failed; the message names the database and what to do."""


class HistorianBusy(HistorianError):  # noqa: N818 (the names others use)
    """The database stayed locked by another writer past the bounded wait and retries."""


class HistorianFull(HistorianError):  # noqa: N818 (the names others use)
    """The database or its disk is full (or the database reached its configured size cap)."""


class UnknownBatch(ValueError):  # noqa: N818 (the names others use)
    """A batch id that the historian does not hold."""
