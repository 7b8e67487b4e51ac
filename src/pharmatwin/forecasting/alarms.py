"""Alarm policy: raise when the probability of failing a specification stays high, clear with
hysteresis, and record when, why and how much warning it gave."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from pharmatwin.forecasting.forecast import Forecast

AlarmKind = Literal["process", "sensor", "multivariate"]


@dataclass(frozen=True)
class AlarmSettings:
    """Thresholds of the policy.

    Attributes:
        threshold: raise when P(fail) exceeds this...
        persistence: ...in this many consecutive forecasts.
        clear_below: clear an active alarm once P(fail) falls below this (hysteresis).
    """

    threshold: float = 0.5
    persistence: int = 2
    clear_below: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.clear_below <= self.threshold < 1:
            raise ValueError("alarm settings: need 0 < clear_below <= threshold < 1")
        if self.persistence < 1:
            raise ValueError("alarm settings: persistence must be at least 1")


@dataclass
class Alarm:
    """One alarm on the timeline.

    Attributes:
        spec: the specification at risk (or the sensor, for a sensor fault).
        kind: ``process`` (a forecast), ``sensor`` (an instrument fault) or ``multivariate``.
        raised_at_h: batch time it was raised, h.
        probability: P(fail) when raised.
        predicted_violation_h: median predicted time of first violation when raised, h.
        evidence: what moved it (measurements with their innovations, or the detector's words).
        cleared_at_h: when it cleared, or None while active.
    """

    spec: str
    kind: AlarmKind
    raised_at_h: float
    probability: float
    predicted_violation_h: float
    evidence: list[str] = field(default_factory=list)
    cleared_at_h: float | None = None

    @property
    def lead_time_h(self) -> float:
        """Predicted warning: time from raising to the predicted violation, h."""
        if math.isnan(self.predicted_violation_h):
            return math.nan
        return self.predicted_violation_h - self.raised_at_h


class AlarmPolicy:
    """Turns a stream of forecasts into a timeline of process alarms."""

    def __init__(self, settings: AlarmSettings | None = None) -> None:
        self.settings = settings or AlarmSettings()
        self.timeline: list[Alarm] = []
        self._streak: dict[str, int] = {}
        self._active: dict[str, Alarm] = {}

    def observe(self, forecast: Forecast, evidence: list[str] | None = None) -> list[Alarm]:
        """Update with a new forecast; returns the alarms raised by it."""
        raised = []
        for s in forecast.specs:
            name = s.spec.name
            high = s.p_fail > self.settings.threshold
            self._streak[name] = self._streak.get(name, 0) + 1 if high else 0
            active = self._active.get(name)
            if active is None and self._streak[name] >= self.settings.persistence:
                alarm = Alarm(
                    spec=name,
                    kind="process",
                    raised_at_h=forecast.t,
                    probability=s.p_fail,
                    predicted_violation_h=s.predicted_violation_h,
                    evidence=list(evidence or []),
                )
                self._active[name] = alarm
                self.timeline.append(alarm)
                raised.append(alarm)
            elif active is not None and s.p_fail < self.settings.clear_below:
                active.cleared_at_h = forecast.t
                del self._active[name]
        return raised

    def record(self, alarm: Alarm) -> None:
        """Add an alarm raised elsewhere (e.g. a sensor fault) to the timeline."""
        self.timeline.append(alarm)

    @property
    def active(self) -> list[Alarm]:
        return list(self._active.values())
