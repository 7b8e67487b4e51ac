"""In-line Raman spectra of the virtual bioreactor, computed from a plant run's true states.

A spectrum is the sum of each component's bands (``raman_bands.py``; Lorentzian, intensity
proportional to the component's true concentration), plus a fluorescence baseline, seen through
an instrument whose laser power and wavenumber axis drift, and read with shot noise:

    S(nu) = P(t) A(t) [ sum_c c_c(t) k_c sum_b h_b L(nu - delta(t); nu_b, w_b) + F(t) B(nu) ]
            + sqrt(S + r^2) z,

with ``P`` the laser power (a per-batch offset plus a random walk), ``A = exp(-a X)`` the loss
of collected light to scattering by ``X`` total cells (1e6 cells/mL), ``delta`` the wavenumber
axis offset (a per-batch offset plus a linear drift), ``F = F0 + f X_total + g titre`` the
fluorescence that grows with the biomass and the secreted protein over the batch, ``B`` its
smooth spectral shape (a quadratic with a per-batch tilt and bend), ``r`` the detector's read
noise in counts and ``z`` standard normal (Poisson shot noise in its Gaussian limit). Figures
are assumed, of the size seen with 785 nm process Raman analysers in CHO cultures (a
fluorescence background many times the analyte bands, growing through the batch; Abu-Absi et
al. 2011, Biotechnol. Bioeng. 108:1215; Berry et al. 2015, Biotechnol. Prog. 31:566). The laser
power is taken as held by the analyser's own power monitoring to 1 % between batches and
0.5 % per square root of a day within one: a multiplicative error of a few per cent is not
removed by SNV or MSC on these fluorescence-dominated spectra (measured while building the
soft sensor) and becomes a per-batch bias of the predictions.

Axis: 400-1800 cm^-1 every 2 cm^-1 (701 points) by default - the fingerprint region where the
glucose, lactate, glutamine and protein bands lie. Units: counts (per accumulated exposure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.raman_bands import COMPONENTS, Component
from pharmatwin.equipment.bioreactor.records import PlantRun

DRIVERS = ("glucose", "lactate", "glutamine", "titre", "cells")
"""Truths that drive the spectra: model outputs, and ``cells`` (viable + dead, 1e6/mL)."""


@dataclass(frozen=True)
class RamanInstrument:
    """The analyser, its probe and its drifts.

    Attributes:
        start_cm, stop_cm, step_cm: wavenumber axis, cm^-1.
        fluorescence_medium: fluorescence of the fresh medium, counts.
        fluorescence_per_cells: added per 1e6 total cells/mL, counts.
        fluorescence_per_titre: added per g/L of secreted protein, counts.
        baseline_tilt_sd, baseline_bend_sd: per-batch spread of the baseline's linear and
            quadratic terms over the axis scaled to [-1, 1] (fractions of its mean).
        attenuation_per_cells: light lost to scattering per 1e6 total cells/mL (fraction).
        power_offset_sd: per-batch spread of the laser power at the probe (fraction).
        power_walk_sd_per_day: laser power random walk, fraction per square root of a day.
        shift_offset_sd_cm: per-batch spread of the wavenumber axis offset, cm^-1.
        shift_drift_sd_cm_per_day: per-batch spread of the axis drift rate, cm^-1 per day.
        medium_sd: per-batch spread of the basal medium's band intensity (fraction).
        read_noise: detector read noise per accumulation, counts.
        accumulations: exposures summed into one spectrum (signal grows with their number,
            shot noise with its square root). Band heights and fluorescence are per exposure.
    """

    start_cm: float = 400.0
    stop_cm: float = 1800.0
    step_cm: float = 2.0
    fluorescence_medium: float = 2.0e4
    fluorescence_per_cells: float = 1.5e3
    fluorescence_per_titre: float = 3.0e3
    baseline_tilt_sd: float = 0.15
    baseline_bend_sd: float = 0.10
    attenuation_per_cells: float = 0.005
    power_offset_sd: float = 0.01
    power_walk_sd_per_day: float = 0.005
    shift_offset_sd_cm: float = 0.3
    shift_drift_sd_cm_per_day: float = 0.05
    medium_sd: float = 0.02
    read_noise: float = 15.0
    accumulations: int = 30

    def __post_init__(self) -> None:
        if not self.step_cm > 0:
            raise ValueError(f"step_cm: must be positive, got {self.step_cm}")
        if not self.stop_cm > self.start_cm + self.step_cm:
            raise ValueError(
                f"stop_cm: {self.stop_cm} must exceed start_cm {self.start_cm} by a step"
            )
        if not self.accumulations >= 1:
            raise ValueError(f"accumulations: must be at least 1, got {self.accumulations}")
        for name in ("fluorescence_medium", "read_noise", "attenuation_per_cells"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be non-negative, got {getattr(self, name)}")

    def wavenumbers(self) -> FloatArray:
        """The axis, cm^-1."""
        n = round((self.stop_cm - self.start_cm) / self.step_cm) + 1
        return self.start_cm + self.step_cm * np.arange(n, dtype=float)


def raman_spectra(
    run: PlantRun,
    every_h: float,
    rng: np.random.Generator,
    instrument: RamanInstrument | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Spectra of every member of ``run`` every ``every_h`` hours from 0 to harvest.

    Returns batch times ``(n,)`` h, wavenumbers ``(w,)`` cm^-1 and spectra
    ``(n, members, w)`` counts.
    """
    if not every_h > 0:
        raise ValueError(f"every_h: must be positive, got {every_h}")
    times = np.arange(0.0, float(run.t[-1]) + 1e-9, every_h)
    inst = instrument or RamanInstrument()
    wavenumbers = inst.wavenumbers()
    spectra = synthesize(times, broth_at(run, times), rng, inst)
    return times, wavenumbers, spectra


