"""Propagating a belief with the model over a schedule of inputs."""

from __future__ import annotations

import numpy as np

from pharmatwin.core.belief import Belief
from pharmatwin.core.model import Model
from pharmatwin.core.schedule import Schedule
from pharmatwin.core.simulate import simulate
from pharmatwin.estimation.tracker import Propagator


def schedule_propagator(model: Model, schedule: Schedule) -> Propagator:
    """A propagator that runs ``model`` on ``schedule`` (events at the start are already in the
    belief; those up to and at the end are applied)."""

    def propagate(belief: Belief, t1: float) -> Belief:
        if t1 <= belief.t:
            return belief
        trajectory = simulate(
            model,
            schedule,
            belief.x,
            belief.p,
            t_out=np.array([belief.t, t1]),
            t_start=belief.t,
            t_end=t1,
            start_events=False,
        )
        return belief.with_(t=t1, x=trajectory.final)

    return propagate
