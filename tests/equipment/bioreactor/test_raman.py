"""The virtual bioreactor's Raman spectra: bands where declared, intensity with concentration,
fluorescence growing through the batch, reproducible from the seed."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.raman import (
    DRIVERS,
    RamanInstrument,
    pure_spectrum,
    raman_spectra,
    synthesize,
)
from pharmatwin.equipment.bioreactor.raman_bands import COMPONENTS, component
from tests.conftest import plant_run

STILL = RamanInstrument(
    shift_offset_sd_cm=0.0,
    shift_drift_sd_cm_per_day=0.0,
    power_offset_sd=0.0,
    power_walk_sd_per_day=0.0,
    baseline_tilt_sd=0.0,
    baseline_bend_sd=0.0,
    medium_sd=0.0,
)
"""An analyser without drifts: two spectra differ only by the broth and the shot noise."""


def broth(**levels: float) -> dict[str, FloatArray]:
    """Drivers for one spectrum of one member: everything 0 unless given."""
    return {name: np.array([[levels.get(name, 0.0)]]) for name in DRIVERS}


def spectrum(seed: int = 0, instrument: RamanInstrument = STILL, **levels: float) -> FloatArray:
    rng = np.random.default_rng(seed)
    out: FloatArray = synthesize(np.array([24.0]), broth(**levels), rng, instrument)[0, 0]
    return out


def test_each_declared_band_peaks_where_declared() -> None:
    wn = STILL.wavenumbers()
    assert wn[0] == 400.0 and wn[-1] == 1800.0 and np.allclose(np.diff(wn), 2.0)
    for comp in COMPONENTS:
        pure = pure_spectrum(comp, wn)
        for band in comp.bands:
            if band.fwhm > 60 or not 410.0 < band.center < 1790.0:
                continue  # the broad water bands merge with their neighbours
            near = np.abs(wn - band.center) <= 6.0
            peak = wn[near][int(np.argmax(pure[near]))]
            # neighbouring bands may pull a maximum by a few cm^-1, never further
            assert abs(peak - band.center) <= 4.0, (comp.name, band.center, peak)
            assert pure[near].max() > pure[np.abs(wn - band.center - 0.5 * band.fwhm) < 1.5].max()


def test_glucose_adds_its_bands_in_proportion_to_its_concentration() -> None:
    wn = STILL.wavenumbers()
    blank = spectrum(glucose=0.0)
    twenty = spectrum(glucose=20.0) - blank  # same noise draws: the difference is glucose
    forty = spectrum(glucose=40.0) - blank
    k = {c: int(np.argmin(np.abs(wn - c))) for c in (1125.0, 1065.0, 911.0, 1000.0, 1700.0)}
    # the strongest glucose band, where it is declared, at 40 counts per mM per exposure
    assert abs(wn[int(np.argmax(forty))] - 1125.0) <= 2.0
    per_mm = forty[k[1125.0]] / 40.0 / STILL.accumulations
    assert per_mm == pytest.approx(component("glucose").counts_per_unit, rel=0.05)
    # linear in concentration (within the shot noise of the difference)
    assert forty[k[1125.0]] == pytest.approx(2.0 * twenty[k[1125.0]], rel=0.05)
    # the other declared bands stand out, a place without a glucose band does not
    for c in (1065.0, 911.0):
        assert forty[k[c]] > 10 * abs(forty[k[1700.0]])


def test_lactate_bands_at_855_and_1040() -> None:
    wn = STILL.wavenumbers()
    diff = spectrum(lactate=30.0) - spectrum(lactate=0.0)
    low = (wn > 820) & (wn < 890)
    mid = (wn > 1020) & (wn < 1060)
    assert abs(wn[low][np.argmax(diff[low])] - 857.0) <= 2.0
    assert abs(wn[mid][np.argmax(diff[mid])] - 1043.0) <= 2.0


def test_fluorescence_and_noise_grow_with_the_cells() -> None:
    few = np.stack([spectrum(seed=s, cells=1.0) for s in range(5)])
    many = np.stack([spectrum(seed=s, cells=20.0) for s in range(5)])
    assert many.mean() > 1.5 * few.mean()  # fluorescence from the biomass
    # shot noise: the spread of repeated spectra grows with the signal
    assert many.std(axis=0).mean() > 1.2 * few.std(axis=0).mean()


def test_spectra_of_a_plant_run_follow_its_truth_and_repeat_with_the_seed() -> None:
    run = plant_run("nominal")
    times, wn, spectra = raman_spectra(run, 6.0, np.random.default_rng(3))
    assert times[0] == 0.0 and times[-1] == pytest.approx(float(run.t[-1]))
    assert np.allclose(np.diff(times), 6.0)
    assert spectra.shape == (times.size, run.members, wn.size)
    again = raman_spectra(run, 6.0, np.random.default_rng(3))[2]
    assert np.array_equal(spectra, again)
    other = raman_spectra(run, 6.0, np.random.default_rng(4))[2]
    assert not np.allclose(spectra, other)
    # the fluorescence baseline rises through the batch as the cells grow
    assert spectra[-1, 0].mean() > 1.5 * spectra[0, 0].mean()
    # lactate rises from 1 to ~30 mM: the second derivative at its 857 band deepens
    second = np.diff(spectra[:, 0], n=2, axis=1)
    k = int(np.argmin(np.abs(wn[1:-1] - 857.0)))
    assert second[-1, k] < second[0, k] - 50.0


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="every_h"):
        raman_spectra(plant_run("nominal"), 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="step_cm"):
        RamanInstrument(step_cm=0.0)
    with pytest.raises(ValueError, match="accumulations"):
        RamanInstrument(accumulations=0)
    with pytest.raises(ValueError, match="component"):
        component("ethanol")
    with pytest.raises(ValueError, match="drivers"):
        synthesize(np.array([0.0]), {"glucose": np.zeros((1, 1))}, np.random.default_rng(0), STILL)
