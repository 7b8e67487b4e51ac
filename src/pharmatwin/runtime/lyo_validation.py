"""Validation of the freeze-drying twin on the virtual freeze dryer: the end of primary drying
forecast part-way through the cycle, against the true end, over many seeds.

For each seed the virtual dryer runs a batch (its own batch parameters, vial-to-vial spread,
thermocouple vials; no fault). The twin gets the data up to ``at_fraction`` of the true end of
primary drying — the moment the last vial's ice is gone, where the Pirani / manometer ratio
falls to one — and forecasts that end (median of its ensemble). Acceptance (issue 6): within
10 % of the true end at half the drying time, for every one of at least 20 seeds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from pharmatwin.equipment.lyophilizer.dryer import pack, run_dryer
from pharmatwin.equipment.lyophilizer.dryer_config import DryerScenario
from pharmatwin.equipment.lyophilizer.model_slots import ShelfPrior
from pharmatwin.runtime.lyo_twin import LyoTwin, LyoTwinSettings

TOLERANCE = 0.10
"""Acceptance: relative error of the forecast end (issue 6)."""


@dataclass(frozen=True)
class SeedResult:
    """One seed: the true end, what the twin forecast at the cut-off, and how far off it was.

    Attributes:
        seed: the dryer's seed.
        true_end_h: end of primary drying of the batch (last vial dry), h.
        at_h: when the forecast was made (``at_fraction`` of the true end), h.
        forecast_h: 5/50/95 % of the forecast end, h.
        relative_error: (median forecast − true end) / true end.
        covered: the true end lies within the 5-95 % band.
    """

    seed: int
    true_end_h: float
    at_h: float
    forecast_h: tuple[float, float, float]
    relative_error: float
    covered: bool


@dataclass(frozen=True)
class ValidationReport:
    """All seeds, and whether every one is within ``tolerance``."""

    results: list[SeedResult] = field(default_factory=list)
    at_fraction: float = 0.5
    tolerance: float = TOLERANCE
    seconds: float = 0.0

    @property
    def max_abs_error(self) -> float:
        return max((abs(r.relative_error) for r in self.results), default=float("nan"))

    @property
    def passed(self) -> bool:
        return bool(self.results) and self.max_abs_error <= self.tolerance

    def as_dict(self) -> dict[str, object]:
        return {
            "at_fraction": self.at_fraction,
            "tolerance": self.tolerance,
            "passed": self.passed,
            "max_abs_error": self.max_abs_error,
            "coverage": float(np.mean([r.covered for r in self.results])) if self.results else 0,
            "seconds": self.seconds,
            "seeds": [
                {
                    "seed": r.seed,
                    "true_end_h": r.true_end_h,
                    "at_h": r.at_h,
                    "forecast_p05_h": r.forecast_h[0],
                    "forecast_p50_h": r.forecast_h[1],
                    "forecast_p95_h": r.forecast_h[2],
                    "relative_error": r.relative_error,
                }
                for r in self.results
            ],
        }


def twin_settings_for(scenario: DryerScenario, seed: int) -> LyoTwinSettings:
    """Twin settings that know what a plant knows of this dryer: how many centre and edge
    vials the shelf holds and the vials' spread (from the characterization of vial and dryer);
    not this batch's parameters."""
    edge = int(pack(scenario.vial_count).sum())
    pop = scenario.population
    shelf = ShelfPrior(
        centre_vials=scenario.vial_count - edge,
        edge_vials=edge,
        sigma_kv=pop.kv_vial_cv,
        sigma_rp=pop.rp_vial_cv,
    )
    return LyoTwinSettings(seed=seed, shelf=shelf)


def forecast_at(
    scenario: DryerScenario, at_fraction: float, settings: LyoTwinSettings | None = None
) -> SeedResult:
    """Run the dryer for ``scenario`` and the twin up to ``at_fraction`` of the true end."""
    run = run_dryer(scenario)
    end = run.truth.end_h
    if not np.isfinite(end):
        raise ValueError(f"seed {scenario.seed}: the batch is not dry within max_h")
    # forecasts in between do not change the belief: skip them
    s = replace(settings or twin_settings_for(scenario, scenario.seed), forecast_every_h=math.inf)
    twin = LyoTwin(scenario.plan(), run.data.thermocouple_groups, s)
    session = twin.session()
    every = s.assimilate_every_min / 60.0
    cut = at_fraction * end
    for now in np.arange(every, cut + 1e-9, every):
        session.step(float(now), run.data.until(float(now)))
    band = session.end_quantiles()[0]["batch"]
    return SeedResult(
        seed=scenario.seed,
        true_end_h=end,
        at_h=float(session.now),
        forecast_h=(float(band[0]), float(band[1]), float(band[2])),
        relative_error=float((band[1] - end) / end),
        covered=bool(band[0] <= end <= band[2]),
    )


def validate_end_forecast(
    seeds: int,
    at_fraction: float = 0.5,
    *,
    first_seed: int = 0,
    scenario: DryerScenario | None = None,
    settings: LyoTwinSettings | None = None,
) -> ValidationReport:
    """The twin's end forecast at ``at_fraction`` of the true end for seeds
    ``first_seed .. first_seed + seeds − 1`` of ``scenario`` (default: the nominal reference
    cycle on 398 vials, no fault)."""
    if seeds < 1:
        raise ValueError(f"seeds: need at least 1, got {seeds}")
    if not 0 < at_fraction < 1:
        raise ValueError(f"at_fraction: must be in (0, 1), got {at_fraction}")
    base = scenario or DryerScenario()
    start = time.perf_counter()
    results = [
        forecast_at(base.with_seed(seed), at_fraction, settings)
        for seed in range(first_seed, first_seed + seeds)
    ]
    return ValidationReport(results, at_fraction, TOLERANCE, time.perf_counter() - start)
