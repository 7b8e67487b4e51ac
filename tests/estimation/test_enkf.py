"""Ensemble Kalman filter and tracker on the CHO model with synthetic laboratory data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from pharmatwin.core.belief import Belief, prior, weighted_quantiles
from pharmatwin.core.recipe import Recipe
from pharmatwin.core.schedule import Schedule, compile_recipe
from pharmatwin.core.simulate import Trajectory, simulate
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.plant import draw_truth_parameters
from pharmatwin.estimation.enkf import EnsembleKalmanFilter
from pharmatwin.estimation.measurements import Measurement
from pharmatwin.estimation.propagate import schedule_propagator
from pharmatwin.estimation.tracker import Tracker

ESTIMATED = ("mu_max", "Y_X_glc", "m_glc", "q_mab", "kd_min", "Y_lac_glc")
ASSAYS = (("VCD", 0.05), ("glucose", 0.03), ("lactate", 0.03), ("titre", 0.04))


@dataclass
class Setup:
    model: ChoFedBatch
    schedule: Schedule
    truth: Trajectory
    truth_p: np.ndarray
    start: Belief


@pytest.fixture(scope="module")
def setup(nominal_recipe: Recipe) -> Setup:
    model = ChoFedBatch()
    schedule = compile_recipe(model, nominal_recipe)
    rng = np.random.default_rng(21)
    truth_p = draw_truth_parameters(model, model.default_parameters(1), rng, 1, 1.0)
    x0 = model.state_vector(nominal_recipe.initial_state)
    truth = simulate(model, schedule, x0, truth_p)
    start = prior(model, nominal_recipe.initial_state, 150, np.random.default_rng(3))
    return Setup(model, schedule, truth, truth_p, start)


def lab(setup: Setup, t: float, rng: np.random.Generator, delay: float = 0.0) -> list[Measurement]:
    k = int(np.searchsorted(setup.truth.t, t))
    y = setup.model.measure(setup.truth.x[k], setup.truth.u[k][None, :], setup.truth_p)[0]
    out = []
    for name, rel in ASSAYS:
        true = y[setup.model.output_index(name)]
        sd = max(rel * abs(true), 1e-3)
        value = true + sd * rng.standard_normal()
        out.append(Measurement(t, name, value, sd, tag=f"LAB.{name}", available_h=t + delay))
    return out


def tracker(setup: Setup) -> Tracker:
    enkf = EnsembleKalmanFilter(setup.model, ESTIMATED)
    return Tracker(
        estimator=enkf,
        propagate=schedule_propagator(setup.model, setup.schedule),
        inputs_at=setup.schedule.inputs_at,
        belief=setup.start,
        seed=5,
    )


def titre_now(setup: Setup, belief: Belief) -> np.ndarray:
    u = np.tile(setup.schedule.inputs_at(belief.t), (belief.members, 1))
    return setup.model.measure(belief.x, u, belief.p)[:, setup.model.output_index("titre")]


def test_assimilating_daily_lab_data_tracks_the_truth(setup: Setup) -> None:
    rng = np.random.default_rng(8)
    tr = tracker(setup)
    for day in range(1, 8):
        tr.assimilate(24.0 * day, lab(setup, 24.0 * day, rng))
    belief = tr.belief
    k = int(np.searchsorted(setup.truth.t, belief.t))
    true_vcd = setup.truth.x[k, 0, 0]
    estimate = float(np.median(belief.x[:, 0]))
    assert abs(estimate / true_vcd - 1) < 0.1
    # the data narrow what the twin believes about growth (log-spread of mu_max)
    j = setup.model.parameter_index("mu_max")
    prior_spread = float(np.std(np.log(setup.start.p[:, j])))
    posterior_spread = float(np.std(np.log(belief.p[:, j])))
    assert posterior_spread < 0.8 * prior_spread
    truth_in_band = np.quantile(belief.p[:, j], [0.01, 0.99])
    assert truth_in_band[0] <= setup.truth_p[0, j] <= truth_in_band[1]
    assert all(v.used for v in tr.verdicts)


def test_a_late_lab_result_gives_the_belief_it_would_have_given_on_time(setup: Setup) -> None:
    rng = np.random.default_rng(8)
    day1, day2 = lab(setup, 24.0, rng), lab(setup, 48.0, rng)
    on_time = tracker(setup)
    on_time.assimilate(24.0, day1)
    on_time.assimilate(48.0, day2)
    on_time.assimilate(50.0, [])
    late = tracker(setup)
    late.assimilate(24.0, [m for m in day1 if m.output != "titre"])
    late.assimilate(48.0, day2)
    delayed_titre = [
        Measurement(m.time_h, m.output, m.value, m.sd, m.tag, available_h=30.0)
        for m in day1
        if m.output == "titre"
    ]
    late.assimilate(50.0, delayed_titre)
    np.testing.assert_allclose(late.belief.x, on_time.belief.x, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(late.belief.p, on_time.belief.p, rtol=1e-9)


def test_outliers_and_missing_values_are_recorded_with_a_reason(setup: Setup) -> None:
    rng = np.random.default_rng(8)
    day1 = lab(setup, 24.0, rng)
    glucose = next(m for m in day1 if m.output == "glucose")
    wrong_unit = Measurement(24.0, "glucose", glucose.value * 1000, glucose.sd, tag="LAB.glc-mg")
    missing = Measurement(24.0, "lactate", float("nan"), 0.1, tag="LAB.lac-missing")
    tr = tracker(setup)
    before = tr.assimilate(24.0, [])
    after = tr.assimilate(24.0, [wrong_unit, missing])
    reasons = {v.measurement.tag: v.reason for v in tr.verdicts}
    assert reasons["LAB.glc-mg"].startswith("outlier")
    assert reasons["LAB.lac-missing"] == "missing value"
    np.testing.assert_allclose(after.x, before.x)  # nothing was used


def test_states_and_parameters_stay_within_bounds(setup: Setup) -> None:
    tr = tracker(setup)
    tiny = [Measurement(24.0, "glucose", 1e-6, 1e-3, tag="LAB.glc")]
    belief = tr.assimilate(24.0, tiny)
    lower, upper = setup.model.parameter_bounds()
    assert belief.x.min() >= 0.0
    assert np.all(belief.p >= lower) and np.all(belief.p <= upper)


def test_weighted_quantiles_match_plain_ones_for_equal_weights() -> None:
    values = np.random.default_rng(0).normal(size=(1001, 2))
    weights = np.full(1001, 1 / 1001)
    ours = weighted_quantiles(values, weights, [0.05, 0.5, 0.95])
    np.testing.assert_allclose(ours, np.quantile(values, [0.05, 0.5, 0.95], axis=0), atol=0.02)


def test_the_particle_filter_tracks_the_same_data(setup: Setup) -> None:
    from pharmatwin.estimation.particle import ParticleFilter

    rng = np.random.default_rng(8)
    pf = Tracker(
        estimator=ParticleFilter(setup.model, ESTIMATED),
        propagate=schedule_propagator(setup.model, setup.schedule),
        inputs_at=setup.schedule.inputs_at,
        belief=setup.start,
        seed=5,
    )
    for day in range(1, 6):
        pf.assimilate(24.0 * day, lab(setup, 24.0 * day, rng))
    belief = pf.belief
    assert np.isclose(belief.weights.sum(), 1.0)
    k = int(np.searchsorted(setup.truth.t, belief.t))
    estimate = float(belief.weights @ belief.x[:, 0])
    assert abs(estimate / setup.truth.x[k, 0, 0] - 1) < 0.15
    # resampling kept the parameters diverse (Liu-West shrinkage, not copies)
    assert len(np.unique(np.round(belief.p[:, 0], 12))) > belief.members // 2


def test_the_particle_filter_gates_and_skips_like_the_enkf(setup: Setup) -> None:
    from pharmatwin.estimation.particle import ParticleFilter

    pf = ParticleFilter(setup.model, ESTIMATED)
    u = np.tile(setup.schedule.inputs_at(0.0), (setup.start.members, 1))
    bad = [
        Measurement(0.0, "glucose", 35.0 * 1000, 1.0, tag="x1000"),
        Measurement(0.0, "lactate", float("nan"), 0.1, tag="nan"),
    ]
    belief, verdicts = pf.update(setup.start, u, bad, np.random.default_rng(0))
    assert [v.used for v in verdicts] == [False, False]
    assert verdicts[0].reason.startswith("outlier") and verdicts[1].reason == "missing value"
    np.testing.assert_allclose(belief.weights, setup.start.weights)


def test_the_particle_filters_model_error_keeps_more_members_alive(setup: Setup) -> None:
    from pharmatwin.estimation.particle import ParticleFilter, ParticleSettings

    rng = np.random.default_rng(9)
    belief = schedule_propagator(setup.model, setup.schedule)(setup.start, 72.0)
    u = np.tile(setup.schedule.inputs_at(72.0), (belief.members, 1))
    data = lab(setup, 72.0, rng)

    def effective_members(model_error_cv: float) -> float:
        settings = ParticleSettings(model_error_cv=model_error_cv, resample_below=0.0)
        pf = ParticleFilter(setup.model, ESTIMATED, settings)
        updated, _ = pf.update(belief, u, data, np.random.default_rng(0))
        return 1.0 / float(np.sum(updated.weights**2))

    exact, allowed = effective_members(0.0), effective_members(0.05)
    assert allowed > 1.5 * exact
    assert allowed < belief.members  # the data still count
