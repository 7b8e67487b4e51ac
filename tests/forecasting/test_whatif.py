"""Operator actions on schedules and scenarios, and their ranking by forecast."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.core.actions import Action
from pharmatwin.core.belief import prior
from pharmatwin.core.recipe import Recipe
from pharmatwin.core.schedule import (
    compile_recipe,
    medium_vector,
    with_bolus,
    with_harvest,
    with_persisted,
)
from pharmatwin.equipment.bioreactor.faults import Fault
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.operator import apply_action
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.forecasting.forecast import forecast
from pharmatwin.forecasting.whatif import Recommendation, evaluate, rank


def test_schedule_edits(nominal_recipe: Recipe) -> None:
    model = ChoFedBatch()
    plan = compile_recipe(model, nominal_recipe)
    F, T = model.input_index("F_feed"), model.input_index("T")
    offset, factor = np.zeros(len(model.inputs)), np.ones(len(model.inputs))
    offset[T], factor[F] = 0.5, 0.0
    persisted = with_persisted(plan, 100.0, offset, factor)
    assert persisted.inputs_at(99.0)[F] == plan.inputs_at(99.0)[F] > 0
    assert persisted.inputs_at(101.0)[F] == 0.0
    assert persisted.inputs_at(200.0)[T] == pytest.approx(plan.inputs_at(200.0)[T] + 0.5)
    shot = with_bolus(plan, 50.0, 10.0, medium_vector(model, nominal_recipe, "glucose-400"))
    assert len(shot.events) == len(plan.events) + 1
    earlier, later = with_harvest(plan, 312.0), with_harvest(plan, 360.0)
    assert earlier.t_end == 312.0 and all(e.time_h < 312.0 for e in earlier.events)
    assert later.t_end == 360.0 and later.inputs_at(350.0)[T] == pytest.approx(
        plan.inputs_at(335.9)[T]
    )


def test_the_operator_carries_out_actions_on_a_scenario() -> None:
    scenario = load_scenario("feed-pump-failure")
    repaired = apply_action(scenario, Action(name="fix", kind="restore", input="F_feed"), 120.0)
    assert repaired.faults[0].duration_h == pytest.approx(24.0)
    too_early = apply_action(scenario, Action(name="fix", kind="restore", input="F_feed"), 50.0)
    assert too_early.faults == []
    shot = apply_action(
        scenario, Action(name="g", kind="bolus", medium="glucose-400", volume_L=10), 100.0
    )
    assert any(b.at_h == 100.0 for b in shot.recipe.boluses)
    later = apply_action(scenario, Action(name="h", kind="harvest_shift", value=24), 100.0)
    assert later.recipe.harvest_h == 360.0
    viability = apply_action(
        scenario.model_copy(
            update={"faults": [Fault(kind="viability_loss", onset_h=10, magnitude=0.01)]}
        ),
        Action(name="fix", kind="restore", input="F_feed"),
        100.0,
    )
    assert viability.faults[0].duration_h is None  # nothing to repair for that fault


def test_a_setpoint_action_holds_from_any_time_even_a_phase_start() -> None:
    scenario = load_scenario("nominal")
    cool = Action(name="cool", kind="setpoint", input="T", value=31.0)
    starts = {p.start_h: p for p in scenario.recipe.phases}
    for at_h in (100.0, max(starts)):  # inside a phase, and where a phase begins
        phases = apply_action(scenario, cool, at_h).recipe.phases
        held = [p for p in phases if p.start_h == at_h]
        assert len(held) == 1 and held[0].setpoints["T"] == 31.0
        assert len(phases) == len(starts) + (at_h not in starts)


def test_actions_need_their_fields() -> None:
    with pytest.raises(ValueError, match="a bolus needs medium"):
        Action(name="x", kind="bolus", volume_L=1.0)


def test_a_helpful_action_ranks_first(nominal_recipe: Recipe) -> None:
    # A culture whose feed pump has stopped at 100 h: repairing the feed must beat doing
    # nothing and beat an irrelevant action.
    model = ChoFedBatch()
    plan = compile_recipe(model, nominal_recipe)
    belief = prior(model, nominal_recipe.initial_state, 60, np.random.default_rng(1))
    from pharmatwin.estimation.propagate import schedule_propagator

    belief = schedule_propagator(model, plan)(belief, 100.0)
    F = model.input_index("F_feed")
    offset, factor = np.zeros(len(model.inputs)), np.ones(len(model.inputs))
    factor[F] = 0.0
    broken = with_persisted(plan, 100.0, offset, factor)
    candidates = {
        "repair feed": plan.__class__(plan.knots, plan.offset, plan.slope, plan.events),
        "harvest a day early": with_harvest(broken, 312.0),
    }
    ranked = evaluate(model, belief, SPECIFICATIONS, broken, candidates, rank_by="titre")
    assert ranked[0].action == "repair feed"
    assert ranked[0].expected_after > ranked[0].expected_before
    assert ranked[0].p_ok_after >= ranked[1].p_ok_after
    base = forecast(model, broken, belief, SPECIFICATIONS)
    assert ranked[0].p_ok_before == pytest.approx(base.p_all_ok)


def test_probabilities_are_compared_at_the_ensembles_resolution() -> None:
    def row(name: str, p_ok: float, titre: float) -> Recommendation:
        return Recommendation(name, 0.5, p_ok, 3.0, titre)

    rows = [
        row("harvest early", 1.00, 4.2),
        row("recalibrate", 0.98, 5.0),
        row("glucose shot", 0.70, 5.5),
        row("nothing better", 0.68, 3.0),
        row("worse", 0.10, 6.0),
    ]
    ranked = [r.action for r in rank(rows)]
    assert ranked == ["recalibrate", "harvest early", "glucose shot", "nothing better", "worse"]
    assert [r.action for r in rank(rows, tie_margin=0.0)][:2] == ["harvest early", "recalibrate"]
