"""Measurements as the estimators see them, and what happened to each one."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """One measured value of one model output.

    Attributes:
        time_h: batch time the value describes (when the sample was drawn), h.
        output: name of the model output it measures.
        value: the value, in the output's unit.
        sd: standard deviation of its error, in the same unit (> 0).
        tag: where it came from (historian tag).
        available_h: when the value became known (lab results arrive late); None: at once.
    """

    time_h: float
    output: str
    value: float
    sd: float
    tag: str = ""
    available_h: float | None = None

    def __post_init__(self) -> None:
        if not self.sd > 0:
            raise ValueError(f"{self.tag or self.output}: sd must be positive, got {self.sd}")

    @property
    def known_at(self) -> float:
        return self.time_h if self.available_h is None else self.available_h

    @property
    def is_missing(self) -> bool:
        return not math.isfinite(self.value)


@dataclass(frozen=True)
class Verdict:
    """What an estimator did with a measurement: used, or rejected with the reason."""

    measurement: Measurement
    used: bool
    reason: str = ""
    innovation_sd: float = 0.0
    """(measured - predicted mean) / sqrt(predicted variance + measurement variance)."""
