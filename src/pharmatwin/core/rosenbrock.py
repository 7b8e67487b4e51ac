"""Stiff ensemble integration: the Rosenbrock method RODAS4, all members at once.

Substrate depletion under Monod kinetics (a half-saturation constant of 0.05-0.1 mM against an
uptake of several mM per hour) makes cell-culture models stiff, and in an ensemble some member is
always depleting something: an explicit method's shared step then shrinks to its stability
limit. A Rosenbrock method is linearly implicit and L-stable, so the step follows accuracy only.

Method: RODAS4 of Hairer & Wanner (Solving ODEs II, 2nd ed., Sec. IV.7), order 4 with an
embedded order-3 estimate, six stages, written in the form of Sandu et al. (1997, Atmos. Environ.
31:3459-3472):

    G = I / (h * gamma) - J,      G K_i = f(t + alpha_i h, x + sum_j A_ij K_j)
                                          + sum_j (C_ij / h) K_j + gamma_i h df/dt
    x_new = x + sum_i M_i K_i,    error = sum_i E_i K_i.

Each member has its own Jacobian (``(members, n, n)``) and its own inverse of ``G``, computed with
batched numpy linear algebra; the step size is shared and set by the worst member's error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pharmatwin.core.integrate import (
    Dense,
    Derivative,
    Stats,
    Tolerances,
    check_step,
    error_norm,
    initial_step,
)
from pharmatwin.core.types import FloatArray

Jacobian = Callable[[float, FloatArray], tuple[FloatArray, FloatArray]]
"""``(t, x) -> (f(t, x), df/dx)`` with shapes ``(members, n)`` and ``(members, n, n)``."""

_GAMMA = 0.25
_ALPHA = (0.0, 0.386, 0.210, 0.630, 1.0, 1.0)
_GAMMA_SUM = (0.25, -0.1043, 0.1035, -0.0362, 0.0, 0.0)
_A = (
    (),
    (1.544,),
    (0.9466785280815826, 0.2557011698983284),
    (3.314825187068521, 2.896124015972201, 0.9986419139977817),
    (1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895),
    (1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0),
)
_C = (
    (),
    (-5.6688,),
    (-2.430093356833875, -0.2063599157091915),
    (-0.1073529058151375, -9.594562251023355, -20.47028614809616),
    (7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616),
    (
        8.083246795921522,
        -7.981132988064893,
        -31.52159432874371,
        16.31930543123136,
        -6.058818238834054,
    ),
)
_M = (1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0, 1.0)
# The error estimate of RODAS4 is the last stage itself (E = (0, 0, 0, 0, 0, 1)).
_ORDER = 4.0

_SAFETY = 0.9
_MIN_FACTOR = 0.2
_MAX_FACTOR = 6.0


def integrate_stiff(
    f: Derivative,
    t0: float,
    t1: float,
    x0: FloatArray,
    tol: Tolerances,
    *,
    jac: Jacobian,
    lower: FloatArray | None = None,
    h0: float | None = None,
    dense: Dense | None = None,
    autonomous: bool = False,
) -> tuple[FloatArray, float, Stats]:
    """Integrate ``dx/dt = f(t, x)`` from ``t0`` to exactly ``t1`` for every member at once.

    Arguments and results as for :func:`pharmatwin.core.integrate.integrate`; ``jac`` gives the
    derivative and its Jacobian at the start of each step. With ``autonomous=False`` the time
    derivative of ``f`` is taken by a finite difference (inputs that ramp within the interval).
    Dense output uses cubic Hermite interpolation between the step's ends (order 3).
    """
    stats = Stats()
    x = np.array(x0, dtype=float)
    t = t0
    if t1 <= t0:
        return x, h0 or tol.max_step, stats
    n = x.shape[1]
    eye = np.eye(n)
    clip = lower is not None and bool(np.any(np.isfinite(lower)))
    f0, J = jac(t, x)
    stats.rhs_calls += n + 1
    h = min(h0 if h0 is not None else initial_step(x, f0, tol), tol.max_step)
    while t < t1:
        last = t + h >= t1 - 1e-12 * max(1.0, abs(t1))
        if last:
            h = t1 - t
        dfdt = (
            None if autonomous else np.asarray((f(t + 1e-7 * h, x) - f0) / (1e-7 * h), dtype=float)
        )
        G_inv: FloatArray = np.asarray(np.linalg.inv(eye / (h * _GAMMA) - J), dtype=float)
        x_new, err, calls = _stages(f, t, (x, f0), h, G_inv=G_inv, dfdt=dfdt)
        stats.rhs_calls += calls + (0 if autonomous else 1)
        norm = error_norm(err, x, x_new, tol)
        if not np.isfinite(norm) or norm > 1.0:
            stats.rejected += 1
            h *= (
                _MIN_FACTOR
                if not np.isfinite(norm)
                else max(_MIN_FACTOR, _SAFETY * norm ** (-1 / _ORDER))
            )
            check_step(h, t)
            continue
        stats.steps += 1
        t_new = t1 if last else t + h
        if clip and lower is not None:
            x_new = np.maximum(x_new, lower)
        f_new, J = jac(t_new, x_new)
        stats.rhs_calls += n + 1
        if dense is not None:
            _hermite(dense, (t, x, f0), (t_new, x_new, f_new))
        t, x, f0 = t_new, x_new, f_new
        factor = _MAX_FACTOR if norm == 0 else min(_MAX_FACTOR, _SAFETY * norm ** (-1 / _ORDER))
        h = min(h * factor, tol.max_step)
    return x, h, stats


def _stages(
    f: Derivative,
    t: float,
    start: tuple[FloatArray, FloatArray],
    h: float,
    *,
    G_inv: FloatArray,
    dfdt: FloatArray | None,
) -> tuple[FloatArray, FloatArray, int]:
    """The six stages of one step from ``start = (x, f(t, x))``: new state, error, calls."""
    x, f0 = start
    ks: list[FloatArray] = []
    calls = 0
    for i in range(6):
        if i == 0:
            fi = f0
        else:
            stage_x = x + sum((a * k for a, k in zip(_A[i], ks, strict=True)), np.zeros_like(x))
            fi = f(t + _ALPHA[i] * h, stage_x)
            calls += 1
        rhs = fi + sum((c / h * k for c, k in zip(_C[i], ks, strict=True)), np.zeros_like(x))
        if dfdt is not None and _GAMMA_SUM[i] != 0.0:
            rhs = rhs + _GAMMA_SUM[i] * h * dfdt
        ks.append(np.einsum("mij,mj->mi", G_inv, rhs))
    x_new = x + sum((m * k for m, k in zip(_M, ks, strict=True)), np.zeros_like(x))
    return x_new, ks[5], calls


def _hermite(
    dense: Dense,
    start: tuple[float, FloatArray, FloatArray],
    end: tuple[float, FloatArray, FloatArray],
) -> None:
    """Cubic Hermite values at the requested times between ``start`` and ``end`` (t, x, f)."""
    t, x, f0 = start
    t_new, x_new, f1 = end
    h = t_new - t
    while dense.filled < len(dense.times) and dense.times[dense.filled] <= t_new:
        s = (dense.times[dense.filled] - t) / h
        dense.out[dense.filled] = (
            (1 + 2 * s) * (1 - s) ** 2 * x
            + s * (1 - s) ** 2 * h * f0
            + s**2 * (3 - 2 * s) * x_new
            + s**2 * (s - 1) * h * f1
        )
        dense.filled += 1


def finite_difference_jacobian(
    f_rows: Derivative, t: float, x: FloatArray, atol: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``f`` and its Jacobian per member by forward differences, in one stacked evaluation.

    ``f_rows`` must accept ``(n + 1) * members`` rows laid out as ``n + 1`` copies of the
    ensemble (the caller repeats inputs and parameters to match).
    """
    members, n = x.shape
    delta = np.sqrt(np.finfo(float).eps) * np.maximum(np.abs(x), 1e3 * atol)
    stacked = np.repeat(x[None, :, :], n + 1, axis=0)
    for j in range(n):
        stacked[j + 1, :, j] += delta[:, j]
    values = f_rows(t, stacked.reshape((n + 1) * members, n)).reshape(n + 1, members, n)
    f0 = values[0]
    # J[m, i, j] = d f_i / d x_j
    J = np.transpose((values[1:] - f0[None]) / delta.T[:, :, None], (1, 2, 0))
    return f0, np.ascontiguousarray(J)
