"""Bad plant data is flagged with its reason and the twin keeps running."""

from __future__ import annotations

import numpy as np
import pytest

from pharmatwin.runtime.plant_record import PlantRecord

T = "BR01.TT101.PV"


def rows(
    values: list[float], times: list[float] | None = None
) -> dict[str, list[tuple[float, float, float]]]:
    times = times if times is not None else [k / 60 for k in range(len(values))]
    return {T: [(t, t, v) for t, v in zip(times, values, strict=True)]}


def noisy(n: int = 600, seed: int = 0) -> list[float]:
    return list(36.5 + 0.02 * np.random.default_rng(seed).standard_normal(n))


def reasons(record: PlantRecord) -> list[str]:
    return [r.reason for r in record.rejected]


def test_nan_is_flagged() -> None:
    values = noisy()
    values[100] = float("nan")
    record = PlantRecord.from_rows(rows(values))
    assert reasons(record) == ["not a number"]
    assert len(record.online[T][0]) == 599


def test_duplicated_and_out_of_order_timestamps_are_flagged() -> None:
    values = noisy(10)
    times = [k / 60 for k in range(10)]
    times[5] = times[4]  # duplicate with another value
    times[8] = 0.01  # goes back in time
    record = PlantRecord.from_rows(rows(values, times))
    found = reasons(record)
    assert any(r.startswith("duplicate timestamp with another value") for r in found)
    assert any(r.startswith("out of time order") for r in found)
    kept = record.online[T][0]
    assert np.all(np.diff(kept) > 0)


def test_a_stuck_sensor_is_flagged() -> None:
    values = noisy(600)
    values[200:400] = [values[200]] * 200  # 200 minutes of the same reading
    record = PlantRecord.from_rows(rows(values))
    assert any(r.startswith("stuck at") for r in reasons(record))
    assert len(record.online[T][1]) == 400


@pytest.mark.parametrize(("factor", "word"), [(10.0, "high"), (1000.0, "high"), (0.1, "low")])
def test_a_value_in_the_wrong_unit_is_flagged(factor: float, word: str) -> None:
    values = noisy()
    values[300] *= factor
    record = PlantRecord.from_rows(rows(values))
    assert len(record.rejected) == 1
    assert record.rejected[0].reason.startswith(word) and "wrong unit" in record.rejected[0].reason


def test_the_twin_keeps_running_on_bad_data() -> None:
    from pharmatwin.equipment.bioreactor.plant import run_plant
    from pharmatwin.equipment.bioreactor.scenario import load_scenario
    from pharmatwin.runtime.bioreactor_twin import BioreactorTwin, TwinSettings

    scenario = load_scenario("nominal")
    recipe = scenario.recipe.model_copy(update={"harvest_h": 60.0, "boluses": [], "feeds": []})
    scenario = scenario.model_copy(update={"recipe": recipe})
    run = run_plant(scenario)
    raw = {
        tag: [
            (float(t), float(t), float(v))
            for t, v in zip(run.online_t, run.online[:, q, 0], strict=True)
        ]
        for q, (tag, _) in enumerate(run.online_tags)
    }
    raw[T][500] = (raw[T][500][0], raw[T][500][1], float("nan"))
    raw[T][900] = (raw[T][900][0], raw[T][900][1], raw[T][900][2] * 1000)
    raw["BR01.GLC.LAB"] = [(24.0, 25.0, float("nan")), (48.0, 49.0, 30.0), (48.0, 49.0, 31.0)]
    record = PlantRecord.from_rows(raw)
    result = BioreactorTwin(recipe, TwinSettings(members=40, forecast_every_h=24)).replay(record)
    assert len(result.forecasts) >= 2
    assert {r.reason.split(" ")[0] for r in record.rejected} >= {"not", "high", "duplicate"}
