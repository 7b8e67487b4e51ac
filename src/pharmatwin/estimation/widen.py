"""Widening an ensemble for a process change it did not foresee.

Only the intensive states (concentrations) are widened - a process change such as a sudden loss
of viability does not move the liquid volume - and the widening is multiplicative (around the
mean logarithm), so no concentration is pushed through zero. Multiplicative inflation of the
ensemble: Anderson & Anderson (1999), Mon. Weather Rev. 127:2741-2758.
"""

from __future__ import annotations

import numpy as np

from pharmatwin.core.model import Model
from pharmatwin.core.types import FloatArray

MAX_FACTOR = 5.0


def widen_states(model: Model, x: FloatArray, weights: FloatArray, factor: float) -> FloatArray:
    """States with the log-spread of every positive intensive state multiplied by ``factor``
    (at most ``MAX_FACTOR``); other states unchanged."""
    factor = float(min(max(factor, 1.0), MAX_FACTOR))
    intensive = np.array([s.intensive for s in model.states])
    out = x.copy()
    sub = x[:, intensive]
    positive = sub > 0
    logs = np.log(np.where(positive, sub, 1.0))
    mean = (weights @ np.where(positive, logs, 0.0)) / np.maximum(weights @ positive, 1e-300)
    widened = np.exp(mean + factor * (logs - mean))
    out[:, intensive] = np.where(positive, widened, sub)
    lower, upper = model.state_bounds()
    return np.asarray(np.clip(out, lower, upper), dtype=float)
