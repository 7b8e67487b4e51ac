"""Spectral pre-processing: SNV, Savitzky-Golay smoothing and derivatives, region selection,
mean-centring, and a frozen pipeline of them.

Methods as reviewed by Rinnan, van den Berg & Engelsen (2009, TrAC 28:1201): standard normal
variate (Barnes, Dhanoa & Lister 1989, Appl. Spectrosc. 43:772) removes each spectrum's offset
and multiplicative scale; Savitzky-Golay filters (Savitzky & Golay 1964, Anal. Chem. 36:1627)
smooth by a local polynomial fit and differentiate it, removing smooth baselines (a first
derivative removes an offset, a second a linear slope). Spectra are rows, wavenumbers columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import savgol_filter

from pharmatwin.core.types import BoolArray, FloatArray
from pharmatwin.monitoring.scaling import MonitoringInputError


class SpectraError(MonitoringInputError):
    """Spectra or pre-processing settings that cannot be used."""


def _as_spectra(x: FloatArray, name: str = "spectra") -> FloatArray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 2:
        raise SpectraError(f"{name}: expected (n_spectra, n_wavenumbers), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise SpectraError(f"{name}: holds NaN or infinite values")
    return a


def snv(x: FloatArray) -> FloatArray:
    """Standard normal variate: each row minus its mean, divided by its standard deviation
    (n - 1 in the denominator; Barnes et al. 1989, eq. 1)."""
    a = _as_spectra(x)
    if a.shape[1] < 2:
        raise SpectraError("spectra: SNV needs at least 2 wavenumbers")
    sd = a.std(axis=1, ddof=1, keepdims=True)
    if not (sd > 0).all():
        raise SpectraError("spectra: a flat spectrum has no SNV (standard deviation 0)")
    return np.asarray((a - a.mean(axis=1, keepdims=True)) / sd, dtype=float)


def savitzky_golay(
    x: FloatArray, window: int, polyorder: int, deriv: int = 0, delta: float = 1.0
) -> FloatArray:
    """Savitzky-Golay smoothing (``deriv`` 0) or derivative of each row.

    ``window`` (odd, points) and ``polyorder`` define the local polynomial; ``delta`` is the
    axis step (cm^-1), so a derivative is per cm^-1. Edges use a polynomial fit to the last
    window (no padding artefacts).
    """
    a = _as_spectra(x)
    if window < 3 or window % 2 == 0:
        raise SpectraError(f"window: must be an odd number >= 3, got {window}")
    if window > a.shape[1]:
        raise SpectraError(f"window: {window} points exceed the {a.shape[1]} wavenumbers")
    if not 0 <= polyorder < window:
        raise SpectraError(f"polyorder: must be in [0, window), got {polyorder}")
    if not 0 <= deriv <= polyorder:
        raise SpectraError(f"deriv: must be in [0, polyorder], got {deriv}")
    out = savgol_filter(a, window, polyorder, deriv=deriv, delta=delta, axis=1, mode="interp")
    return np.asarray(out, dtype=float)


def region_mask(wavenumbers: FloatArray, regions: Sequence[tuple[float, float]]) -> BoolArray:
    """True at the wavenumbers inside any of ``regions`` (inclusive ``(low, high)``, cm^-1)."""
    wn = np.asarray(wavenumbers, dtype=float)
    if not regions:
        raise SpectraError("regions: at least one (low, high) region is needed")
    mask = np.zeros(wn.shape, dtype=bool)
    for i, (low, high) in enumerate(regions):
        if not low < high:
            raise SpectraError(f"regions.{i}: low {low} must be below high {high}")
        mask |= (wn >= low) & (wn <= high)
    if not mask.any():
        raise SpectraError(f"regions: none of {list(regions)} covers any wavenumber")
    return mask


def select_region(
    wavenumbers: FloatArray, x: FloatArray, regions: Sequence[tuple[float, float]]
) -> tuple[FloatArray, FloatArray]:
    """The wavenumbers and columns of ``x`` inside ``regions``."""
    a = _as_spectra(x)
    wn = np.asarray(wavenumbers, dtype=float)
    if wn.shape != (a.shape[1],):
        raise SpectraError(f"wavenumbers: {wn.shape[0]} values for {a.shape[1]} columns")
    mask = region_mask(wn, regions)
    return wn[mask], a[:, mask]


def mean_center(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Columns minus their mean; returns the centred data and the mean spectrum."""
    a = _as_spectra(x)
    mean = a.mean(axis=0)
    return a - mean, mean


@dataclass(frozen=True)
class Preprocessing:
    """A pre-processing pipeline: Savitzky-Golay on the full axis (so that region edges see no
    filter edge effects), then region selection, then (optionally) SNV. Mean-centring is left
    to the model's scaling (fitted on the calibration set).

    Attributes:
        regions: wavenumber regions kept, cm^-1, each ``(low, high)``.
        window: Savitzky-Golay window, points (odd), or 0 for no filter.
        polyorder: Savitzky-Golay polynomial order.
        deriv: derivative order (0: smoothing only).
        use_snv: apply SNV after region selection (off by default: on the virtual
            bioreactor's fluorescence-dominated Raman spectra it cross-validated worse, its
            divisor following the noise and the analytes rather than the laser power).
    """

    regions: tuple[tuple[float, float], ...] = ((800.0, 1500.0),)
    window: int = 15
    polyorder: int = 2
    deriv: int = 1
    use_snv: bool = False

    def __post_init__(self) -> None:
        if not self.regions:
            raise SpectraError("regions: at least one (low, high) region is needed")
        for i, (low, high) in enumerate(self.regions):
            if not low < high:
                raise SpectraError(f"regions.{i}: low {low} must be below high {high}")
        if self.window:
            if self.window < 3 or self.window % 2 == 0:
                raise SpectraError(f"window: must be 0 or an odd number >= 3, got {self.window}")
            if not 0 <= self.deriv <= self.polyorder < self.window:
                raise SpectraError(
                    f"polyorder/deriv: need 0 <= deriv <= polyorder < window, got "
                    f"{self.deriv}, {self.polyorder}, {self.window}"
                )

    def apply(self, wavenumbers: FloatArray, spectra: FloatArray) -> FloatArray:
        """Pre-processed spectra ``(n, n_kept)`` of raw ``spectra`` ``(n, w)``."""
        a = _as_spectra(spectra)
        wn = np.asarray(wavenumbers, dtype=float)
        if wn.shape != (a.shape[1],):
            raise SpectraError(f"wavenumbers: {wn.shape[0]} values for {a.shape[1]} columns")
        if self.window:
            step = float(np.median(np.diff(wn))) if len(wn) > 1 else 1.0
            a = savitzky_golay(a, self.window, self.polyorder, self.deriv, delta=step)
        _, a = select_region(wn, a, self.regions)
        return snv(a) if self.use_snv else a

    def kept(self, wavenumbers: FloatArray) -> FloatArray:
        """The wavenumbers the pipeline keeps."""
        wn = np.asarray(wavenumbers, dtype=float)
        return wn[region_mask(wn, self.regions)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "regions": [list(r) for r in self.regions],
            "window": self.window,
            "polyorder": self.polyorder,
            "deriv": self.deriv,
            "use_snv": self.use_snv,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        try:
            regions = tuple((float(lo), float(hi)) for lo, hi in data["regions"])
            return cls(
                regions=regions,
                window=int(data["window"]),
                polyorder=int(data["polyorder"]),
                deriv=int(data["deriv"]),
                use_snv=bool(data["use_snv"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SpectraError):
                raise
            raise SpectraError(f"preprocessing: not a pre-processing document ({exc})") from None
