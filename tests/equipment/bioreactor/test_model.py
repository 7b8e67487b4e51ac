"""The CHO model: an analytic case, a conserved quantity, agreement with scipy's solve_ivp."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.core.integrate import Tolerances
from pharmatwin.core.recipe import Recipe
from pharmatwin.core.reference import solve_members
from pharmatwin.core.schedule import compile_recipe
from pharmatwin.core.simulate import simulate
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.plant import draw_truth_parameters

START = {
    "Xv": 0.5,
    "Xd": 0.0,
    "Glc": 1e4,
    "Gln": 1e4,
    "Lac": 0.0,
    "Amm": 0.0,
    "mAb": 0.0,
    "V": 1000.0,
}


def batch_recipe(initial: dict[str, float], hours: float = 120.0) -> Recipe:
    return Recipe.model_validate(
        {
            "name": "batch",
            "initial_state": initial,
            "phases": [
                {"name": "run", "start_h": 0, "setpoints": {"T": 36.5, "pH": 7.0, "DO": 40.0}}
            ],
            "harvest_h": hours,
        }
    )


def test_unlimited_exponential_growth_is_analytic(model: ChoFedBatch) -> None:
    # No limitation, inhibition, by-products or death: mu is constant and
    # Xv = Xv0 exp(mu t); glucose falls by the biomass made over its yield; the titre
    # grows by q_mab (Xv - Xv0) / mu.
    p = model.parameter_vector(
        {
            "K_glc": 0.0,
            "K_gln": 0.0,
            "kd_min": 0.0,
            "kd_max": 0.0,
            "kd_starve": 0.0,
            "m_glc": 0.0,
            "a1_gln": 0.0,
            "k_deg_gln": 0.0,
            "Y_lac_glc": 0.0,
            "q_lac_uptake": 0.0,
            "Y_amm_gln": 0.0,
            "K_DO_lac": 0.0,
        }
    )
    recipe = batch_recipe(START)
    traj = simulate(
        model,
        compile_recipe(model, recipe),
        model.state_vector(START),
        p,
        tol=Tolerances(rtol=1e-9, atol=np.full(8, 1e-12)),
    )
    k = {q.name: p[0, j] for j, q in enumerate(model.parameters)}
    mu = (
        k["mu_max"]
        * np.exp(-(((36.5 - k["T_opt"]) / k["T_width"]) ** 2))
        * 40.0
        / (k["K_DO"] + 40.0)
    )
    qp = k["q_mab"] * np.exp(k["qp_temp"] * (37.0 - 36.5))
    xv = 0.5 * np.exp(mu * traj.t)
    np.testing.assert_allclose(traj.state(model, "Xv")[:, 0], xv, rtol=1e-7)
    np.testing.assert_allclose(
        traj.state(model, "Glc")[:, 0], 1e4 - (xv - 0.5) / k["Y_X_glc"], rtol=1e-9
    )
    np.testing.assert_allclose(traj.state(model, "mAb")[:, 0], qp * (xv - 0.5) / mu, rtol=1e-7)
    np.testing.assert_allclose(traj.state(model, "Xd")[:, 0], 0.0, atol=1e-12)


def test_glucose_amount_is_conserved_through_feeds_and_boluses(
    model: ChoFedBatch, nominal_recipe: Recipe
) -> None:
    # Without cells nothing consumes glucose: the moles in the vessel at harvest are the
    # initial charge plus every bolus plus the continuous feed (hand calculation).
    initial = dict(nominal_recipe.initial_state, Xv=0.0, Xd=0.0)
    recipe = nominal_recipe.model_copy(update={"initial_state": initial, "sampling": None})
    traj = simulate(
        model,
        compile_recipe(model, recipe),
        model.state_vector(initial),
        model.default_parameters(),
    )
    final = traj.final[0]
    moles = final[model.state_index("Glc")] * final[model.state_index("V")]
    media = recipe.media
    by_hand = initial["Glc"] * initial["V"]
    by_hand += sum(b.volume_L * media[b.medium].get("Glc", 0.0) for b in recipe.boluses)
    by_hand += sum(
        (f.end_h - f.start_h) * f.rate_L_per_h * media[f.medium]["Glc"] for f in recipe.feeds
    )
    assert moles == pytest.approx(by_hand, rel=1e-9)
    volume = (
        initial["V"]
        + sum(b.volume_L for b in recipe.boluses)
        + sum((f.end_h - f.start_h) * f.rate_L_per_h for f in recipe.feeds)
    )
    assert final[model.state_index("V")] == pytest.approx(volume, rel=1e-12)


def test_ensemble_agrees_with_solve_ivp_at_harvest_within_0_1_percent(
    model: ChoFedBatch, nominal_recipe: Recipe
) -> None:
    members = 4
    rng = np.random.default_rng(3)
    p = draw_truth_parameters(model, model.default_parameters(members), rng, members, mismatch=1.0)
    x0 = model.state_vector(nominal_recipe.initial_state, members)
    ours = simulate(model, compile_recipe(model, nominal_recipe), x0, p).final  # default tolerances
    schedule = compile_recipe(model, nominal_recipe)
    reference = solve_members(model, schedule, x0, p, method="Radau", rtol=1e-9, atol=1e-12)
    relative = np.abs(ours - reference) / np.abs(reference)
    worst = float(relative.max())
    where = model.state_names()[int(relative.max(axis=0).argmax())]
    assert worst < 1e-3, f"worst relative difference {worst:.2e} in state {where}"


def test_measure_returns_viability_and_titre_in_their_units(model: ChoFedBatch) -> None:
    x = model.state_vector(
        {"Xv": 9.0, "Xd": 1.0, "Glc": 5, "Gln": 1, "Lac": 10, "Amm": 2, "mAb": 2500, "V": 1800}
    )
    y = model.measure(x, model.default_inputs()[None, :], model.default_parameters())
    assert y[0, model.output_index("viability")] == pytest.approx(90.0)
    assert y[0, model.output_index("titre")] == pytest.approx(2.5)
    assert y[0, model.output_index("OUR")] == pytest.approx(9.0 * 0.2)


def test_every_parameter_cites_a_source(model: ChoFedBatch) -> None:
    assert all(len(q.source) > 5 for q in model.parameters)
    assert len(set(model.parameter_names())) == len(model.parameters)


def test_rates_do_not_depend_on_the_memory_layout_of_their_arguments() -> None:
    """The compiled kinetics see broadcast (read-only) inputs and column-major parameters from
    the integrators; the result must be the same as for plain arrays."""
    model = ChoFedBatch()
    rng = np.random.default_rng(2)
    p = draw_truth_parameters(model, model.default_parameters(1)[0], rng, 30, mismatch=1.0)
    x = model.state_vector({**START, "Glc": 20.0, "Gln": 3.0, "Lac": 5.0, "Amm": 2.0}, 30)
    u = model.default_inputs()
    plain = model.rhs(0.0, x, np.tile(u, (30, 1)), p)
    strided = model.rhs(0.0, x, np.broadcast_to(u, (30, u.size)), np.asfortranarray(p))
    np.testing.assert_array_equal(plain, strided)
    assert np.isfinite(plain).all() and plain[:, 0].std() > 0
