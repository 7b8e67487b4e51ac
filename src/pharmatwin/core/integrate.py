"""Ensemble ODE integration: all members at once, one shared adaptive step.

The method is the explicit Runge-Kutta pair of Dormand and Prince (1980, J. Comput. Appl. Math.
6:19-26), order 5 with an embedded order-4 error estimate, first-same-as-last. The step size is
shared by every member and controlled by the worst member's scaled error, so one Python-level step
advances the whole ensemble with a handful of array operations. Values between steps come from
the method's own continuous extension of order 4.

States with a finite lower bound (concentrations) are kept at or above it after every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pharmatwin.core.dopri5 import A, C, E, P
from pharmatwin.core.types import FloatArray

Derivative = Callable[[float, FloatArray], FloatArray]

_SAFETY = 0.9
_SMALLEST_STEP = 1e-10
"""Relative to max(1, |t|): a step this small means the problem cannot be integrated."""


class IntegrationError(RuntimeError):
    """The integration cannot go on: non-finite derivatives, or a step size that collapsed."""


def check_step(h: float, t: float) -> None:
    """Raise :class:`IntegrationError` when ``h`` has collapsed at time ``t``."""
    if not h > _SMALLEST_STEP * max(1.0, abs(t)):
        raise IntegrationError(
            f"step size collapsed to {h:.3g} at t = {t:.6g}: the model returns non-finite "
            "derivatives there or is too stiff for this method"
        )


_MIN_FACTOR = 0.2
_MAX_FACTOR = 5.0


@dataclass
class Stats:
    """Work counters of an integration."""

    steps: int = 0
    rejected: int = 0
    rhs_calls: int = 0

    def add(self, other: Stats) -> None:
        self.steps += other.steps
        self.rejected += other.rejected
        self.rhs_calls += other.rhs_calls


@dataclass
class Tolerances:
    """Error control: accept a step when ``|err| <= atol + rtol * |x|`` in RMS over states."""

    rtol: float = 1e-6
    atol: FloatArray = field(default_factory=lambda: np.array(1e-6))
    max_step: float = np.inf

    def __post_init__(self) -> None:
        if not 0 < self.rtol < 1:
            raise ValueError(f"rtol: must be in (0, 1), got {self.rtol}")
        if np.any(np.asarray(self.atol) <= 0):
            raise ValueError("atol: every entry must be positive")


@dataclass
class Dense:
    """Requested output times inside one integration call and the buffer they fill."""

    times: FloatArray
    out: FloatArray  # (len(times), members, n_states)
    filled: int = 0


def integrate(
    f: Derivative,
    t0: float,
    t1: float,
    x0: FloatArray,
    tol: Tolerances,
    *,
    lower: FloatArray | None = None,
    h0: float | None = None,
    dense: Dense | None = None,
) -> tuple[FloatArray, float, Stats]:
    """Integrate ``dx/dt = f(t, x)`` from ``t0`` to exactly ``t1`` for every member at once.

    Args:
        f: derivative on ``(members, n_states)`` arrays; inputs must be smooth on ``[t0, t1]``.
        x0: initial states, ``(members, n_states)``.
        tol: tolerances and maximum step.
        lower: per-state lower bounds kept after every step (``-inf`` where none).
        h0: first trial step; estimated from the derivative when None.
        dense: output times in ``(t0, t1]`` to fill by interpolation.

    Returns:
        The states at ``t1``, a suggested next step size, and the work counters.
    """
    stats = Stats()
    x = np.array(x0, dtype=float)
    t = t0
    if t1 <= t0:
        return x, h0 or tol.max_step, stats
    k1 = f(t, x)
    stats.rhs_calls += 1
    h = h0 if h0 is not None else initial_step(x, k1, tol)
    h = min(h, tol.max_step)
    clip = lower is not None and bool(np.any(np.isfinite(lower)))
    while t < t1:
        last = t + h >= t1 - 1e-12 * max(1.0, abs(t1))
        if last:
            h = t1 - t
        x_new, ks, err = _dp_step(f, t, x, k1, h)
        k7 = ks[6]
        stats.rhs_calls += 6
        norm = error_norm(err, x, x_new, tol)
        if not norm <= 1.0:  # also catches NaN
            stats.rejected += 1
            h *= max(_MIN_FACTOR, _SAFETY * norm**-0.2) if np.isfinite(norm) else _MIN_FACTOR
            check_step(h, t)
            continue
        stats.steps += 1
        t_new = t1 if last else t + h
        if dense is not None:
            _fill_dense(dense, t, t_new, x, ks)
        if clip and lower is not None and np.any(x_new < lower):
            x_new = np.maximum(x_new, lower)
            k7 = f(t_new, x_new)
            stats.rhs_calls += 1
        t, x, k1 = t_new, x_new, k7
        factor = _MAX_FACTOR if norm == 0 else min(_MAX_FACTOR, _SAFETY * norm**-0.2)
        h = min(h * factor, tol.max_step)
    return x, h, stats


def _dp_step(
    f: Derivative, t: float, x: FloatArray, k1: FloatArray, h: float
) -> tuple[FloatArray, list[FloatArray], FloatArray]:
    """One Dormand-Prince step: the order-5 state, the seven stage slopes, the error vector."""
    ks = [k1]
    for i in range(1, 7):
        increment = sum(
            (a * k for a, k in zip(A[i], ks, strict=False) if a != 0.0), np.zeros_like(x)
        )
        stage_x = x + h * increment
        if i == 6:
            x_new = stage_x
        ks.append(f(t + C[i] * h, stage_x))
    err = h * sum((e * k for e, k in zip(E, ks, strict=True) if e != 0.0), np.zeros_like(x))
    return x_new, ks, err


def error_norm(err: FloatArray, x: FloatArray, x_new: FloatArray, tol: Tolerances) -> float:
    scale = tol.atol + tol.rtol * np.maximum(np.abs(x), np.abs(x_new))
    per_member = np.sqrt(np.mean((err / scale) ** 2, axis=-1))
    return float(np.max(per_member))


def initial_step(x: FloatArray, k: FloatArray, tol: Tolerances) -> float:
    """A first trial step from the scaled sizes of the state and its derivative (Hairer I.II.4)."""
    scale = tol.atol + tol.rtol * np.abs(x)
    d0 = float(np.sqrt(np.mean((x / scale) ** 2)))
    d1 = float(np.sqrt(np.mean((k / scale) ** 2)))
    h = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    return min(h, tol.max_step)


def _fill_dense(dense: Dense, t: float, t_new: float, x: FloatArray, ks: list[FloatArray]) -> None:
    """Values at the requested times in ``(t, t_new]`` from the continuous extension."""
    h = t_new - t
    while dense.filled < len(dense.times) and dense.times[dense.filled] <= t_new:
        theta = (dense.times[dense.filled] - t) / h
        powers = (theta, theta**2, theta**3, theta**4)
        weights = [sum(c * w for c, w in zip(row, powers, strict=True)) for row in P]
        dense.out[dense.filled] = x + h * sum(
            (w * k for w, k in zip(weights, ks, strict=True) if w != 0.0), np.zeros_like(x)
        )
        dense.filled += 1
