"""Samples read back from the historian as numpy columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pharmatwin.historian.records import Sample, from_us


@dataclass(frozen=True)
class SampleFrame:
    """Columns of equal length, sorted by tag then time.

    Attributes:
        tag: tag names (object array of ``str``).
        time_us: source times, microseconds since the Unix epoch (UTC).
        value: values in each tag's engineering unit.
        quality: OPC UA quality bytes (192 good).
        available_us: when each value became known, microseconds since the epoch; equal to
            ``time_us`` for a value known at its time.
    """

    tag: NDArray[np.object_]
    time_us: NDArray[np.int64]
    value: NDArray[np.float64]
    quality: NDArray[np.int32]
    available_us: NDArray[np.int64]

    def __post_init__(self) -> None:
        n = len(self.tag)
        for name in ("time_us", "value", "quality", "available_us"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: length {len(getattr(self, name))} differs from tag {n}")

    def __len__(self) -> int:
        return len(self.tag)

    @classmethod
    def empty(cls) -> SampleFrame:
        """A frame with no rows."""
        return cls.from_columns([], [], [], [], [])

    @classmethod
    def from_columns(
        cls,
        tag: Any,
        time_us: Any,
        value: Any,
        quality: Any,
        available_us: Any,
    ) -> SampleFrame:
        """A frame from any array-likes, cast to the column types."""
        tags = np.empty(len(tag), dtype=object)
        tags[:] = list(tag)
        return cls(
            tags,
            np.asarray(time_us, dtype=np.int64),
            np.asarray(value, dtype=np.float64),
            np.asarray(quality, dtype=np.int32),
            np.asarray(available_us, dtype=np.int64),
        )

    def tags(self) -> list[str]:
        """The distinct tag names, sorted."""
        return sorted({str(t) for t in self.tag})

    def for_tag(self, name: str) -> SampleFrame:
        """The rows of one tag (empty if it has none)."""
        keep = self.tag == name
        return SampleFrame(
            self.tag[keep],
            self.time_us[keep],
            self.value[keep],
            self.quality[keep],
            self.available_us[keep],
        )

    def to_samples(self) -> list[Sample]:
        """One ``Sample`` per row; ``available`` is ``None`` where it equals the time."""
        out = []
        for tag, t, v, q, a in zip(
            self.tag.tolist(),
            self.time_us.tolist(),
            self.value.tolist(),
            self.quality.tolist(),
            self.available_us.tolist(),
            strict=True,
        ):
            out.append(Sample(tag, from_us(t), v, q, None if a == t else from_us(a)))
        return out

    def equals(self, other: SampleFrame) -> bool:
        """Same rows in the same order (values compared exactly)."""
        return (
            len(self) == len(other)
            and bool(np.all(self.tag == other.tag))
            and bool(np.array_equal(self.time_us, other.time_us))
            and bool(np.array_equal(self.value, other.value))
            and bool(np.array_equal(self.quality, other.quality))
            and bool(np.array_equal(self.available_us, other.available_us))
        )
