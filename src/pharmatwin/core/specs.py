"""Specifications: critical quality attributes with acceptance limits, as data.

A specification names a model output and its acceptance interval, and says when it applies:
at harvest only, or at every moment of the batch (a path constraint such as a maximum lactate).
Evaluation is vectorized over the ensemble.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import model_validator

from pharmatwin.core.recipe import StrictData
from pharmatwin.core.types import BoolArray, FloatArray


class Specification(StrictData):
    """One acceptance criterion on one output."""

    name: str
    output: str
    unit: str
    lower: float | None = None
    upper: float | None = None
    when: Literal["harvest", "always"] = "harvest"
    description: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _limits(self) -> Specification:
        if self.lower is None and self.upper is None:
            raise ValueError(f"specification {self.name!r}: give a lower or an upper limit")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"specification {self.name!r}: lower limit must be below the upper")
        return self

    def limit_text(self) -> str:
        """The acceptance interval for people, e.g. ``>= 3.0 g/L``."""
        if self.lower is not None and self.upper is not None:
            return f"{self.lower:g} to {self.upper:g} {self.unit}"
        if self.lower is not None:
            return f">= {self.lower:g} {self.unit}"
        return f"<= {self.upper:g} {self.unit}"

    def within(self, y: FloatArray) -> BoolArray:
        """Boolean array: ``y`` inside the acceptance interval (NaN counts as outside)."""
        ok: BoolArray = np.asarray(np.isfinite(y), dtype=bool)
        if self.lower is not None:
            ok &= y >= self.lower
        if self.upper is not None:
            ok &= y <= self.upper
        return ok

    def evaluate(self, t: FloatArray, y: FloatArray) -> SpecResult:
        """Assess ``y`` of shape ``(n_t, members)`` sampled at times ``t`` (batch hours)."""
        y = np.asarray(y, dtype=float).reshape(len(t), -1)
        if self.when == "harvest":
            value = y[-1]
            passed = self.within(value)
            first = np.where(passed, np.nan, t[-1])
            return SpecResult(self, value, passed, first)
        ok = self.within(y)
        passed = np.asarray(ok.all(axis=0), dtype=bool)
        idx = np.argmin(ok, axis=0)
        first = np.where(passed, np.nan, t[idx])
        worst = y.max(axis=0) if self.upper is not None else y.min(axis=0)  # NaN stays NaN
        return SpecResult(self, worst, passed, first)


@dataclass(frozen=True)
class SpecResult:
    """A specification assessed on each member.

    ``value`` is the harvest value (``when='harvest'``) or the worst value over the batch;
    ``first_violation_h`` is NaN where the member never violates.
    """

    spec: Specification
    value: FloatArray
    passed: BoolArray
    first_violation_h: FloatArray

    @property
    def p_fail(self) -> float:
        return float(1.0 - np.mean(self.passed))
