"""What-if: candidate actions evaluated on the current belief by ensemble forecast.

Each candidate is a schedule for the rest of the batch (the plan with the action applied). The
same belief is forecast under each, and the candidates are ranked by the probability of meeting
every specification, then by the expected value of ``rank_by`` at harvest (e.g. titre).
Probabilities are compared at the resolution of the ensemble: candidates within ``TIE_MARGIN``
of the best remaining one count as equally likely to succeed and are ordered by ``rank_by``
(a 200-member forecast cannot tell 0.98 from 1.0, and harvesting a day early "for certainty"
should not outrank recalibrating a drifting probe with a much higher titre).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pharmatwin.core.belief import Belief
from pharmatwin.core.model import Model
from pharmatwin.core.schedule import Schedule
from pharmatwin.core.specs import Specification
from pharmatwin.forecasting.forecast import Forecast, forecast

TIE_MARGIN = 0.05
"""Probabilities of success closer than this are not told apart: about two and a half binomial
standard errors of a 200-member estimate at p = 0.9 (sqrt(0.9 * 0.1 / 200) = 0.021)."""


@dataclass(frozen=True)
class Recommendation:
    """A candidate's forecast effect against doing nothing.

    Attributes:
        action: the candidate's name.
        p_ok_before, p_ok_after: probability of meeting every specification.
        expected_before, expected_after: expected ``rank_by`` output at harvest.
    """

    action: str
    p_ok_before: float
    p_ok_after: float
    expected_before: float
    expected_after: float


def evaluate(
    model: Model,
    belief: Belief,
    specs: Sequence[Specification],
    baseline: Schedule | Forecast,
    candidates: Mapping[str, Schedule],
    *,
    rank_by: str,
) -> list[Recommendation]:
    """Rank ``candidates`` (name -> schedule) on ``belief``; best first."""
    before = (
        baseline if isinstance(baseline, Forecast) else forecast(model, baseline, belief, specs)
    )
    rows = []
    for name, schedule in candidates.items():
        after = forecast(model, schedule, belief, specs, step_h=24.0)
        rows.append(
            Recommendation(
                action=name,
                p_ok_before=before.p_all_ok,
                p_ok_after=after.p_all_ok,
                expected_before=before.expected(rank_by),
                expected_after=after.expected(rank_by),
            )
        )
    return rank(rows)


def rank(rows: list[Recommendation], tie_margin: float = TIE_MARGIN) -> list[Recommendation]:
    """Best first: repeatedly, of the candidates left, those within ``tie_margin`` of the
    highest probability of success, by expected value; then the others."""
    left = sorted(rows, key=lambda r: -r.p_ok_after)
    ranked: list[Recommendation] = []
    while left:
        best = left[0].p_ok_after
        group = [r for r in left if r.p_ok_after >= best - tie_margin]
        ranked += sorted(group, key=lambda r: -r.expected_after)
        left = [r for r in left if r.p_ok_after < best - tie_margin]
    return ranked
