"""Sensors of the virtual bioreactor: online probes and at-line assays.

Online probes read every minute with Gaussian noise, a calibration offset and a slow drift of
their own (drawn per realization from the seed) and a display resolution. At-line assays are
drawn once a day (the recipe's sampling plan) and carry a relative or absolute assay error; their
results become available only after an analysis delay.

Figures are typical manufacturer specifications and analyser precisions (assumed, not from one
paper): pH probe +/- 0.01 noise, 0.01 resolution, +/- 0.02 left after calibration and a drift of
a few thousandths per day; Pt100 +/- 0.02 degC noise, +/- 0.05 degC calibration; optical DO
+/- 0.5 % air sat. noise, +/- 1 % calibration; load cell +/- 0.5 L; cell counter 5 % CV and
+/- 1.5 % viability; metabolite analyser 3-5 %; Protein A HPLC titre 4 % with results ~6 h
later; blood-gas pH +/- 0.02.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray, column
from pharmatwin.equipment.bioreactor.model import ChoFedBatch


@dataclass(frozen=True)
class OnlineSensor:
    """A probe read every control step.

    Attributes:
        tag: tag name as a plant historian would hold it.
        source: broth or totalizer quantity it reads (``T``, ``pH``, ``DO``, ``V``, ...).
        unit: engineering unit.
        noise_sd: standard deviation of white noise, in ``unit``.
        bias_sd: spread of the offset left after calibration, in ``unit``.
        drift_sd_per_day: spread of the probe's drift rate, ``unit`` per day.
        resolution: quantization step of the reading, in ``unit``.
    """

    tag: str
    source: str
    unit: str
    noise_sd: float
    bias_sd: float = 0.0
    drift_sd_per_day: float = 0.0
    resolution: float = 0.0


Calibration = tuple[FloatArray, FloatArray]
"""Offsets and drift rates (per h) of every sensor of every realization, each ``(n, members)``."""


class SensorBank:
    """Several online sensors read together: arrays are ``(n_sensors, members)``."""

    def __init__(self, sensors: tuple[OnlineSensor, ...]) -> None:
        self.sensors = sensors
        self.noise_sd = column(sensors, "noise_sd")
        self.bias_sd = column(sensors, "bias_sd")
        self.drift_sd_per_h = column(sensors, "drift_sd_per_day") / 24.0
        resolution = column(sensors, "resolution")
        self.quantized = resolution > 0
        self.step = np.where(self.quantized, resolution, 1.0)

    def index(self, source: str) -> int:
        return next(i for i, s in enumerate(self.sensors) if s.source == source)

    def calibrate(self, z: FloatArray) -> Calibration:
        """Each realization's offsets and drift rates from standard normal draws
        ``(2, n_sensors, members)``."""
        return self.bias_sd * z[0], self.drift_sd_per_h * z[1]

    def read(
        self,
        truth: FloatArray,
        t_h: float,
        noise: FloatArray,
        calibration: Calibration,
        fault: FloatArray,
    ) -> FloatArray:
        """Readings of every sensor and member at batch time ``t_h``.

        ``noise`` is standard normal; ``fault`` adds a fault's offset per sensor ``(n, 1)``.
        """
        bias, drift = calibration
        value = truth + bias + drift * t_h + fault + self.noise_sd * noise
        return np.asarray(
            np.where(self.quantized, np.round(value / self.step) * self.step, value), dtype=float
        )


@dataclass(frozen=True)
class AtLineAssay:
    """An at-line or off-line analysis of a sample.

    Attributes:
        tag, unit: as for an online sensor.
        source: model output measured.
        relative_sd: relative assay error (fraction), or 0.
        absolute_sd: absolute assay error in ``unit``, or 0.
        delay_h: time from drawing the sample to the result being available, h.
    """

    tag: str
    source: str
    unit: str
    relative_sd: float = 0.0
    absolute_sd: float = 0.0
    delay_h: float = 1.0

    def result(self, truth: FloatArray, noise: FloatArray) -> FloatArray:
        """Assay result of every member, never negative; ``noise`` is standard normal."""
        value = truth * (1.0 + self.relative_sd * noise) + self.absolute_sd * noise
        clipped: FloatArray = np.maximum(np.asarray(value, dtype=float), 0.0)
        return clipped


ONLINE: tuple[OnlineSensor, ...] = (
    OnlineSensor("BR01.TT101.PV", "T", "degC", noise_sd=0.02, bias_sd=0.05, resolution=0.01),
    OnlineSensor(
        "BR01.AT201.PV",
        "pH",
        "pH",
        noise_sd=0.01,
        bias_sd=0.02,
        drift_sd_per_day=0.003,
        resolution=0.01,
    ),
    OnlineSensor(
        "BR01.AT301.PV",
        "DO",
        "%",
        noise_sd=0.5,
        bias_sd=1.0,
        drift_sd_per_day=0.2,
        resolution=0.1,
    ),
    OnlineSensor("BR01.WT401.PV", "V", "L", noise_sd=0.5, bias_sd=1.0, resolution=0.1),
    OnlineSensor("BR01.FQ501.PV", "base_total", "L", noise_sd=0.0, resolution=0.01),
    OnlineSensor("BR01.FQ502.PV", "feed_total", "L", noise_sd=0.0, resolution=0.01),
)
"""Online instruments: temperature, pH, DO, weight (as volume), base and feed totalizers."""

AT_LINE: tuple[AtLineAssay, ...] = (
    AtLineAssay("BR01.VCD.LAB", "VCD", "1e6 cells/mL", relative_sd=0.05, delay_h=0.5),
    AtLineAssay("BR01.VIAB.LAB", "viability", "%", absolute_sd=1.5, delay_h=0.5),
    AtLineAssay("BR01.GLC.LAB", "glucose", "mM", relative_sd=0.03, delay_h=1.0),
    AtLineAssay("BR01.GLN.LAB", "glutamine", "mM", relative_sd=0.05, delay_h=1.0),
    AtLineAssay("BR01.LAC.LAB", "lactate", "mM", relative_sd=0.03, delay_h=1.0),
    AtLineAssay("BR01.NH4.LAB", "ammonia", "mM", relative_sd=0.05, delay_h=1.0),
    AtLineAssay("BR01.TITRE.LAB", "titre", "g/L", relative_sd=0.04, delay_h=6.0),
    AtLineAssay("BR01.PH.LAB", "pH", "pH", absolute_sd=0.02, delay_h=0.25),
)
"""At-line and off-line assays on each daily sample."""

_OUTPUT_OF_SOURCE = {"V": "volume"}
"""Sources that are states of the model but read through a differently named output."""


def model_output_read_by(tag: str) -> str | None:
    """The CHO model output an instrument or assay ``tag`` reads (``BR01.GLC.LAB`` ->
    ``glucose``, ``BR01.WT401.PV`` -> ``volume``), or None if the model has no such output
    (temperature, pH, DO and totalizers are inputs the twin takes, not outputs it predicts)."""
    sources = {s.tag: s.source for s in ONLINE} | {a.tag: a.source for a in AT_LINE}
    source = sources.get(tag)
    if source is None:
        return None
    name = _OUTPUT_OF_SOURCE.get(source, source)
    return name if name in ChoFedBatch.output_names() else None
