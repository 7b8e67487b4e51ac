"""Per-member clocks and the stiff Rosenbrock integrator."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.core.integrate import Tolerances, integrate
from pharmatwin.core.recipe import Recipe
from pharmatwin.core.rosenbrock import finite_difference_jacobian, integrate_stiff
from pharmatwin.core.schedule import compile_recipe
from pharmatwin.core.simulate import simulate
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.plant import draw_truth_parameters


@pytest.fixture(scope="module")
def ensemble(nominal_recipe: Recipe) -> tuple[ChoFedBatch, object, np.ndarray, np.ndarray]:
    model = ChoFedBatch()
    members = 24
    rng = np.random.default_rng(5)
    p = draw_truth_parameters(model, model.default_parameters(members), rng, members, 1.5)
    x0 = model.state_vector(nominal_recipe.initial_state, members)
    return model, compile_recipe(model, nominal_recipe), x0, p


def test_a_member_does_not_depend_on_the_others(ensemble: tuple) -> None:  # type: ignore[type-arg]
    model, schedule, x0, p = ensemble
    together = simulate(model, schedule, x0, p)
    alone = simulate(model, schedule, x0[7:8], p[7:8])
    np.testing.assert_allclose(together.x[:, 7], alone.x[:, 0], rtol=1e-12, atol=1e-12)


def test_methods_agree_on_the_ensemble(ensemble: tuple) -> None:  # type: ignore[type-arg]
    model, schedule, x0, p = ensemble
    tol = Tolerances(rtol=1e-8, atol=np.full(8, 1e-9))
    runs = {
        m: simulate(model, schedule, x0, p, tol=tol, method=m)
        for m in ("clocks", "dopri5", "rodas4")
    }
    for name in ("dopri5", "rodas4"):
        np.testing.assert_allclose(runs[name].x[1:], runs["clocks"].x[1:], rtol=1e-4, atol=1e-6)
    assert runs["clocks"].stats.steps > 0


def test_outputs_are_right_continuous_at_a_bolus(ensemble: tuple) -> None:  # type: ignore[type-arg]
    model, schedule, x0, p = ensemble
    traj = simulate(model, schedule, x0, p, t_out=np.array([0.0, 143.5, 144.0, 145.0]))
    V = traj.state(model, "V")
    assert np.all(V[2] - V[1] > 9.0)  # the 10 L glucose shot at 144 h is in the 144 h value
    glucose = traj.state(model, "Glc")
    assert np.all(glucose[2] > glucose[1] + 5.0)


def test_rodas4_is_accurate_and_cheap_on_a_stiff_problem() -> None:
    # x' = -1e5 (x - cos t) - sin t has the smooth solution cos t; an explicit method's step is
    # held at its stability limit (~3e-5), a Rosenbrock method's only by accuracy.
    def f(t: float, x: np.ndarray) -> np.ndarray:
        return -1e5 * (x - np.cos(t)) - np.sin(t)

    def jac(t: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return f(t, x), np.full((x.shape[0], 1, 1), -1e5)

    tol = Tolerances(rtol=1e-6, atol=np.array(1e-9))
    x0 = np.ones((3, 1))
    x, _, stiff = integrate_stiff(f, 0.0, 1.0, x0, tol, jac=jac)
    np.testing.assert_allclose(x[:, 0], np.cos(1.0), rtol=1e-5)
    _, _, explicit = integrate(f, 0.0, 1.0, x0, tol)
    assert stiff.steps * 50 < explicit.steps


def test_finite_difference_jacobian_matches_the_analytic_one() -> None:
    a = np.array([[-2.0, 1.0], [0.5, -3.0]])

    def f_rows(t: float, x: np.ndarray) -> np.ndarray:
        return x @ a.T + x**2

    x = np.array([[1.0, 2.0], [0.5, -1.0]])
    f0, J = finite_difference_jacobian(f_rows, 0.0, x, np.array([1e-8, 1e-8]))
    expected = a[None, :, :] + 2 * np.einsum("mi,ij->mij", x, np.eye(2))
    np.testing.assert_allclose(f0, f_rows(0.0, x))
    np.testing.assert_allclose(J, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", ["clocks", "dopri5", "rodas4"])
def test_concentrations_stay_non_negative_through_depletion(
    nominal_recipe: Recipe, method: str
) -> None:
    # A batch without feeds at twice the prior spread: glutamine and glucose run out in many
    # members; every value on a fine grid, between steps too, stays at or above zero.
    model = ChoFedBatch()
    batch = nominal_recipe.model_copy(update={"feeds": [], "boluses": [], "harvest_h": 200.0})
    members = 100
    rng = np.random.default_rng(11)
    p = draw_truth_parameters(model, model.default_parameters(members), rng, members, 2.0)
    x0 = model.state_vector(batch.initial_state, members)
    t_out = np.linspace(0.0, 200.0, 2001)
    traj = simulate(model, compile_recipe(model, batch), x0, p, t_out=t_out, method=method)  # type: ignore[arg-type]
    assert np.isfinite(traj.x).all()
    assert traj.x.min() >= 0.0
    assert (traj.state(model, "Gln").min(axis=0) < 0.01).sum() > 50  # depletion really happened


@pytest.mark.parametrize("method", ["clocks", "dopri5"])
def test_two_legs_equal_one_run(ensemble: tuple, method: str) -> None:  # type: ignore[type-arg]
    # A belief propagated 0 -> 144 h (the glucose shot at 144 h included) and then on to
    # harvest must match one run: the second leg must not apply the 144 h events again.
    model, schedule, x0, p = ensemble
    tol = Tolerances(rtol=1e-9, atol=np.full(8, 1e-10))
    whole = simulate(model, schedule, x0, p, tol=tol, method=method)
    first = simulate(model, schedule, x0, p, tol=tol, method=method, t_end=144.0)
    second = simulate(
        model, schedule, first.final, p, tol=tol, method=method, t_start=144.0, start_events=False
    )
    np.testing.assert_allclose(second.final, whole.final, rtol=1e-6)
    np.testing.assert_allclose(first.final, whole.x[144], rtol=1e-6)
