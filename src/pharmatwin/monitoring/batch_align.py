"""Alignment of batch trajectories on a common maturity grid.

Batches of one recipe run at different paces, and their data arrive at their own rates. Before
batches can be compared point by point, each is put on a common axis of *maturity*: batch time
when the recipe is time-based (every batch runs the same phases at the same hours), or a
monotone indicator variable (cumulative feed, conversion, consumed substrate) normalised from 0
to 1 when the pace varies (Nomikos & MacGregor 1994, AIChE J 40:1361; Kourti 2003, J Chemometr
17:93). The trajectory is then summarised per maturity bin (means of fast signals, increments of
cumulative ones, the latest value of a delayed laboratory result) or interpolated on a grid.

When no indicator exists, dynamic time warping (DTW) aligns a batch to a reference trajectory
(Kassidas, MacGregor & Taylor 1998, AIChE J 44:864): a symmetric warping with a band constraint
(Sakoe & Chiba 1978) minimises the weighted squared distance, and the batch is synchronised to
the reference by averaging the batch points mapped to each reference point.

All arrays are float64; NaN marks a missing value. Time-like arguments are in the caller's unit
(the bioreactor uses hours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray, IndexArray


class AlignmentError(ValueError):
    """Input to an alignment function is not usable; the message names the argument."""


def maturity_from_indicator(
    indicator: FloatArray, start: float | None = None, end: float | None = None
) -> FloatArray:
    """Maturity in [0, 1] from an indicator variable that grows over the batch.

    The indicator is made monotone by its running maximum (noise must not move maturity
    backwards) and scaled so that ``start`` (default: its first value) is 0 and ``end``
    (default: its last value) is 1. NaN readings take the maturity reached before them.
    """
    ind = np.asarray(indicator, dtype=float)
    if ind.ndim != 1 or ind.size < 2:
        raise AlignmentError("indicator: need a 1-D series of at least 2 values")
    finite = np.isfinite(ind)
    if not finite.any():
        raise AlignmentError("indicator: no finite value")
    first = float(ind[finite][0])
    filled = np.where(finite, ind, -np.inf)
    filled[0] = filled[0] if finite[0] else first
    running = np.maximum.accumulate(filled)
    lo = first if start is None else float(start)
    hi = float(running[-1]) if end is None else float(end)
    if not hi > lo:
        raise AlignmentError(f"indicator: does not progress (start {lo:g}, end {hi:g})")
    return np.asarray(np.clip((running - lo) / (hi - lo), 0.0, 1.0), dtype=float)


def _check_series(maturity: FloatArray, values: FloatArray, name: str) -> FloatArray:
    m = np.asarray(maturity, dtype=float)
    if m.ndim != 1:
        raise AlignmentError(f"{name}: maturity must be 1-D, got shape {m.shape}")
    if np.asarray(values).shape[:1] != m.shape:
        raise AlignmentError(
            f"{name}: values have {np.asarray(values).shape[:1]} rows for {m.size} maturities"
        )
    if m.size > 1 and np.any(np.diff(m) < 0):
        raise AlignmentError(f"{name}: maturity must not decrease")
    return m


def _check_edges(edges: FloatArray) -> FloatArray:
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
        raise AlignmentError("edges: need at least 2 strictly increasing bin edges")
    return e


def bin_means(maturity: FloatArray, values: FloatArray, edges: FloatArray) -> FloatArray:
    """Mean of the values falling in each maturity bin ``[edges[k], edges[k+1])``.

    ``values`` is ``(n, ...)`` (e.g. ``(n, members)``); the result is ``(n_bins, ...)``, NaN
    where a bin holds no finite value. NaN values are left out of the means.
    """
    m = _check_series(maturity, values, "bin_means")
    e = _check_edges(edges)
    v = np.asarray(values, dtype=float)
    n_bins = e.size - 1
    idx = np.searchsorted(e, m, side="right") - 1
    inside = (idx >= 0) & (idx < n_bins)
    flat = v.reshape(v.shape[0], -1)[inside]
    ok = np.isfinite(flat)
    sums = np.zeros((n_bins, flat.shape[1]))
    counts = np.zeros((n_bins, flat.shape[1]))
    np.add.at(sums, idx[inside], np.where(ok, flat, 0.0))
    np.add.at(counts, idx[inside], ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    return out.reshape((n_bins, *v.shape[1:]))


def bin_increments(maturity: FloatArray, totals: FloatArray, edges: FloatArray) -> FloatArray:
    """Increase of a cumulative signal (a totalizer) over each maturity bin.

    The totals are interpolated linearly at the bin edges, and held at the first or last
    reading for an edge at most one sampling interval beyond it (a reading every minute does
    not fall exactly on the end of the batch); bins not covered by the series are NaN. Divide
    by the bin width for a mean rate. ``totals`` is ``(n, ...)``.
    """
    m = _check_series(maturity, totals, "bin_increments")
    e = _check_edges(edges)
    v = np.asarray(totals, dtype=float)
    flat = v.reshape(v.shape[0], -1)
    at = np.full((e.size, flat.shape[1]), np.nan)
    for j in range(flat.shape[1]):
        ok = np.isfinite(flat[:, j])
        if ok.sum() < 2:
            continue
        mj, vj = m[ok], flat[ok, j]
        step = float(np.median(np.diff(mj)))
        col = np.interp(e, mj, vj, left=np.nan, right=np.nan)
        col[(e < mj[0]) & (e >= mj[0] - step)] = vj[0]
        col[(e > mj[-1]) & (e <= mj[-1] + step)] = vj[-1]
        at[:, j] = col
    return np.diff(at, axis=0).reshape((e.size - 1, *v.shape[1:]))


def held_values(available: FloatArray, values: FloatArray, edges: FloatArray) -> FloatArray:
    """Latest value available by the end of each maturity bin (zero-order hold).

    For results that arrive late and sparsely (laboratory assays): ``available`` is when
    each became known, in time order; ``values`` is ``(n, ...)``. Bins before the first
    result are NaN; a NaN result does not replace the one held before it.
    """
    a = _check_series(available, values, "held_values")
    e = _check_edges(edges)
    v = np.asarray(values, dtype=float)
    flat = v.reshape(v.shape[0], -1)
    known = np.searchsorted(a, e[1:], side="right")  # results known by each bin's end
    out = np.full((e.size - 1, flat.shape[1]), np.nan)
    for j in range(flat.shape[1]):
        ok = np.flatnonzero(np.isfinite(flat[:, j]))
        if ok.size == 0:
            continue
        last = np.searchsorted(ok, known, side="left") - 1  # last finite result known
        has = last >= 0
        out[has, j] = flat[ok[last[has]], j]
    return out.reshape((e.size - 1, *v.shape[1:]))


def resample(maturity: FloatArray, values: FloatArray, grid: FloatArray) -> FloatArray:
    """Linear interpolation of ``values`` ``(n, ...)`` at ``grid`` maturities; NaN outside the
    range the series covers (no extrapolation)."""
    m = _check_series(maturity, values, "resample")
    g = np.asarray(grid, dtype=float)
    v = np.asarray(values, dtype=float)
    flat = v.reshape(v.shape[0], -1)
    out = np.full((g.size, flat.shape[1]), np.nan)
    for j in range(flat.shape[1]):
        ok = np.isfinite(flat[:, j])
        if ok.sum() >= 2:
            out[:, j] = np.interp(g, m[ok], flat[ok, j], left=np.nan, right=np.nan)
    return out.reshape((g.size, *v.shape[1:]))


@dataclass(frozen=True)
class WarpPath:
    """A DTW warping path: pairs ``(reference[k], batch[k])`` of indices, both non-decreasing.

    Attributes:
        reference, batch: matched indices.
        distance: total weighted squared distance along the path.
    """

    reference: IndexArray
    batch: IndexArray
    distance: float


def dtw_path(
    reference: FloatArray,
    batch: FloatArray,
    weights: FloatArray | None = None,
    band: int | None = None,
) -> WarpPath:
    """Symmetric DTW of ``batch`` ``(n, v)`` to ``reference`` ``(g, v)`` (Kassidas et al.
    1998, eq. 3-5): local steps (1, 0), (0, 1), (1, 1); squared distance weighted per
    variable by ``weights`` (default 1); ``band`` limits ``|i - j * g / n|`` (Sakoe-Chiba).
    Both series should be scaled alike beforehand (e.g. by the reference batches' spread).
    """
    r = np.asarray(reference, dtype=float)
    b = np.asarray(batch, dtype=float)
    if r.ndim != 2 or b.ndim != 2 or r.shape[1] != b.shape[1]:
        raise AlignmentError(f"dtw: reference {r.shape} and batch {b.shape} must be (n, v) alike")
    if not (np.isfinite(r).all() and np.isfinite(b).all()):
        raise AlignmentError("dtw: reference and batch must be finite (fill gaps first)")
    w = np.ones(r.shape[1]) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (r.shape[1],) or np.any(w < 0):
        raise AlignmentError(f"weights: need {r.shape[1]} non-negative values")
    g, n = r.shape[0], b.shape[0]
    cost = (((r[:, None, :] - b[None, :, :]) ** 2) * w).sum(axis=2)
    if band is not None:
        if band < 1:
            raise AlignmentError(f"band: must be at least 1, got {band}")
        slope = (g - 1) / max(n - 1, 1)
        off = np.abs(np.arange(g)[:, None] - slope * np.arange(n)[None, :])
        cost = np.where(off <= band + 1e-9, cost, np.inf)
    acc = _accumulate(cost)
    if not np.isfinite(acc[-1, -1]):
        raise AlignmentError(f"band: {band} is too narrow to join the two ends")
    i_path, j_path = _backtrack(acc)
    return WarpPath(i_path, j_path, float(acc[-1, -1]))


def _accumulate(cost: FloatArray) -> FloatArray:
    """Accumulated cost D[i, j] = c[i, j] + min(D[i-1, j-1], D[i-1, j], D[i, j-1]).

    Each row is one vectorised min-plus scan over its finite (in-band) stretch: with S the
    running sum of the row's costs, D[i, j] = S[j] + min over l <= j of
    (min(D[i-1, l-1], D[i-1, l]) - S[l-1]).
    """
    g, n = cost.shape
    acc = np.full((g, n), np.inf)
    for i in range(g):
        finite = np.flatnonzero(np.isfinite(cost[i]))
        if finite.size == 0:
            continue
        lo, hi = int(finite[0]), int(finite[-1]) + 1
        if finite.size != hi - lo:
            raise AlignmentError("dtw: the allowed region of a row must be contiguous")
        c = cost[i, lo:hi]
        if i == 0:
            a = np.full(hi - lo, np.inf)
            a[0] = 0.0 if lo == 0 else np.inf
        else:
            above = acc[i - 1, lo:hi]
            diag = acc[i - 1, lo - 1 : hi - 1] if lo > 0 else np.r_[np.inf, acc[i - 1, : hi - 1]]
            a = np.minimum(above, diag)
        s = np.cumsum(c)
        s_prev = np.r_[0.0, s[:-1]]
        acc[i, lo:hi] = s + np.minimum.accumulate(a - s_prev)
    return acc


def _backtrack(acc: FloatArray) -> tuple[IndexArray, IndexArray]:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            options = (acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
            step = int(np.argmin(options))
            i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
        path.append((i, j))
    path.reverse()
    pairs = np.array(path, dtype=np.intp)
    return pairs[:, 0], pairs[:, 1]


def dtw_align(
    reference: FloatArray,
    batch: FloatArray,
    weights: FloatArray | None = None,
    band: int | None = None,
) -> tuple[FloatArray, WarpPath]:
    """``batch`` synchronised to the length of ``reference``: each reference point takes the
    mean of the batch points the warping path maps to it (Kassidas et al. 1998, section 3.3).
    Returns the aligned batch ``(g, v)`` and the path."""
    path = dtw_path(reference, batch, weights, band)
    b = np.asarray(batch, dtype=float)
    g = np.asarray(reference).shape[0]
    sums = np.zeros((g, b.shape[1]))
    np.add.at(sums, path.reference, b[path.batch])
    counts = np.bincount(path.reference, minlength=g).astype(float)
    return sums / counts[:, None], path
