"""Speed of the freeze-drying model against LyoPRONTO's algorithms, measured in the same run.

    .venv/bin/python -m bench.lyo [--quick]

For the LyoPRONTO reference case of issue 6 (Shivkumar et al. 2019), times (best and median of
repeats) and answers of:
  a. the forward simulation of the reference cycle (shelf −35 → 20 °C at 1 °C/min, 0.15 Torr);
  b. the 3 × 3 design space (shelf 20/0/−20 °C × 0.05/0.1/0.15 Torr, each ramped from −35 °C);
  c. the shelf-temperature optimization (shelf −45 to 120 °C, 0.15 Torr, collapse −5 °C,
     398 vials, capability −0.182 + 11.7·Pch kg/h);
for pharmatwin and for ``bench.lyo_baseline`` (LyoPRONTO's algorithms re-implemented with
scipy: BDF + fsolve, a loop of those, per-step SLSQP), with the speed-up and the difference of
the answers. LyoPRONTO itself took about 0.05, 1.3 and 1.1 s for these on this machine (issue
6); the target is at least 10 × faster than that.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from bench import lyo_baseline as base
from pharmatwin.equipment.lyophilizer.cycle import Equipment, HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.design_space import design_space as grid
from pharmatwin.equipment.lyophilizer.optimize import optimize_cycle
from pharmatwin.equipment.lyophilizer.primary import simulate_primary
from pharmatwin.equipment.lyophilizer.profiles import Profile

T = TypeVar("T")

VIAL = Vial(area_cm2=3.8, product_area_cm2=3.14, fill_ml=2.0)
PRODUCT = Product(solids_fraction=0.05, r0=1.4, a1=16.0, a2=0.0, collapse_temperature_c=-5.0)
HEAT = HeatTransfer(kc=2.75e-4, kp=8.93e-4, kd=0.46)
EQUIPMENT = Equipment(a=-0.182, b=11.7, vials=398)
SETPOINTS = [-20.0, 0.0, 20.0]
PRESSURES = [0.05, 0.1, 0.15]
LYOPRONTO_S = {"forward": 0.05, "design space": 1.3, "optimization": 1.1}
TARGET_RATIO = 10.0

Answer = list[tuple[float, float]]  # (drying time h, max product temperature °C) per run


def timed(fn: Callable[[], T], repeats: int) -> tuple[float, float, T]:
    """Best and median wall time (s) of ``repeats`` calls after one warm-up call."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def forward() -> Answer:
    run = simulate_primary(
        VIAL, PRODUCT, HEAT, Profile.ramp(-35.0, 1.0, 20.0), Profile.constant(0.15)
    )
    return [(run.drying_time_h, run.max_product_temperature_c)]


def design_space() -> Answer:
    points = grid(
        VIAL, PRODUCT, HEAT, EQUIPMENT, SETPOINTS, PRESSURES, initial_shelf_c=-35.0,
        ramp_c_per_min=1.0,
    )  # fmt: skip
    return [(p.drying_time_h, p.max_product_temperature_c) for p in points]


def optimization() -> Answer:
    cycle = optimize_cycle(
        VIAL,
        PRODUCT,
        HEAT,
        EQUIPMENT,
        mode="shelf",
        shelf_bounds_c=(-45.0, 120.0),
        fixed_pressure=Profile.constant(0.15),
    )
    return [(cycle.drying_time_h, cycle.max_product_temperature_c)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    ours_n, base_n = (5, 1) if args.quick else (30, 3)
    case = base.Case()
    tasks: list[tuple[str, Callable[[], Answer], Callable[[], Answer]]] = [
        ("forward", forward, lambda: [base.simulate(case, -35.0, 1.0, 20.0, 0.15)]),
        (
            "design space",
            design_space,
            lambda: base.design_space(case, -35.0, 1.0, SETPOINTS, PRESSURES),
        ),
        ("optimization", optimization, lambda: [base.optimize_shelf(case, 0.15, -45.0, 120.0)]),
    ]
    print(
        f"{'task':<14}{'ours best':>11}{'median':>10}{'baseline':>11}{'speed-up':>10}"
        f"{'LyoPRONTO':>11}{'speed-up':>10}  target (>= {TARGET_RATIO:g} x)"
    )
    answers = []
    for name, ours_fn, base_fn in tasks:
        best, median, ours = timed(ours_fn, ours_n)
        base_best, _, theirs = timed(base_fn, base_n)
        lyopronto = LYOPRONTO_S[name]
        verdict = "met" if lyopronto / median >= TARGET_RATIO else "NOT met"
        print(
            f"{name:<14}{best * 1e3:>9.2f}ms{median * 1e3:>8.2f}ms{base_best * 1e3:>9.1f}ms"
            f"{base_best / best:>9.0f}x{lyopronto:>10.2f}s{lyopronto / median:>9.0f}x  {verdict}"
        )
        answers.append((name, ours, theirs))
    print()
    print(
        f"{'answers':<14}{'time ours':>11}{'baseline':>10}{'diff':>9}"
        f"{'Tmax ours':>11}{'baseline':>10}{'diff':>9}   (h, °C)"
    )
    for name, ours, theirs in answers:
        for k, ((t1, m1), (t2, m2)) in enumerate(zip(ours, theirs, strict=True)):
            label = name
            if len(ours) > 1:
                label = f"{SETPOINTS[k // len(PRESSURES)]:g} °C {PRESSURES[k % len(PRESSURES)]:g} T"
            print(
                f"{label:<14}{t1:>11.4f}{t2:>10.4f}{t1 - t2:>+9.4f}"
                f"{m1:>11.3f}{m2:>10.3f}{m1 - m2:>+9.3f}"
            )
    print()
    print(
        "speed-up: baseline best / ours best, and LyoPRONTO / ours median; the optimization "
        "includes its forward re-simulation check."
    )
    print(
        "baseline: LyoPRONTO's algorithms re-implemented with scipy (bench/lyo_baseline.py); "
        "LyoPRONTO's own timings on this machine as stated in issue 6."
    )
    print(
        "published: 6.66 h, -14.77 °C (forward); LyoPRONTO's opt_Tsh: 2.123 h (its 0.01 h "
        "Euler steps end early by about 0.1 %)."
    )


if __name__ == "__main__":
    main()
