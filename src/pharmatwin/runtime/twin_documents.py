"""What a bioreactor twin produced, as JSON-ready documents.

The same documents are printed by ``pharmatwin twin replay --json`` and stored in the historian
by the live runtime, so the two can be compared line by line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pharmatwin.core.belief import Belief
from pharmatwin.core.model import Model
from pharmatwin.core.types import FloatArray
from pharmatwin.estimation.sensor_check import SensorFault
from pharmatwin.forecasting.alarms import Alarm
from pharmatwin.forecasting.forecast import Forecast
from pharmatwin.forecasting.whatif import Recommendation


def number(value: float) -> float | None:
    """``value`` rounded for documents; NaN becomes None (JSON has no NaN)."""
    return None if math.isnan(value) else round(float(value), 4)


def alarm_document(a: Alarm) -> dict[str, Any]:
    return {
        "raised_at_h": a.raised_at_h,
        "spec": a.spec,
        "probability": round(a.probability, 4),
        "predicted_violation_h": number(a.predicted_violation_h),
        "lead_time_h": number(a.lead_time_h),
        "kind": a.kind,
        "evidence": a.evidence,
        "cleared_at_h": a.cleared_at_h,
    }


def fault_document(f: SensorFault) -> dict[str, Any]:
    return {
        "tag": f.tag,
        "detected_at_h": f.detected_at_h,
        "bias": round(f.bias, 4),
        "drift_per_day": round(f.drift_per_day, 4),
    }


def forecast_document(fc: Forecast) -> dict[str, Any]:
    """CQA quantiles (5/50/95 %) at harvest and the probability of failing each spec."""
    return {
        "t_h": fc.t,
        "cqa": {
            s.spec.name: {
                "p05": number(s.value_quantiles[0]),
                "p50": number(s.value_quantiles[1]),
                "p95": number(s.value_quantiles[2]),
                "p_fail": round(s.p_fail, 4),
            }
            for s in fc.specs
        },
    }


def ranking_document(t_h: float, ranked: list[Recommendation]) -> dict[str, Any]:
    return {
        "t_h": t_h,
        "ranked": [
            {
                "action": r.action,
                "p_ok_before": round(r.p_ok_before, 4),
                "p_ok_after": round(r.p_ok_after, 4),
                "expected_titre_before": round(r.expected_before, 4),
                "expected_titre_after": round(r.expected_after, 4),
            }
            for r in ranked
        ],
    }


def belief_document(
    model: Model, belief: Belief, parameters: tuple[str, ...], inputs: FloatArray | None = None
) -> dict[str, Any]:
    """Weighted mean and 5/95 % of every state and of the estimated parameters; with the
    ``inputs`` in force at the belief's time (``(n_inputs,)``), also of every model output —
    the twin's estimate of what each sensor or assay should read."""
    x = belief.quantiles(belief.x, (0.05, 0.95))
    mean_x = belief.mean_state()
    cols = [model.parameter_index(n) for n in parameters]
    p = belief.quantiles(belief.p[:, cols], (0.05, 0.95))
    mean_p = belief.weights @ belief.p[:, cols]
    document: dict[str, Any] = {
        "t_h": belief.t,
        "states": {
            name: {"mean": number(mean_x[j]), "p05": number(x[0, j]), "p95": number(x[1, j])}
            for j, name in enumerate(model.state_names())
        },
        "parameters": {
            name: {"mean": number(mean_p[k]), "p05": number(p[0, k]), "p95": number(p[1, k])}
            for k, name in enumerate(parameters)
        },
    }
    if inputs is not None:
        u = np.broadcast_to(inputs, (belief.x.shape[0], len(model.inputs)))
        y = model.measure(belief.x, np.ascontiguousarray(u), belief.p)
        band = belief.quantiles(y, (0.05, 0.95))
        mean_y = belief.weights @ y
        document["outputs"] = {
            name: {"mean": number(mean_y[j]), "p05": number(band[0, j]), "p95": number(band[1, j])}
            for j, name in enumerate(model.output_names())
        }
    return document
