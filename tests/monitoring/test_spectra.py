"""Spectral pre-processing: SNV, Savitzky-Golay, region selection, mean-centring, pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pharmatwin.monitoring.scaling import MonitoringInputError
from pharmatwin.monitoring.spectra import (
    Preprocessing,
    SpectraError,
    mean_center,
    region_mask,
    savitzky_golay,
    select_region,
    snv,
)

WN = np.arange(400.0, 1802.0, 2.0)


def bands(centers: list[float], heights: list[float]) -> np.ndarray:
    return sum(
        (h * np.exp(-0.5 * ((WN - c) / 8.0) ** 2) for c, h in zip(centers, heights, strict=True)),
        np.zeros_like(WN),
    )


def test_snv_rows_have_mean_0_and_sd_1_and_ignore_offset_and_scale() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(100.0, 20.0, (6, WN.size))
    z = snv(x)
    assert np.allclose(z.mean(axis=1), 0.0, atol=1e-12)
    assert np.allclose(z.std(axis=1, ddof=1), 1.0)
    scaled = 3.0 * x + 50.0
    assert np.allclose(snv(scaled), z)


def test_snv_refuses_flat_and_non_finite_spectra() -> None:
    with pytest.raises(SpectraError, match="flat"):
        snv(np.ones((2, 10)))
    bad = np.ones((2, 10))
    bad[0, 3] = np.nan
    with pytest.raises(SpectraError, match="NaN"):
        snv(bad)
    with pytest.raises(MonitoringInputError, match="spectra"):
        snv(np.ones(10))


@pytest.mark.parametrize("deriv", [0, 1, 2, 3])
def test_savitzky_golay_is_exact_on_a_cubic_including_the_edges(deriv: int) -> None:
    u = (WN - 1100.0) / 100.0
    y = 2.0 + 0.5 * u - 0.3 * u**2 + 0.05 * u**3  # a cubic in wavenumber
    exact = [
        y,
        (0.5 - 0.6 * u + 0.15 * u**2) / 100.0,
        (-0.6 + 0.3 * u) / 100.0**2,
        np.full_like(u, 0.3 / 100.0**3),
    ][deriv]
    got = savitzky_golay(np.stack([y, 2 * y]), window=11, polyorder=3, deriv=deriv, delta=2.0)
    assert np.allclose(got[0], exact, rtol=1e-8, atol=1e-12)
    assert np.allclose(got[1], 2 * exact, rtol=1e-8, atol=1e-12)


def test_savitzky_golay_smooths_noise() -> None:
    rng = np.random.default_rng(1)
    clean = bands([1000.0], [100.0])
    noisy = clean + rng.normal(0.0, 5.0, (20, WN.size))
    smooth = savitzky_golay(noisy, window=9, polyorder=2)
    assert np.std(smooth - clean) < 0.7 * np.std(noisy - clean)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window": 10, "polyorder": 2}, "window"),
        ({"window": 1, "polyorder": 0}, "window"),
        ({"window": 5, "polyorder": 5}, "polyorder"),
        ({"window": 5, "polyorder": 2, "deriv": 3}, "deriv"),
        ({"window": 1001, "polyorder": 2}, "window"),
    ],
)
def test_savitzky_golay_names_bad_settings(kwargs: dict[str, int], field: str) -> None:
    with pytest.raises(SpectraError, match=field):
        savitzky_golay(np.ones((1, WN.size)), **kwargs)


def test_region_selection_keeps_the_regions_inclusive() -> None:
    x = np.tile(WN, (3, 1))
    wn, kept = select_region(WN, x, [(800.0, 810.0), (1500.0, 1504.0)])
    assert wn.tolist() == [800.0, 802.0, 804.0, 806.0, 808.0, 810.0, 1500.0, 1502.0, 1504.0]
    assert np.array_equal(kept[0], wn)
    with pytest.raises(SpectraError, match=r"regions\.0"):
        region_mask(WN, [(900.0, 800.0)])
    with pytest.raises(SpectraError, match="regions"):
        region_mask(WN, [(5000.0, 6000.0)])
    with pytest.raises(SpectraError, match="wavenumbers"):
        select_region(WN[:-1], x, [(800.0, 900.0)])


def test_mean_center_returns_centred_columns_and_the_mean() -> None:
    x = np.array([[1.0, 2.0, 3.0], [3.0, 6.0, 9.0]])
    centred, mean = mean_center(x)
    assert np.allclose(mean, [2.0, 4.0, 6.0])
    assert np.allclose(centred.mean(axis=0), 0.0)
    assert np.allclose(centred + mean, x)


def test_the_pipeline_removes_baselines_and_keeps_the_bands() -> None:
    spectrum = bands([1000.0, 1125.0], [50.0, 80.0])
    slope = 500.0 + 0.3 * (WN - 400.0)  # an offset and a linear baseline
    x = np.stack([spectrum, spectrum + slope])
    second = Preprocessing(regions=((900.0, 1200.0),), window=11, polyorder=2, deriv=2)
    out = second.apply(WN, x)
    assert out.shape == (2, second.kept(WN).size)
    assert np.allclose(out[0], out[1], atol=1e-9)
    first = Preprocessing(regions=((900.0, 1200.0),), window=11, polyorder=2, deriv=1)
    plain = first.apply(WN, np.stack([spectrum, spectrum + 500.0]))
    assert np.allclose(plain[0], plain[1], atol=1e-9)  # an offset does not survive a derivative
    # the second derivative is most negative at the band centres
    kept = second.kept(WN)
    assert abs(kept[int(np.argmin(out[0]))] - 1125.0) <= 2.0
    with_snv = Preprocessing(regions=((900.0, 1200.0),), deriv=1, use_snv=True).apply(WN, x)
    assert np.allclose(with_snv.std(axis=1, ddof=1), 1.0)


def test_the_pipeline_round_trips_through_json_and_names_bad_fields() -> None:
    p = Preprocessing(regions=((800.0, 1000.0), (1100.0, 1500.0)), window=21, polyorder=3, deriv=2)
    assert Preprocessing.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    with pytest.raises(SpectraError, match="window"):
        Preprocessing(window=4)
    with pytest.raises(SpectraError, match="polyorder/deriv"):
        Preprocessing(window=5, polyorder=1, deriv=2)
    with pytest.raises(SpectraError, match="regions"):
        Preprocessing(regions=())
    with pytest.raises(SpectraError, match="preprocessing"):
        Preprocessing.from_dict({"regions": [[800, 900]]})
