"""Batch evolution and batch level models on synthetic batches with known structure."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.monitoring.batch_models import (
    BatchEvolutionModel,
    chi2_limit,
    fit_bem,
    fit_blm,
    hotelling_limit,
    window_sum,
)
from pharmatwin.monitoring.scaling import MonitoringInputError

BINS = 60
NAMES = ("time-like", "wave", "follows-wave", "batch-level")


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Batches ``(n, BINS, 4)``: a trend, a wave with a batch-level level, a variable that
    follows the wave closely, a batch-level offset; and a quality driven by them. The
    batch-to-batch spread is the same at every bin (as the pooled limits assume)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, BINS)
    amp = 1.0 + 0.2 * rng.standard_normal((n, 1))
    offset = 0.5 * rng.standard_normal((n, 1))
    wave = np.sin(2 * np.pi * t) + amp + 0.05 * rng.standard_normal((n, BINS))
    x = np.stack(
        [
            10 * t + 0.1 * rng.standard_normal((n, BINS)),
            wave,
            0.8 * wave + 0.05 * rng.standard_normal((n, BINS)),
            offset + 0.05 * rng.standard_normal((n, BINS)),
        ],
        axis=2,
    )
    quality = 3.0 * amp[:, 0] - 1.0 * offset[:, 0] + 0.05 * rng.standard_normal(n)
    return x, quality


@pytest.fixture(scope="module")
def model() -> BatchEvolutionModel:
    x, _ = synthetic(40, seed=1)
    return fit_bem(x, 2, variables=NAMES, alpha=0.99, window=5)


def test_window_sum_and_limits_helpers() -> None:
    np.testing.assert_allclose(window_sum(np.arange(5.0), 1), [1, 3, 6, 9, 7])
    # a chi-squared variable with 3 dof has mean 3 and variance 6: the moment fit is exact
    assert chi2_limit(np.array([3.0]), np.array([6.0]), 0.95)[0] == pytest.approx(7.8147, 1e-4)
    # a = 1: the T² limit of a new observation is (n + 1)/n * t² of n - 1 dof
    assert hotelling_limit(1, 10, 0.95) == pytest.approx(11 / 10 * 2.2622**2, rel=1e-3)


def test_good_batches_stay_within_the_limits(model: BatchEvolutionModel) -> None:
    new, _ = synthetic(60, seed=2)
    stats = model.evaluate(new)
    assert stats.t2.shape == (60, BINS)
    over = stats.exceeded()
    # 99 % limits: about 1 % expected, more or less as the 40 training batches happen to
    # spread (over ten training sets, 0.2 % to 4 %)
    assert over["t2"].mean() < 0.05
    assert over["spe"].mean() < 0.05
    inside = np.abs(stats.scores - stats.score_mean) < 3 * stats.score_sd
    assert inside.mean() > 0.98


def test_contributions_sum_to_their_statistic(model: BatchEvolutionModel) -> None:
    new, _ = synthetic(5, seed=3)
    stats = model.evaluate(new)
    np.testing.assert_allclose(stats.t2_contributions.sum(axis=-1), stats.t2, rtol=1e-9)
    np.testing.assert_allclose(stats.spe_contributions.sum(axis=-1), stats.spe, rtol=1e-9)


def test_a_broken_correlation_shows_in_the_residual_statistic(
    model: BatchEvolutionModel,
) -> None:
    new, _ = synthetic(10, seed=4)
    new[:, 30:, 2] += 0.3  # the follower leaves the wave: a new kind of variation
    stats = model.evaluate(new)
    assert stats.exceeded()["spe"][:, 32:].mean() > 0.9
    assert stats.exceeded()["spe"][:, :30].mean() < 0.1
    top = stats.relative("spe")[:, 35].argmax(axis=-1)
    # the pair whose relation broke; mostly the one that moved (contributions of correlated
    # variables smear: Westerhuis et al. 2000)
    assert set(top.tolist()) <= {1, 2}
    assert (top == 2).mean() >= 0.7


def test_a_shift_of_a_batch_level_variable_shows_and_is_named(
    model: BatchEvolutionModel,
) -> None:
    new, _ = synthetic(10, seed=5)
    new[:, 20:, 3] += 3.0  # six standard deviations of the batch-level offset
    stats = model.evaluate(new)
    over = stats.exceeded()
    assert (over["t2"] | over["spe"])[:, 25:].all()
    for s in ("t2", "spe"):
        flagged = over[s][:, 25]
        if flagged.any():
            assert (stats.relative(s)[flagged, 25].argmax(axis=-1) == 3).all()


def test_missing_values_are_taken_at_the_bin_mean(model: BatchEvolutionModel) -> None:
    new, _ = synthetic(1, seed=6)
    full = model.evaluate(new)
    gap = new.copy()
    gap[0, 10, 1] = np.nan
    empty = new.copy()
    empty[0, 11] = np.nan
    part = model.evaluate(gap)
    assert part.spe_contributions[0, 10, 1] == 0.0
    assert np.isfinite(part.t2[0, 10])
    np.testing.assert_allclose(part.t2[0, 12:], full.t2[0, 12:])
    assert np.isnan(model.evaluate(empty).t2[0, 11])


def test_selected_bins_are_scored_like_the_whole_batch(model: BatchEvolutionModel) -> None:
    new, _ = synthetic(1, seed=7)
    whole = model.evaluate(new[0])
    some = model.evaluate(new[0, [5, 40]], np.array([5, 40]))
    np.testing.assert_allclose(some.t2, whole.t2[[5, 40]])
    np.testing.assert_allclose(some.spe_limit, whole.spe_limit[[5, 40]])


def test_the_spe_statistic_has_moment_limits_that_hold_for_new_batches() -> None:
    x, _ = synthetic(40, seed=8)
    spe_model = fit_bem(x, 2, residuals="spe", alpha=0.99, window=5)
    assert spe_model.statistic_name("spe") == "SPE"
    new, _ = synthetic(60, seed=9)
    assert spe_model.evaluate(new).exceeded()["spe"].mean() < 0.05


def test_precision_widens_the_limits_of_a_variable_held_tighter_than_it_matters() -> None:
    x, _ = synthetic(40, seed=10)
    plain = fit_bem(x, 2, alpha=0.99, window=5)
    floored = fit_bem(x, 2, alpha=0.99, window=5, precision=np.array([0.0, 0.0, 0.0, 1.0]))
    new, _ = synthetic(5, seed=11)
    new[:, :, 3] += 0.5  # one standard deviation of the offset, half its stated precision
    assert floored.evaluate(new).t2.mean() < plain.evaluate(new).t2.mean()


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"n_components": 0}, "n_components"),
        ({"alpha": 1.5}, "alpha"),
        ({"window": -1}, "window"),
        ({"maturity": np.zeros(BINS)}, "maturity"),
        ({"variables": ("a",)}, "variables"),
        ({"precision": np.ones(3)}, "precision"),
        ({"residuals": "dmodx"}, "residuals"),
    ],
)
def test_bad_settings_are_named(kwargs: dict[str, object], word: str) -> None:
    x, _ = synthetic(10, seed=12)
    with pytest.raises(MonitoringInputError, match=word):
        fit_bem(x, **kwargs)  # type: ignore[arg-type]


def test_bad_observations_are_named(model: BatchEvolutionModel) -> None:
    with pytest.raises(MonitoringInputError, match="variables"):
        model.evaluate(np.zeros((BINS, 3)))
    with pytest.raises(MonitoringInputError, match="bins"):
        model.evaluate(np.zeros((1, 4)), np.array([BINS]))


def test_the_batch_level_model_predicts_quality_of_new_batches() -> None:
    x, q = synthetic(40, seed=13)
    blm = fit_blm(x, q, 2, variables=NAMES, quality_names=("quality",))
    new, q_new = synthetic(30, seed=14)
    predicted = blm.predict(new)[:, 0]
    rmsep = float(np.sqrt(np.mean((predicted - q_new) ** 2)))
    assert rmsep < 0.3 * float(np.std(q_new))
    assert blm.t2(new).shape == (30,)
    with pytest.raises(MonitoringInputError, match="shape"):
        blm.predict(new[:, :10])
    with pytest.raises(MonitoringInputError, match="quality"):
        fit_blm(x, q[:5])
