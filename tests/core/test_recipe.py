import numpy as np
import pytest
from pydantic import ValidationError

from pharmatwin.core.recipe import Recipe
from pharmatwin.core.schedule import apply_event, compile_recipe
from pharmatwin.equipment.bioreactor.model import ChoFedBatch

BASE = {
    "name": "r",
    "initial_state": {
        "Xv": 0.5,
        "Xd": 0.0,
        "Glc": 30,
        "Gln": 4,
        "Lac": 0,
        "Amm": 0,
        "mAb": 0,
        "V": 100,
    },
    "media": {"f": {"Glc": 500.0, "Gln": 50.0}},
    "phases": [
        {"name": "grow", "start_h": 0, "setpoints": {"T": 37.0}},
        {"name": "shift", "start_h": 10, "setpoints": {"T": 33.0}, "ramp_h": 4},
    ],
    "feeds": [{"medium": "f", "start_h": 5, "end_h": 20, "rate_L_per_h": 2.0}],
    "boluses": [{"at_h": 12, "medium": "f", "volume_L": 10}],
    "sampling": {"first_h": 0, "every_h": 8, "volume_L": 1.0},
    "harvest_h": 24,
}


def recipe(**changes: object) -> Recipe:
    return Recipe.model_validate({**BASE, **changes})


def test_schedule_ramps_steps_and_feeds() -> None:
    s = compile_recipe(ChoFedBatch, recipe())
    T = ChoFedBatch.input_index("T")
    F = ChoFedBatch.input_index("F_feed")
    G_in = ChoFedBatch.input_index("Glc_feed")
    assert s.inputs_at(9.99)[T] == pytest.approx(37.0)
    assert s.inputs_at(12.0)[T] == pytest.approx(35.0)  # half-way down the 4 h ramp
    assert s.inputs_at(15.0)[T] == pytest.approx(33.0)
    assert s.inputs_at(4.9)[F] == 0.0 and s.inputs_at(5.0)[F] == 2.0 and s.inputs_at(20.0)[F] == 0.0
    assert s.inputs_at(6.0)[G_in] == 500.0
    for t in (0, 5, 10, 14, 20, 24):
        assert t in s.stops()
    assert {e.time_h for e in s.events} == {0.0, 8.0, 12.0, 16.0}


def test_bolus_mixes_and_sample_removes_volume() -> None:
    s = compile_recipe(ChoFedBatch, recipe())
    x = ChoFedBatch.state_vector(BASE["initial_state"])  # type: ignore[arg-type]
    bolus = next(e for e in s.events if e.kind == "bolus")
    mixed = apply_event(ChoFedBatch, x, bolus)
    V, G, Xv = (ChoFedBatch.state_index(n) for n in ("V", "Glc", "Xv"))
    assert mixed[0, V] == 110.0
    assert mixed[0, G] == pytest.approx((30 * 100 + 500 * 10) / 110)
    assert mixed[0, Xv] == pytest.approx(0.5 * 100 / 110)
    sample = next(e for e in s.events if e.kind == "sample")
    taken = apply_event(ChoFedBatch, x, sample)
    assert taken[0, V] == 99.0 and taken[0, G] == 30.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "Extra inputs"),
        ({"media": {"f": {"Glc": -5.0}}}, "greater than or equal to 0"),
        (
            {
                "phases": [
                    {"name": "a", "start_h": 0},
                    {"name": "b", "start_h": 10},
                    {"name": "c", "start_h": 5},
                ]
            },
            "phases out of order",
        ),
        ({"harvest_h": 8}, "harvest_h"),
        ({"boluses": [{"at_h": 1, "medium": "nope", "volume_L": 1}]}, "unknown medium"),
    ],
)
def test_bad_recipes_are_rejected_with_the_field_named(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        recipe(**changes)


def test_compile_rejects_names_the_model_does_not_know() -> None:
    bad = recipe(phases=[{"name": "a", "start_h": 0, "setpoints": {"stirrer": 100}}])
    with pytest.raises(ValueError, match=r"phases\.0\.setpoints\.stirrer: unknown input"):
        compile_recipe(ChoFedBatch, bad)
    with pytest.raises(ValueError, match=r"media\.f\.Xv"):
        compile_recipe(ChoFedBatch, recipe(media={"f": {"Xv": 1.0}}))


def test_state_vector_rejects_negative_concentrations() -> None:
    values = dict(BASE["initial_state"], Glc=-1.0)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"initial_state\.Glc"):
        ChoFedBatch.state_vector(values)
    assert np.all(ChoFedBatch.state_vector(BASE["initial_state"], members=3)[:, 0] == 0.5)  # type: ignore[arg-type]


def test_measured_inputs_replace_the_recipe_in_the_past_only() -> None:
    from pharmatwin.core.schedule import with_measured

    s = compile_recipe(ChoFedBatch, recipe())
    T = ChoFedBatch.input_index("T")
    F = ChoFedBatch.input_index("F_feed")
    values = np.full((3, len(ChoFedBatch.inputs)), np.nan)
    values[:, T] = [36.0, 35.5, 35.0]
    as_run = with_measured(s, np.array([4.0, 5.0, 6.0, 7.0]), values)
    assert as_run.inputs_at(4.5)[T] == 36.0 and as_run.inputs_at(6.9)[T] == 35.0
    assert as_run.inputs_at(3.0)[T] == 37.0  # before the measured window: the recipe
    assert as_run.inputs_at(12.0)[T] == pytest.approx(35.0)  # after it: the recipe's ramp
    assert as_run.inputs_at(5.5)[F] == s.inputs_at(5.5)[F]  # NaN keeps the recipe
    assert {e.time_h for e in as_run.events} == {e.time_h for e in s.events}


def test_harvesting_earlier_or_later_keeps_the_plan_up_to_then(nominal_recipe: Recipe) -> None:
    early = nominal_recipe.harvested_at(200.0)
    assert early.harvest_h == 200.0
    assert all(f.end_h <= 200.0 for f in early.feeds)
    assert [b.at_h for b in early.boluses] == [
        b.at_h for b in nominal_recipe.boluses if b.at_h < 200
    ]
    late = nominal_recipe.harvested_at(360.0)
    assert late.harvest_h == 360.0
    assert late.feeds == nominal_recipe.feeds  # the feed still ends when it was planned to
    F = ChoFedBatch.input_index("F_feed")
    assert compile_recipe(ChoFedBatch, late).inputs_at(350.0)[F] == 0.0
    before_shift = nominal_recipe.harvested_at(100.0)
    assert [p.start_h for p in before_shift.phases] == [0.0]
    with pytest.raises(ValidationError, match="harvest_h"):
        nominal_recipe.harvested_at(0.0)
