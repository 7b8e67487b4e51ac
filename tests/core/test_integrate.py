import numpy as np
import pytest

from pharmatwin.core.integrate import Dense, Tolerances, integrate


def test_exponential_growth_matches_the_analytic_solution_for_every_member() -> None:
    rates = np.linspace(0.01, 0.05, 200)[:, None]
    x0 = np.ones((200, 3))
    x, _, stats = integrate(lambda t, x: rates * x, 0.0, 336.0, x0, Tolerances(rtol=1e-8))
    np.testing.assert_allclose(x, np.exp(rates * 336.0) * x0, rtol=1e-6)
    assert stats.steps > 0 and stats.rhs_calls >= 6 * stats.steps


def test_error_falls_with_the_tolerance() -> None:
    f = lambda t, x: -0.3 * x + np.sin(t)  # noqa: E731
    exact_ref, _, _ = integrate(
        f, 0.0, 20.0, np.ones((1, 1)), Tolerances(rtol=1e-12, atol=np.array(1e-14))
    )
    errors = []
    for rtol in (1e-4, 1e-6, 1e-8):
        x, _, _ = integrate(
            f, 0.0, 20.0, np.ones((1, 1)), Tolerances(rtol=rtol, atol=np.array(rtol))
        )
        errors.append(abs(float(x[0, 0] - exact_ref[0, 0])))
    assert errors[0] > errors[1] > errors[2]


def test_lower_bounds_are_kept_after_every_step() -> None:
    # dx/dt = -1 would cross zero at t = 1; the bound holds it at zero.
    x, _, _ = integrate(
        lambda t, x: -np.ones_like(x),
        0.0,
        3.0,
        np.ones((4, 1)),
        Tolerances(),
        lower=np.array([0.0]),
    )
    assert np.all(x >= 0.0)


def test_dense_output_interpolates_between_steps() -> None:
    times = np.linspace(0.5, 10.0, 20)
    dense = Dense(times=times, out=np.empty((20, 1, 1)))
    tol = Tolerances(rtol=1e-8, atol=np.array(1e-12))
    integrate(lambda t, x: -0.2 * x, 0.0, 10.0, np.ones((1, 1)), tol, dense=dense)
    assert dense.filled == 20
    np.testing.assert_allclose(dense.out[:, 0, 0], np.exp(-0.2 * times), rtol=1e-6)


def test_tolerances_are_validated() -> None:
    with pytest.raises(ValueError, match="rtol"):
        Tolerances(rtol=0.0)
    with pytest.raises(ValueError, match="atol"):
        Tolerances(atol=np.array([1e-6, -1.0]))


@pytest.mark.parametrize("method", ["clocks", "dopri5", "rodas4"])
def test_non_finite_derivatives_raise_instead_of_hanging(method: str) -> None:
    from pharmatwin.core.integrate import IntegrationError
    from pharmatwin.core.recipe import Recipe
    from pharmatwin.core.schedule import compile_recipe
    from pharmatwin.core.simulate import simulate
    from pharmatwin.equipment.bioreactor.model import ChoFedBatch

    class Broken(ChoFedBatch):
        def rhs(self, t, x, u, p):  # type: ignore[no-untyped-def]
            dx = super().rhs(t, x, u, p)
            late = np.reshape(np.asarray(t) > 50.0, (-1, 1))  # t: one number or one per member
            return np.where(late, np.nan, dx)

    model = Broken()
    start = {"Xv": 0.5, "Xd": 0, "Glc": 30, "Gln": 4, "Lac": 0, "Amm": 0, "mAb": 0, "V": 1000}
    recipe = Recipe.model_validate(
        {
            "name": "r",
            "initial_state": start,
            "phases": [{"name": "a", "start_h": 0}],
            "harvest_h": 100,
        }
    )
    with pytest.raises(IntegrationError, match="collapsed"):
        simulate(
            model,
            compile_recipe(model, recipe),
            model.state_vector(start, 3),
            model.default_parameters(3),
            method=method,
        )  # type: ignore[arg-type]