def broth_at(run: PlantRun, times: FloatArray) -> dict[str, FloatArray]:
    """The true drivers of the spectra at ``times`` (linear between the run's coupling
    times): ``DRIVERS`` -> ``(n, members)``."""
    t = run.t
    if times.size and (times.min() < t[0] - 1e-9 or times.max() > t[-1] + 1e-9):
        raise ValueError(f"times: must lie within the run, {t[0]:g}-{t[-1]:g} h")
    k = np.clip(np.searchsorted(t, times, side="right") - 1, 0, len(t) - 2)
    w = np.clip((times - t[k]) / (t[k + 1] - t[k]), 0.0, 1.0)[:, None]

    def at(series: FloatArray) -> FloatArray:
        return np.asarray(series[k] * (1.0 - w) + series[k + 1] * w, dtype=float)

    out = {name: at(run.output(name)) for name in DRIVERS if name != "cells"}
    out["cells"] = at(run.state("Xv") + run.state("Xd"))
    return out


def pure_spectrum(comp: Component, wavenumbers: FloatArray) -> FloatArray:
    """A component's spectrum per unit of its driver, counts, on ``wavenumbers``."""
    return comp.counts_per_unit * _bands(comp, np.asarray(wavenumbers, dtype=float))


def synthesize(
    times: FloatArray,
    drivers: dict[str, FloatArray],
    rng: np.random.Generator,
    instrument: RamanInstrument,
) -> FloatArray:
    """Spectra ``(n, members, w)`` from drivers ``(n, members)`` at ``times`` (h)."""
    missing = set(DRIVERS) - set(drivers)
    if missing:
        raise ValueError(f"drivers: missing {', '.join(sorted(missing))}")
    inst = instrument
    n, members = (int(v) for v in drivers["glucose"].shape)
    wn = inst.wavenumbers()
    days = np.asarray(times, dtype=float)[:, None] / 24.0
    # per-batch instrument state, then its drift over the batch
    shift = inst.shift_offset_sd_cm * rng.standard_normal(members)
    shift = shift + inst.shift_drift_sd_cm_per_day * rng.standard_normal(members) * days
    walk = (
        np.cumsum(rng.standard_normal((n, members)), axis=0)
        * np.sqrt(np.diff(days[:, 0], prepend=0.0))[:, None]
    )
    power = (1.0 + inst.power_offset_sd * rng.standard_normal(members)) * np.exp(
        inst.power_walk_sd_per_day * walk
    )
    medium = 1.0 + inst.medium_sd * rng.standard_normal(members)
    tilt = inst.baseline_tilt_sd * rng.standard_normal(members)
    bend = inst.baseline_bend_sd * rng.standard_normal(members)
    # bands on the shifted axis: a band at nu_b appears at nu_b + delta
    axis = wn[None, None, :] - shift[:, :, None]
    raman = np.zeros((n, members, len(wn)))
    for comp in COMPONENTS:
        level = _level(comp, drivers, medium)
        raman += np.broadcast_to(level, (n, members))[:, :, None] * pure_spectrum(comp, axis)
    cells = drivers["cells"]
    fluorescence = (
        inst.fluorescence_medium
        + inst.fluorescence_per_cells * cells
        + inst.fluorescence_per_titre * drivers["titre"]
    )
    x = (wn - 0.5 * (wn[0] + wn[-1])) / (0.5 * (wn[-1] - wn[0]))
    shape = 1.0 + 0.3 * x[None, :] + tilt[:, None] * x + bend[:, None] * (x**2 - 1.0 / 3.0)
    baseline = fluorescence[:, :, None] * np.maximum(shape, 0.05)[None, :, :]
    gain = inst.accumulations * power * np.exp(-inst.attenuation_per_cells * cells)
    signal = gain[:, :, None] * (raman + baseline)
    noise = np.sqrt(np.maximum(signal, 0.0) + inst.accumulations * inst.read_noise**2)
    spectra: FloatArray = signal + noise * rng.standard_normal(signal.shape)
    return spectra


def _level(
    comp: Component, drivers: dict[str, FloatArray], medium: FloatArray
) -> FloatArray | float:
    """How much of ``comp`` there is: its driver, or the batch's medium strength, or 1."""
    if comp.name == "medium":
        return medium
    if comp.driver == "constant":
        return 1.0
    return np.maximum(drivers[comp.driver], 0.0)


def _bands(comp: Component, axis: FloatArray) -> FloatArray:
    """Sum of the component's Lorentzian bands (height 1 at the maximum) on ``axis``."""
    total = np.zeros(axis.shape)
    for b in comp.bands:
        half = 0.5 * b.fwhm
        total += b.height * half**2 / ((axis - b.center) ** 2 + half**2)
    return total
