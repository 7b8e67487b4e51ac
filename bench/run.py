"""Speed of the ensemble simulator, with baselines measured side by side in the same run.

    make bench                      # or: .venv/bin/python -m bench.run [--members N] ...

Prints, for the nominal 14-day CHO fed-batch recipe:
  1. the wall time of a ``--members``-member ensemble (pharmatwin, default integrator);
  2. scipy's ``solve_ivp`` (LSODA, same tolerances) looping over the same members;
  3. one batch of ``insilicho`` (a published in-silico CHO model), in its own environment;
and the per-trajectory throughput of each against pharmatwin's. Absolute times on a shared
machine are noisy; the ratios, measured in one run, are what to compare.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from pharmatwin.core.recipe import Recipe
from pharmatwin.core.reference import solve_members
from pharmatwin.core.schedule import Schedule, compile_recipe
from pharmatwin.core.simulate import simulate
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.plant import draw_truth_parameters
from pharmatwin.equipment.bioreactor.scenario import read_recipe

HERE = Path(__file__).resolve().parent
INSILICHO_ENV = HERE / ".venv-insilicho"
TARGET_SECONDS = 0.3
TARGET_RATIO = 100.0


def _ensemble(members: int) -> tuple[ChoFedBatch, Schedule, FloatArray, FloatArray]:
    model = ChoFedBatch()
    recipe = Recipe.model_validate(read_recipe("cho-mab-fedbatch-14d"))
    rng = np.random.default_rng(1)
    p = draw_truth_parameters(model, model.default_parameters(members), rng, members, 1.0)
    return (
        model,
        compile_recipe(model, recipe),
        model.state_vector(recipe.initial_state, members),
        p,
    )


def time_pharmatwin(
    members: int, repeats: int, t_out: FloatArray | None = None
) -> tuple[list[float], FloatArray, int]:
    """Wall times of the ensemble (hourly trajectories by default), its final states and the
    peak memory it allocates (bytes)."""
    model, schedule, x0, p = _ensemble(members)
    simulate(model, schedule, x0[:2], p[:2])  # warm-up: imports and first-call costs
    seconds = []
    final = np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        final = simulate(model, schedule, x0, p, t_out=t_out).final
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    simulate(model, schedule, x0, p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, final, peak


def time_solve_ivp(members: int) -> tuple[float, FloatArray]:
    model, schedule, x0, p = _ensemble(members)
    start = time.perf_counter()
    final = solve_members(
        model, schedule, x0, p, method="LSODA", rtol=1e-6, atol=model.state_atol()
    )
    return time.perf_counter() - start, final


def ensure_insilicho() -> Path:
    python = INSILICHO_ENV / "bin" / "python"
    if not python.exists():
        print("installing insilicho into bench/.venv-insilicho (first run only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(INSILICHO_ENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "insilicho==1.1.4", "matplotlib"],
            check=True,
        )
    return python


def time_insilicho(days: int, repeats: int) -> dict[str, float | list[float]]:
    python = ensure_insilicho()
    done = subprocess.run(
        [str(python), str(HERE / "insilicho_batch.py"), str(days), str(repeats)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result: dict[str, float | list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--loop-members",
        type=int,
        default=None,
        help="members for the solve_ivp loop (default: all)",
    )
    parser.add_argument("--skip-insilicho", action="store_true")
    args = parser.parse_args()
    loop_members = args.loop_members or args.members
    harvest = np.array([0.0, 336.0])

    before, final, peak = time_pharmatwin(args.members, args.repeats)
    ends_before, _, _ = time_pharmatwin(args.members, args.repeats, t_out=harvest)
    print(f"solve_ivp (LSODA, rtol 1e-6) looping over {loop_members} members ...", flush=True)
    loop_s, loop_final = time_solve_ivp(loop_members)
    # pharmatwin again after the long loop: the best of both sides of it is reported
    after, _, _ = time_pharmatwin(args.members, args.repeats)
    ends_after, _, _ = time_pharmatwin(args.members, args.repeats, t_out=harvest)
    best, best_ends = min(before + after), min(ends_before + ends_after)
    per_ours = best / args.members
    rows = [
        ("pharmatwin, hourly output", args.members, best),
        ("pharmatwin, harvest only", args.members, best_ends),
        ("solve_ivp loop (LSODA)", loop_members, loop_s),
    ]
    if not args.skip_insilicho:
        seconds = time_insilicho(days=14, repeats=args.repeats)["seconds"]
        assert isinstance(seconds, list)
        rows.append(("insilicho, one batch", 1, min(seconds)))
    print()
    print(
        f"{'run':<28}{'trajectories':>13}{'best [s]':>10}{'s / trajectory':>16}"
        f"{'vs pharmatwin':>15}"
    )
    for name, count, wall in rows:
        per = wall / count
        print(f"{name:<28}{count:>13}{wall:>10.3f}{per:>16.2e}{per / per_ours:>14.1f}x")
    rel = float(np.max(np.abs(final[:loop_members] - loop_final) / np.abs(loop_final)))
    ratio = (loop_s / loop_members) / per_ours
    print()
    print(f"peak memory allocated by the ensemble run: {peak / 2**20:.0f} MiB")
    print(f"largest relative difference from the LSODA loop at harvest: {rel:.1e}")
    verdict = "met" if best < TARGET_SECONDS else "NOT met"
    print(
        f"target: {args.members}-member ensemble < {TARGET_SECONDS} s -> {best:.3f} s ({verdict})"
    )
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(
        f"target: >= {TARGET_RATIO:.0f}x the solve_ivp loop's per-trajectory throughput -> "
        f"{ratio:.0f}x ({verdict})"
    )


if __name__ == "__main__":
    main()
