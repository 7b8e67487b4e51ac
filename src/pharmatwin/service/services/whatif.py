"""What-if: one action evaluated on a live twin's current belief.

The candidate schedule is built exactly as the twin builds its own candidates
(``bioreactor_twin.TwinSession.step``): the inputs measured up to the twin's hour, the recent
deviations carried forward, and the action applied from now on; the baseline is the schedule
the twin currently believes is being run. Both are forecast to harvest from the same belief
(``forecasting.whatif.evaluate``).
"""

from __future__ import annotations

from pharmatwin.core.actions import Action
from pharmatwin.core.schedule import medium_vector
from pharmatwin.forecasting.whatif import Recommendation, evaluate
from pharmatwin.runtime.live_twin import LiveTwin
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.schemas.twins import WhatIfOut
from pharmatwin.service.services.errors import BadInputError, UnavailableError

RANK_BY = "titre"


def check_action(live: LiveTwin, action: Action) -> None:
    """Refuse an action naming an input or medium the twin's model or recipe does not have."""
    twin = live.twin
    if action.input is not None and action.input not in twin.names:
        raise BadInputError(
            "action.input", f"{action.input!r} is not an input; one of {', '.join(twin.names)}"
        )
    if action.kind == "bolus" and action.medium is not None:
        try:
            medium_vector(type(twin.model), twin.recipe, action.medium)
        except (KeyError, ValueError) as exc:
            raise BadInputError("action.medium", str(exc).strip("'\"")) from None


def evaluate_action(live: LiveTwin, action: Action) -> tuple[float, int, Recommendation]:
    """The forecast effect of ``action`` on ``live``'s belief now: (hour, members, result)."""
    session = live.session
    check_action(live, action)
    twin = live.twin
    frame = live.store.batch_samples(live.batch.batch_id, list(live.signal_of))
    record = live.record(frame)
    with live.stepping:  # belief, hour and schedules of one and the same step
        belief = session.tracker.belief
        hour = session.hour
        if hour < 1.0 or belief.t != hour:
            raise UnavailableError(f"asset {live.asset.name}: the twin has not stepped an hour yet")
        if session.finished:
            raise UnavailableError(f"asset {live.asset.name}: the batch is finished")
        candidate = session.candidate_schedule(record, action)
        baseline = session.current.schedule
    ranked = evaluate(
        twin.model, belief, twin.specs, baseline, {action.name: candidate}, rank_by=RANK_BY
    )
    return hour, belief.members, ranked[0]


class WhatIfService:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def evaluate(self, asset: str, action: Action) -> WhatIfOut:
        live = self.context.live_twin(asset)
        if live is None:
            raise UnavailableError(f"asset {asset!r}: no live twin runs in this service")
        hour, members, r = evaluate_action(live, action)
        return WhatIfOut(
            asset=asset,
            action=action.name,
            at_h=hour,
            members=members,
            p_ok_before=r.p_ok_before,
            p_ok_after=r.p_ok_after,
            expected_titre_before=r.expected_before,
            expected_titre_after=r.expected_after,
        )
