"""Speed of the twin: one estimator update, a full replay, EnKF against the particle filter.

    .venv/bin/python -m bench.twin [--seeds N]

1. One update with 500 members and a day's laboratory results (target <= 5 ms).
2. Replay of a full 14-day batch, one-minute online data, hourly forecasts (target <= 30 s,
   i.e. >= 40,000 x real time).
3. EnKF against the particle filter on the same batches: replay time, error of the final-titre
   forecast at day 7, and whether the truth fell inside the 90 % interval.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pharmatwin.core.belief import prior
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.estimation.enkf import EnsembleKalmanFilter
from pharmatwin.estimation.measurements import Measurement
from pharmatwin.estimation.particle import ParticleFilter
from pharmatwin.runtime.bioreactor_twin import ESTIMATED, BioreactorTwin, TwinSettings
from pharmatwin.runtime.plant_record import PlantRecord

UPDATE_TARGET_S = 0.005
REPLAY_TARGET_S = 30.0


def time_update(members: int = 500, repeats: int = 50) -> dict[str, float]:
    model = ChoFedBatch()
    scenario = load_scenario("nominal")
    belief = prior(model, scenario.recipe.initial_state, members, np.random.default_rng(0))
    u = np.tile(model.default_inputs(), (members, 1))
    lab = [
        Measurement(0.0, "VCD", 0.52, 0.03, "VCD"),
        Measurement(0.0, "viability", 96.0, 1.5, "VIAB"),
        Measurement(0.0, "glucose", 34.0, 1.0, "GLC"),
        Measurement(0.0, "glutamine", 4.1, 0.2, "GLN"),
        Measurement(0.0, "lactate", 1.1, 0.05, "LAC"),
        Measurement(0.0, "ammonia", 0.31, 0.02, "NH4"),
        Measurement(0.0, "titre", 0.001, 0.001, "TITRE"),
    ]
    out = {}
    for name, estimator in (
        ("enkf", EnsembleKalmanFilter(model, ESTIMATED)),
        ("pf", ParticleFilter(model, ESTIMATED)),
    ):
        times = []
        for k in range(repeats):
            rng = np.random.default_rng(k)
            start = time.perf_counter()
            estimator.update(belief, u, lab, rng)
            times.append(time.perf_counter() - start)
        out[name] = float(np.median(times))
    return out


def replay(scenario: str, seed: int, settings: TwinSettings) -> tuple[float, float, bool]:
    """Replay time (s), |error| of the day-7 final-titre forecast, truth inside its 90 % band."""
    plant = run_plant(load_scenario(scenario).model_copy(update={"seed": seed}))
    record = PlantRecord.from_run(plant)
    twin = BioreactorTwin(load_scenario(scenario).recipe, settings)
    start = time.perf_counter()
    result = twin.replay(record)
    seconds = time.perf_counter() - start
    truth = float(plant.output("titre")[-1, 0])
    day7 = [f for f in result.forecasts if f.t <= 168.0][-1].spec("titre").value_quantiles
    return seconds, abs(day7[1] / truth - 1), bool(day7[0] <= truth <= day7[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    updates = time_update()
    for name, seconds in updates.items():
        verdict = "met" if seconds <= UPDATE_TARGET_S else "NOT met"
        print(
            f"one {name} update, 500 members, 7 lab values: {seconds * 1e3:.2f} ms "
            f"(target <= 5 ms: {verdict})"
        )
    hourly = TwinSettings(members=200, forecast_every_h=1.0)
    seconds, _, _ = replay("nominal", 7, hourly)
    verdict = "met" if seconds <= REPLAY_TARGET_S else "NOT met"
    print(
        f"replay of 14 days, 1-minute data, hourly forecasts, 200 members: {seconds:.1f} s = "
        f"{336 * 3600 / seconds:,.0f} x real time (target <= 30 s: {verdict})"
    )
    print()
    print(f"{'filter':<8}{'replay [s]':>12}{'day-7 titre error':>20}{'90 % band holds':>18}")
    for name in ("enkf", "pf"):
        settings = TwinSettings(members=200, forecast_every_h=6.0, estimator=name)  # type: ignore[arg-type]
        rows = [replay("nominal", 3000 + k, settings) for k in range(args.seeds)]
        t, err, inside = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
        print(f"{name:<8}{np.median(t):>12.1f}{np.median(err):>19.1%}{np.mean(inside):>17.0%}")


if __name__ == "__main__":
    main()
