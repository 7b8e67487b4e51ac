"""A spectroscopic soft sensor: pre-processing + one PLS1 model per analyte, calibrated with
cross-validation grouped by batch, predicting with an uncertainty and a domain check.

* Calibration: for each candidate pre-processing (``spectra.Preprocessing``) and each analyte,
  PRESS of a leave-one-batch-out cross-validation for 0..``max_components`` components (spectra
  of one batch are correlated, so a batch is held out whole; Wold, Sjöström & Eriksson 2001,
  Chemom. Intell. Lab. Syst. 58:109, on validating PLS), the number of components by Wold's R
  ratio (``crossval.choose_by_ratio``), and the candidate with the lowest sum over analytes of
  RMSECV relative to the analyte's spread is kept (pre-processing chosen by validation, as
  advised by Rinnan, van den Berg & Engelsen 2009, TrAC 28:1201). Spectra are mean-centred, not
  autoscaled (autoscaling would lift noise-only wavenumbers to the weight of the bands).
* Prediction uncertainty: ``sd = RMSECV sqrt(1 + h)`` with the leverage ``h = 1/n + T²/(n-1)``
  of the spectrum in the model's score space - the approximate sample-specific prediction error
  of ASTM E1655 (multivariate IR/NIR calibration) and Faber & Kowalski (1997, J. Chemometrics
  11:181). RMSECV includes the reference method's error, so the figure is conservative.
* Domain: a spectrum whose Hotelling T² or SPE in any analyte model's X space exceeds the
  ``alpha`` limit lies outside the calibration and is flagged (ASTM E1655's outlier tests on
  new samples). T²: ``PLSModel.t2_limit`` (F distribution). SPE: moment-matched to the
  held-out SPE of the cross-validation (``AnalyteModel.spe_limit``) - shot noise grows with
  the fluorescence through a batch, and a limit from the fitted residuals flagged a fifth of
  the spectra of independent nominal batches. A prediction outside the range of the reference
  values (widened by one RMSECV) is an extrapolation and is flagged too (ASTM E1655).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from pharmatwin.core.types import AnyArray, BoolArray, FloatArray
from pharmatwin.monitoring.crossval import choose_by_ratio
from pharmatwin.monitoring.pls import PLSModel, fit_pls, nipals_pls
from pharmatwin.monitoring.scaling import MonitoringInputError, Scaler, require, require_array
from pharmatwin.monitoring.spectra import Preprocessing

KIND = "spectral-soft-sensor"

DEFAULT_CANDIDATES: tuple[Preprocessing, ...] = (
    *(
        Preprocessing(regions=regions, window=window, polyorder=order, deriv=deriv)
        for regions in (((800.0, 1500.0),), ((800.0, 1800.0),))
        for window, order, deriv in ((15, 2, 1), (21, 3, 2))
    ),
    Preprocessing(regions=((800.0, 1500.0),), window=15, polyorder=2, deriv=1, use_snv=True),
)
"""Pre-processings tried by ``calibrate``: the glucose/lactate fingerprint (800-1500 cm^-1) or
up to the amide I / water band (800-1800 cm^-1); a first derivative (window 15, quadratic) or a
second (window 21, cubic); and the first with SNV."""


@dataclass(frozen=True)
class AnalyteModel:
    """The calibration of one analyte.

    Attributes:
        name, unit: analyte and its unit.
        model: the PLS1 model on pre-processed spectra.
        rmsec: root mean square error of calibration (fit), in ``unit``.
        rmsecv: root mean square error of the grouped cross-validation at the chosen number of
            components, in ``unit``.
        rmsecv_curve: RMSECV for 1, 2, ... components.
        cv_spe: mean and variance of the SPE of the held-out spectra in the cross-validation
            (the residual a new batch leaves), for the SPE limit.
        reference_range: lowest and highest reference value calibrated on, in ``unit``.
    """

    name: str
    unit: str
    model: PLSModel
    rmsec: float
    rmsecv: float
    rmsecv_curve: tuple[float, ...]
    cv_spe: tuple[float, float]
    reference_range: tuple[float, float]

    def in_range(self, values: FloatArray) -> BoolArray:
        """True where a prediction lies within the calibrated range widened by one RMSECV."""
        low, high = self.reference_range
        v = np.asarray(values, dtype=float)
        return np.asarray((v >= low - self.rmsecv) & (v <= high + self.rmsecv))

    def spe_limit(self, alpha: float) -> float:
        """SPE limit ``g chi2_alpha(h)`` matched to the mean ``m`` and variance ``v`` of the
        cross-validated SPE, ``g = v / 2m``, ``h = 2m^2 / v`` (Nomikos & MacGregor 1995,
        Technometrics 37:41): held-out residuals describe a new batch, where the fitted model's
        own residuals would give too tight a limit."""
        m, v = self.cv_spe
        return v / (2.0 * m) * float(stats.chi2.ppf(alpha, 2.0 * m * m / v))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "model": self.model.to_dict(),
            "rmsec": self.rmsec,
            "rmsecv": self.rmsecv,
            "rmsecv_curve": list(self.rmsecv_curve),
            "cv_spe": list(self.cv_spe),
            "reference_range": list(self.reference_range),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalyteModel:
        return cls(
            name=str(require(data, "name", str)),
            unit=str(require(data, "unit", str)),
            model=PLSModel.from_dict(require(data, "model", dict)),
            rmsec=float(require(data, "rmsec", float)),
            rmsecv=float(require(data, "rmsecv", float)),
            rmsecv_curve=tuple(float(v) for v in require_array(data, "rmsecv_curve", 1)),
            cv_spe=_moments(require_array(data, "cv_spe", 1)),
            reference_range=_pair(require_array(data, "reference_range", 1)),
        )


@dataclass(frozen=True)
class Prediction:
    """Predictions of a soft sensor for ``n`` spectra.

    Attributes:
        names: analytes, in column order.
        values: predicted concentrations ``(n, n_analytes)``.
        sd: their standard uncertainty ``(n, n_analytes)``.
        t2, spe: Hotelling T² and SPE of each spectrum in each analyte model ``(n, n_analytes)``.
        in_range: ``(n,)`` True where every prediction lies in its calibrated range
            (``AnalyteModel.in_range``).
        in_domain: ``(n,)`` True where every T² and SPE is within its limit and ``in_range``.
    """

    names: tuple[str, ...]
    values: FloatArray
    sd: FloatArray
    t2: FloatArray
    spe: FloatArray
    in_range: BoolArray
    in_domain: BoolArray

    def of(self, name: str) -> tuple[FloatArray, FloatArray]:
        """Values and uncertainties of one analyte, each ``(n,)``."""
        if name not in self.names:
            raise MonitoringInputError(f"name: {name!r} is not one of {', '.join(self.names)}")
        j = self.names.index(name)
        return self.values[:, j], self.sd[:, j]


@dataclass(frozen=True)
class SoftSensor:
    """A calibrated soft sensor: pre-processing, axis and the analyte models.

    Attributes:
        preprocessing: the pipeline applied to raw spectra.
        wavenumbers: the raw axis the spectra must have, cm^-1.
        analytes: one calibration per analyte.
        alpha: confidence level of the domain limits.
        t2_limits, spe_limits: the limits of each analyte model, in ``analytes`` order.
    """

    preprocessing: Preprocessing
    wavenumbers: FloatArray
    analytes: tuple[AnalyteModel, ...]
    alpha: float = 0.99
    t2_limits: tuple[float, ...] = field(init=False)
    spe_limits: tuple[float, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise MonitoringInputError(f"alpha: {self.alpha} is not in (0, 1)")
        if not self.analytes:
            raise MonitoringInputError("analytes: at least one analyte model is needed")
        kept = self.preprocessing.kept(self.wavenumbers).size
        for a in self.analytes:
            if a.model.n_vars != kept:
                raise MonitoringInputError(
                    f"analytes.{a.name}: model has {a.model.n_vars} variables, the "
                    f"pre-processing keeps {kept}"
                )
        models = [a.model for a in self.analytes]
        object.__setattr__(self, "t2_limits", tuple(m.t2_limit(self.alpha) for m in models))
        object.__setattr__(
            self, "spe_limits", tuple(a.spe_limit(self.alpha) for a in self.analytes)
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.analytes)

    def analyte(self, name: str) -> AnalyteModel:
        for a in self.analytes:
            if a.name == name:
                return a
        raise MonitoringInputError(f"name: {name!r} is not one of {', '.join(self.names)}")

    def predict(self, spectra: FloatArray) -> Prediction:
        """Concentrations, uncertainties and domain flags of raw ``spectra`` ``(n, w)``."""
        x = np.asarray(spectra, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.wavenumbers.size:
            raise MonitoringInputError(
                f"spectra: expected (n, {self.wavenumbers.size}) on the calibration axis, "
                f"got shape {x.shape}"
            )
        z = self.preprocessing.apply(self.wavenumbers, x)
        cols: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray]] = []
        for a in self.analytes:
            proj = a.model.project(z)
            value = a.model.y_scaler.inverse(proj.scores @ a.model.y_loadings.T)[:, 0]
            t2 = proj.t2()
            n = a.model.n_train
            leverage = 1.0 / n + t2 / (n - 1)
            cols.append((value, a.rmsecv * np.sqrt(1.0 + leverage), t2, proj.spe()))
        values, sd, t2s, spes = (np.stack([c[i] for c in cols], axis=1) for i in range(4))
        inside = (t2s <= np.array(self.t2_limits)) & (spes <= np.array(self.spe_limits))
        ranged = np.stack(
            [a.in_range(values[:, j]) for j, a in enumerate(self.analytes)], axis=1
        ).all(axis=1)
        domain = np.asarray(inside.all(axis=1) & ranged)
        return Prediction(self.names, values, sd, t2s, spes, np.asarray(ranged), domain)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "preprocessing": self.preprocessing.to_dict(),
            "wavenumbers": self.wavenumbers.tolist(),
            "alpha": self.alpha,
            "analytes": [a.to_dict() for a in self.analytes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SoftSensor:
        """Inverse of ``to_dict``; a bad field raises ``MonitoringInputError`` naming it."""
        doc = dict(data)
        if doc.get("kind") != KIND:
            raise MonitoringInputError(f"kind: expected {KIND!r}, got {doc.get('kind')!r}")
        analytes = require(doc, "analytes", list)
        return cls(
            preprocessing=Preprocessing.from_dict(require(doc, "preprocessing", dict)),
            wavenumbers=require_array(doc, "wavenumbers", 1),
            analytes=tuple(AnalyteModel.from_dict(a) for a in analytes),
            alpha=float(require(doc, "alpha", float)),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> SoftSensor:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MonitoringInputError(f"soft sensor: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise MonitoringInputError("soft sensor: expected a JSON object")
        return cls.from_dict(data)


def grouped_cv(
    x: FloatArray, y: FloatArray, groups: AnyArray, max_components: int
) -> tuple[FloatArray, FloatArray]:
    """Leave-one-group-out PRESS of PLS1 for 0..``max_components`` components (``y`` units²)
    ``(max_components + 1,)``, and the SPE of every held-out row ``(max_components + 1, n)``.

    Each held-out group is predicted by a model fitted without it (NIPALS, mean-centred); the
    scores of an ``a``-component model are the first ``a`` of the full model's (NIPALS
    components are nested and ``P'W`` is upper triangular), so one fit per group serves every
    ``a``.
    """
    labels = np.unique(groups)
    if labels.size < 2:
        raise MonitoringInputError("groups: cross-validation needs at least 2 batches")
    press = np.zeros(max_components + 1)
    spe = np.zeros((max_components + 1, y.size))
    for g in labels:
        out = groups == g
        xs, ys = Scaler.fit(x[~out], "center"), Scaler.fit(y[~out, None], "center")
        _, w, p, c = nipals_pls(xs.transform(x[~out]), ys.transform(y[~out, None]), max_components)
        z = xs.transform(x[out])
        t = z @ (w @ np.linalg.inv(p.T @ w))
        for a in range(max_components + 1):
            y_hat = ys.inverse(t[:, :a] @ c[:, :a].T)[:, 0]
            press[a] += float(np.sum((y[out] - y_hat) ** 2))
            spe[a, out] = np.sum((z - t[:, :a] @ p[:, :a].T) ** 2, axis=1)
    return press, spe


@dataclass(frozen=True)
class _Fit:
    preprocessing: Preprocessing
    components: dict[str, int]
    rmsecv: dict[str, FloatArray]
    cv_spe: dict[str, tuple[float, float]]
    score: float


def calibrate(
    wavenumbers: FloatArray,
    spectra: FloatArray,
    references: Mapping[str, FloatArray],
    groups: Sequence[int] | AnyArray,
    *,
    units: Mapping[str, str] | None = None,
    candidates: Sequence[Preprocessing] = DEFAULT_CANDIDATES,
    max_components: int = 10,
    alpha: float = 0.99,
) -> SoftSensor:
    """Calibrate a soft sensor on raw ``spectra`` ``(n, w)`` with reference values
    ``references[name]`` ``(n,)`` and the batch of each spectrum ``groups`` ``(n,)``."""
    x = np.asarray(spectra, dtype=float)
    wn = np.asarray(wavenumbers, dtype=float)
    g = np.asarray(groups)
    if x.ndim != 2 or x.shape[1] != wn.size:
        raise MonitoringInputError(f"spectra: expected (n, {wn.size}), got shape {x.shape}")
    if g.shape != (x.shape[0],):
        raise MonitoringInputError(f"groups: expected {x.shape[0]} labels, got shape {g.shape}")
    if not references:
        raise MonitoringInputError("references: at least one analyte is needed")
    ys = {}
    for name, values in references.items():
        v = np.asarray(values, dtype=float)
        if v.shape != (x.shape[0],) or not np.isfinite(v).all():
            raise MonitoringInputError(
                f"references.{name}: expected {x.shape[0]} finite values, got shape {v.shape}"
            )
        ys[name] = v
    if not candidates:
        raise MonitoringInputError("candidates: at least one pre-processing is needed")
    fits = [_cross_validate(c, (wn, x), ys, g, max_components) for c in candidates]
    best = min(fits, key=lambda f: f.score)
    z = best.preprocessing.apply(wn, x)
    analytes = []
    for name, y in ys.items():
        a = best.components[name]
        model = fit_pls(z, y, a, scaling="center")
        fitted = model.predict(z)[:, 0]
        curve = best.rmsecv[name]
        analytes.append(
            AnalyteModel(
                name=name,
                unit=(units or {}).get(name, ""),
                model=model,
                rmsec=float(np.sqrt(np.mean((fitted - y) ** 2))),
                rmsecv=float(curve[a]),
                rmsecv_curve=tuple(float(v) for v in curve[1:]),
                cv_spe=best.cv_spe[name],
                reference_range=(float(y.min()), float(y.max())),
            )
        )
    return SoftSensor(best.preprocessing, wn, tuple(analytes), alpha)


def _cross_validate(
    pre: Preprocessing,
    data: tuple[FloatArray, FloatArray],
    ys: Mapping[str, FloatArray],
    groups: AnyArray,
    max_components: int,
) -> _Fit:
    z = pre.apply(*data)
    smallest = min(int(np.sum(groups != g)) for g in np.unique(groups))
    top = max(1, min(max_components, z.shape[1], smallest - 2))
    components, curves, spes, score = {}, {}, {}, 0.0
    for name, y in ys.items():
        press, spe = grouped_cv(z, y, groups, top)
        a = choose_by_ratio(press)
        components[name] = a
        curves[name] = np.sqrt(press / y.size)
        spes[name] = _moments(spe[a])
        spread = float(np.std(y, ddof=1)) or 1.0
        score += float(curves[name][a]) / spread
    return _Fit(pre, components, curves, spes, score)


def _pair(values: FloatArray) -> tuple[float, float]:
    if values.size != 2 or not values[0] <= values[1]:
        raise MonitoringInputError("reference_range: expected [low, high]")
    return float(values[0]), float(values[1])


def _moments(values: FloatArray) -> tuple[float, float]:
    """Mean and variance (ddof 1) of SPE values, or a stored ``[mean, variance]`` pair."""
    v = np.asarray(values, dtype=float)
    m, var = (float(v[0]), float(v[1])) if v.size == 2 else (float(v.mean()), float(v.var(ddof=1)))
    if not (m > 0 and var > 0):
        raise MonitoringInputError("cv_spe: the held-out SPE has no spread")
    return m, var
