"""What a storage backend (SQLite, PostgreSQL) provides to the historian.

SQL is written once with ``?`` placeholders; a backend translates it to its driver's style.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

T = TypeVar("T")
Row = tuple[Any, ...]


class Tx(Protocol):
    """An open transaction."""

    def run(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Execute one statement; its result rows (empty for statements without)."""
        ...

    def run_many(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        """Execute one statement per parameter row; the number of rows changed."""
        ...


@dataclass(frozen=True)
class SampleRows:
    """Rows to store: tag ids, times (us), values, qualities, availability times (us).

    ``available_us`` equal to ``time_us`` means "known at its time" and is stored as NULL.
    """

    tag_id: NDArray[np.int64]
    time_us: NDArray[np.int64]
    value: NDArray[np.float64]
    quality: NDArray[np.int64]
    available_us: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.tag_id)

    def available_or_none(self) -> list[int | None]:
        """Availability times with ``None`` where a value was known at its time."""
        same = self.available_us == self.time_us
        if bool(same.all()):
            return [None] * len(self)
        out: list[int | None] = self.available_us.tolist()
        for i in np.flatnonzero(same).tolist():
            out[i] = None
        return out


@dataclass(frozen=True)
class Conflict:
    """A row that was not stored because its tag and time hold another value."""

    index: int
    stored_value: float
    stored_quality: int


class Backend(ABC):
    """One connection to one database."""

    dialect: str
    """``sqlite`` or ``postgresql``."""

    json_param: str = "?"
    """The placeholder for a JSON text parameter (PostgreSQL casts it to jsonb)."""

    @property
    @abstractmethod
    def label(self) -> str:
        """The database, for messages (no password)."""

    @abstractmethod
    def read(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run a query outside a write transaction."""

    @abstractmethod
    def write(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in one transaction: committed if it returns, rolled back if it raises.

        ``work`` may be run again after a rollback (a busy database), so it must have no
        effect outside the transaction.
        """

    @abstractmethod
    def insert_samples(self, tx: Tx, rows: SampleRows) -> tuple[int, list[Conflict]]:
        """Insert rows whose tag and time are new; the count inserted and the conflicts.

        Within ``rows`` the first of several rows for one tag and time wins. A row equal in
        value and quality to the stored one is a duplicate (neither inserted nor a conflict).
        """

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""
