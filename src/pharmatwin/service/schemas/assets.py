"""Assets, batches, tags and their history."""

from __future__ import annotations

from typing import Any

from pharmatwin.service.schemas.common import Out, UtcTime


class SpecOut(Out):
    """An acceptance criterion: output, unit and limits (``None``: no limit on that side)."""

    name: str
    output: str
    unit: str
    lower: float | None
    upper: float | None
    when: str


class AssetOut(Out):
    """An asset and where its twin stands.

    ``batch_h``: hours since the current batch started, by its latest sample; ``phase``: the
    recipe phase at that hour (or the batch's state once it is over); ``twin_h``: the
    last batch hour the twin stepped; ``p_fail``: probability of failing each specification
    in the latest forecast; ``active_alarms``: raised and not cleared.
    """

    name: str
    description: str
    kind: str
    batch_id: str | None
    batch_state: str | None
    batch_h: float | None
    phase: str | None
    twin_h: float | None
    live: bool
    p_fail: dict[str, float]
    forecast_h: float | None
    active_alarms: int


class SetpointInfoOut(Out):
    """A model input that can be set on the plant: its unit, meaning and bounds (``None``:
    unbounded on that side)."""

    name: str
    unit: str
    description: str
    lower: float | None
    upper: float | None


class AssetDetailOut(AssetOut):
    specifications: list[SpecOut]
    tags: list[str]
    setpoints: list[SetpointInfoOut]


class BatchOut(Out):
    batch_id: str
    asset: str
    recipe: str
    start: UtcTime
    end: UtcTime | None
    state: str


class BatchDetailOut(BatchOut):
    beliefs: int
    forecasts: int
    alarms: int
    last_twin_h: float | None


class TagOut(Out):
    name: str
    unit: str
    asset: str
    description: str


class SeriesOut(Out):
    """One tag's values: raw samples, or one aggregate per bin (``every_s``) starting at
    ``times``; ``None`` for an empty bin."""

    tag: str
    unit: str
    how: str | None
    every_s: float | None
    times: list[UtcTime]
    values: list[float | None]


class Band(Out):
    mean: list[float | None]
    p05: list[float | None]
    p95: list[float | None]


class EstimatedOut(Out):
    """The twin's estimates over time (from its stored beliefs): the mean and 5/95 % of each
    state and of each model output (what each instrument or assay should read)."""

    batch_id: str | None
    times: list[UtcTime]
    batch_h: list[float]
    states: dict[str, Band]
    outputs: dict[str, Band]


class SignalsOut(Out):
    """Measured series, the twin's estimates, and which output estimates which measured tag
    (``estimates``: tag -> key of ``estimated.outputs``)."""

    asset: str
    measured: list[SeriesOut]
    estimated: EstimatedOut
    estimates: dict[str, str]


class ForecastBand(Out):
    """A live forecast's 5/50/95 % band of each output from ``t_h`` to harvest (batch h)."""

    t_h: float
    times_h: list[float]
    outputs: dict[str, dict[str, list[float | None]]]


class ForecastOut(Out):
    """The latest stored forecast document (``document``: CQA quantiles and P(fail) at
    harvest, ranked actions) and, from an in-process twin, the band to harvest."""

    asset: str
    batch_id: str | None
    time: UtcTime | None
    batch_h: float | None
    document: dict[str, Any] | None
    band: ForecastBand | None
    specifications: list[SpecOut]


class ScenarioOut(Out):
    name: str
    description: str
    recipe: str
    seed: int
    faults: list[dict[str, Any]]
