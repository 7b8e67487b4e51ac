"""Contributions of each variable to T² and SPE, and the projection of rows with missing values.

T² contributions are the variable-wise complete decomposition: with the scores a linear map of
the observed scaled values, ``t = M z``, ``T² = t' S⁻¹ t = sum_j z_j (M' S⁻¹ t)_j``, so
``c_j = z_j (M' S⁻¹ t)_j`` sums exactly to T² (values may be negative). For complete data and
PCA (``M = P'``) this is the contribution of Westerhuis, Gurden & Smilde (2000, Chemom. Intell.
Lab. Syst. 51:95) summed over all components, also called the complete decomposition
contribution (Alcala & Qin 2009, Automatica 45:1593). SPE contributions are the squared
residuals ``e_j²``. Variables that were missing contribute 0 to both.

The scores of rows with missing values come from the observed variables only (projection to
the model plane for PCA, single-component projection for PLS: Nelson, Taylor & MacGregor 1996,
Chemom. Intell. Lab. Syst. 35:45); ``M`` is then specific to each row's missing pattern.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pharmatwin.core.types import FloatArray


def chunk_rows(a: int, k: int, budget: int = 2_000_000) -> int:
    """Rows to project at once when each row needs its own ``a x k`` matrix (bounded memory)."""
    return max(1, budget // max(1, a * k))


@dataclass(frozen=True)
class Projection:
    """Scores, residuals and the T² gradient of each row (scaled units)."""

    scores: FloatArray
    """(n, a); NaN for a row whose observed variables cannot determine the scores."""
    residuals: FloatArray
    """(n, k) of scaled x minus its reconstruction; NaN where x was missing."""
    t2_gradient: FloatArray
    """(n, k): ``M' S⁻¹ t`` (0 where missing), so that the T² contributions are ``z * this``."""
    z: FloatArray
    """(n, k) scaled data (NaN = missing)."""

    def t2(self) -> FloatArray:
        out: FloatArray = np.einsum("ij,ij->i", np.nan_to_num(self.z), self.t2_gradient)
        out[np.isnan(self.scores).any(axis=1)] = np.nan
        return out

    def spe(self) -> FloatArray:
        e = self.residuals
        out: FloatArray = np.nansum(e * e, axis=1)
        out[np.isnan(self.scores).any(axis=1)] = np.nan
        return out

    def t2_contributions(self) -> FloatArray:
        return t2_contributions(self.z, self.t2_gradient)

    def spe_contributions(self) -> FloatArray:
        return spe_contributions(self.residuals)


def t2_contributions(z: FloatArray, t2_gradient: FloatArray) -> FloatArray:
    """``c_ij = z_ij g_ij`` (missing -> 0); each row sums to its T²."""
    return np.nan_to_num(z) * t2_gradient


def spe_contributions(residuals: FloatArray) -> FloatArray:
    """Squared residuals (missing -> 0); each row sums to its SPE."""
    return np.nan_to_num(residuals * residuals)


def top_variables(
    contributions: FloatArray, names: Sequence[str] | None = None, count: int = 1
) -> list[list[str]]:
    """The ``count`` largest contributors of each row, by absolute value, as names (or indices)."""
    c = np.abs(np.nan_to_num(np.atleast_2d(contributions)))
    k = c.shape[1]
    labels = list(names) if names is not None else [str(j) for j in range(k)]
    if len(labels) != k:
        raise ValueError(f"names: {len(labels)} names for {k} variables")
    order = np.argsort(-c, axis=1, kind="stable")[:, : max(0, count)]
    return [[labels[j] for j in row] for row in order]
