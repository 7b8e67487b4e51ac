"""Sensor faults are not process faults: compare an online probe with the laboratory.

An online probe that drifts makes its control loop move the process; a twin that believed the
probe would think the process is fine (or would blame the kinetics). Each at-line result of the
same quantity gives a residual (online at the sample time minus laboratory); the running mean of
the last ``window`` residuals estimates the probe's bias. When it exceeds ``threshold`` and three
standard errors of its estimate, the probe is declared faulty, the estimated bias is reported,
and the twin uses the probe's readings corrected by that bias from then on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SensorFault:
    """A probable instrument fault.

    Attributes:
        tag: the online probe.
        detected_at_h: batch time the evidence arrived, h.
        bias: estimated offset of the probe (reading minus truth), in its unit.
        evidence: the residuals it rests on.
    """

    tag: str
    detected_at_h: float
    bias: float
    evidence: tuple[float, ...]


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
    fault: SensorFault | None = None

    def add(self, online: float, lab: float, known_at_h: float) -> SensorFault | None:
        """A new pair; returns the fault the first time it is detected."""
        if not (np.isfinite(online) and np.isfinite(lab)):
            return None
        self.residuals.append(online - lab)
        recent = np.array(self.residuals[-self.window :])
        if len(recent) < 2:
            return None
        bias = float(recent.mean())
        se = float(np.sqrt(recent.var(ddof=1) / len(recent) + self.lab_sd**2 / len(recent)))
        if self.fault is None and abs(bias) > max(self.threshold, 3.0 * se):
            self.fault = SensorFault(self.tag, known_at_h, bias, tuple(recent.tolist()))
            return self.fault
        if self.fault is not None:
            self.fault = SensorFault(
                self.tag, self.fault.detected_at_h, bias, tuple(recent.tolist())
            )
        return None

    @property
    def correction(self) -> float:
        """What to subtract from the probe's readings (0 while it is trusted)."""
        return 0.0 if self.fault is None else self.fault.bias
