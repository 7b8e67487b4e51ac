"""Sensor faults are not process faults: compare an online probe with the laboratory.

An online probe that drifts makes its control loop move the process; a twin that believed the
probe would think the process is fine (or would blame the kinetics). Each at-line result of the
same quantity gives a residual (online at the sample time minus laboratory); the running mean of
the last ``window`` residuals estimates the probe's bias. When it exceeds ``threshold`` and three
standard errors of its estimate, the probe is declared faulty, the estimated bias is reported,
and the twin uses the probe's readings corrected from then on. Probes drift, so the correction
follows the residuals in time: before the last ``window`` samples, their three-point running
mean interpolated between samples; from there on, and beyond the last sample, the straight line
fitted to the last ``window`` residuals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pharmatwin.core.types import FloatArray


@dataclass(frozen=True)
class SensorFault:
    """A probable instrument fault.

    Attributes:
        tag: the online probe.
        detected_at_h: batch time the evidence arrived, h.
        bias: estimated offset of the probe (reading minus truth) at the last sample, its unit.
        evidence: the residuals it rests on.
        drift_per_day: estimated drift of the offset, unit per day.
    """

    tag: str
    detected_at_h: float
    bias: float
    evidence: tuple[float, ...]
    drift_per_day: float = 0.0


@dataclass
class ProbeCheck:
    """Online probe against its laboratory reference.

    Attributes:
        tag: online tag.
        lab_sd: standard deviation of the laboratory method, in the probe's unit.
        threshold: smallest bias worth declaring, in the probe's unit.
        window: residuals averaged.
    """

    tag: str
    lab_sd: float
    threshold: float
    window: int = 3
    residuals: list[float] = field(default_factory=list)
    sampled_h: list[float] = field(default_factory=list)
    fault: SensorFault | None = None

    def add(
        self, online: float, lab: float, sampled_h: float, known_at_h: float
    ) -> SensorFault | None:
        """A new pair from a sample drawn at ``sampled_h`` whose result arrived at
        ``known_at_h``; returns the fault the first time it is detected."""
        if not (np.isfinite(online) and np.isfinite(lab)):
            return None
        self.residuals.append(online - lab)
        self.sampled_h.append(sampled_h)
        recent = np.array(self.residuals[-self.window :])
        if len(recent) < 2:
            return None
        mean = float(recent.mean())
        # standard error of the mean residual: the laboratory's error and as much again for
        # the online reading at the sample time (not the residuals' scatter, which a drift
        # inflates)
        se = float(np.sqrt(2.0 / len(recent))) * self.lab_sd
        first = self.fault is None
        if first and abs(mean) <= max(self.threshold, 3.0 * se):
            return None
        detected_at_h = known_at_h if self.fault is None else self.fault.detected_at_h
        level, slope = self._trend()
        self.fault = SensorFault(
            self.tag,
            detected_at_h,
            level,
            tuple(recent.tolist()),
            drift_per_day=24.0 * slope,
        )
        return self.fault if first else None

    def correction_at(self, t: FloatArray) -> FloatArray:
        """What to subtract from the probe's readings at batch times ``t`` (h): zero while the
        probe is trusted."""
        t = np.asarray(t, dtype=float)
        if self.fault is None:
            return np.zeros_like(t)
        times = np.array(self.sampled_h)
        level, slope = self._trend()
        fitted_from = times[-self.window :][0]
        line = level + slope * (t - times[-1])
        values = np.array(self.residuals)
        smoothed = np.array([values[max(i - 1, 0) : i + 2].mean() for i in range(len(values))])
        correction: FloatArray = np.where(t >= fitted_from, line, np.interp(t, times, smoothed))
        return correction

    def _trend(self) -> tuple[float, float]:
        """Offset at the last sample and drift (per h) of the line through the last
        ``window`` residuals (flat when they were all drawn at once)."""
        times = np.array(self.sampled_h[-self.window :])
        values = np.array(self.residuals[-self.window :])
        if np.ptp(times) <= 0:
            return float(values.mean()), 0.0
        slope, intercept = np.polyfit(times - times[-1], values, 1)
        return float(intercept), float(slope)
