"""Column scaling for multivariate models: autoscaling, centring, Pareto, none (NaN-aware).

Autoscaling divides each centred column by its sample standard deviation (ddof = 1); Pareto
scaling by the square root of it (Eriksson et al. 2006, *Multi- and Megavariate Data Analysis*,
ch. 3; van den Berg et al. 2006, BMC Genomics 7:142). Means and deviations skip NaN (missing).
A column with no spread keeps a scale of 1 so that it stays centred at zero instead of dividing
by zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from pharmatwin.core.types import FloatArray

Scaling = Literal["autoscale", "center", "pareto", "none"]
SCALINGS: tuple[str, ...] = get_args(Scaling)
_TINY = 1e-12
"""Standard deviations below this (relative to the column's magnitude) count as zero."""


class MonitoringInputError(ValueError):
    """Bad input to a multivariate model: the message names the argument and the problem."""


def as_matrix(x: Any, name: str = "x", *, allow_nan: bool = True) -> FloatArray:
    """``x`` as a 2-D float64 array (a 1-D input is one row); infinities are refused."""
    try:
        a = np.array(x, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise MonitoringInputError(f"{name}: not numeric ({exc})") from None
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise MonitoringInputError(f"{name}: expected a 2-D array (rows = observations)")
    if np.isinf(a).any():
        row, col = np.argwhere(np.isinf(a))[0]
        raise MonitoringInputError(f"{name}: infinite value at row {row}, column {col}")
    if not allow_nan and np.isnan(a).any():
        row, col = np.argwhere(np.isnan(a))[0]
        raise MonitoringInputError(f"{name}: missing value at row {row}, column {col}")
    return a


def check_scaling(how: str) -> Scaling:
    """``how`` validated as one of ``SCALINGS``."""
    if how not in SCALINGS:
        raise MonitoringInputError(f"scaling: {how!r} is not one of {', '.join(SCALINGS)}")
    return how  # type: ignore[return-value]


@dataclass(frozen=True)
class Scaler:
    """Per-column centre and divisor: ``z = (x - mean) / scale``."""

    mean: FloatArray
    scale: FloatArray
    how: Scaling = "autoscale"

    @classmethod
    def fit(cls, x: FloatArray, how: Scaling = "autoscale") -> Scaler:
        """Centre and scale of each column of ``x`` (rows = observations; NaN skipped)."""
        check_scaling(how)
        a = as_matrix(x)
        observed = (~np.isnan(a)).sum(axis=0)
        if a.shape[0] == 0:
            raise MonitoringInputError("x: no rows")
        empty = np.flatnonzero(observed == 0)
        if empty.size:
            raise MonitoringInputError(f"x: column {empty[0]} has no observed value")
        k = a.shape[1]
        if how == "none":
            return cls(np.zeros(k), np.ones(k), how)
        mean = np.nanmean(a, axis=0)
        if how == "center":
            return cls(mean, np.ones(k), how)
        few = np.flatnonzero(observed < 2)
        if few.size:
            raise MonitoringInputError(f"x: column {few[0]} has fewer than 2 observed values")
        std = np.nanstd(a, axis=0, ddof=1)
        flat = std <= _TINY * np.maximum(1.0, np.abs(mean))
        std = np.where(flat, 1.0, std)
        scale = std if how == "autoscale" else np.sqrt(std)
        return cls(mean, scale, how)

    @property
    def n_vars(self) -> int:
        return int(self.mean.size)

    def transform(self, x: FloatArray) -> FloatArray:
        """Scaled copy of ``x`` (NaN stays NaN)."""
        a = as_matrix(x)
        self._check_width(a)
        return (a - self.mean) / self.scale

    def inverse(self, z: FloatArray) -> FloatArray:
        """Back from the scaled space to the original units."""
        a = as_matrix(z, "z")
        self._check_width(a, "z")
        return a * self.scale + self.mean

    def _check_width(self, a: FloatArray, name: str = "x") -> None:
        if a.shape[1] != self.n_vars:
            raise MonitoringInputError(
                f"{name}: {a.shape[1]} columns, the model was fitted on {self.n_vars}"
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {"how": self.how, "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        """Inverse of ``to_dict``; names the field that is wrong."""
        how = check_scaling(str(data.get("how", "")))
        mean = _vector(data, "mean")
        scale = _vector(data, "scale")
        if mean.size != scale.size:
            raise MonitoringInputError("scaler.scale: length differs from scaler.mean")
        if np.any(scale <= 0):
            raise MonitoringInputError("scaler.scale: values must be positive")
        return cls(mean, scale, how)


def _vector(data: dict[str, Any], key: str) -> FloatArray:
    if key not in data:
        raise MonitoringInputError(f"scaler.{key}: missing")
    try:
        v = np.asarray(data[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise MonitoringInputError(f"scaler.{key}: not a list of numbers") from None
    if v.ndim != 1 or not np.isfinite(v).all():
        raise MonitoringInputError(f"scaler.{key}: must be a list of finite numbers")
    return v


def require(data: dict[str, Any], key: str, kind: type) -> Any:
    """``data[key]`` checked to be a ``kind`` (for model files); names the field otherwise."""
    if key not in data:
        raise MonitoringInputError(f"{key}: missing")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MonitoringInputError(f"{key}: expected {kind.__name__}")
    return value


def require_array(data: dict[str, Any], key: str, ndim: int) -> FloatArray:
    """``data[key]`` as a finite float array of ``ndim`` dimensions; names the field otherwise."""
    if key not in data:
        raise MonitoringInputError(f"{key}: missing")
    try:
        a = np.asarray(data[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise MonitoringInputError(f"{key}: not an array of numbers") from None
    if a.ndim != ndim or not np.isfinite(a).all():
        raise MonitoringInputError(f"{key}: expected a {ndim}-D array of finite numbers")
    return a
