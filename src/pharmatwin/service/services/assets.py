"""Assets: where each stands, its latest forecast, its actions; the built-in scenarios."""

from __future__ import annotations

from functools import cache

from pharmatwin.core.actions import Action
from pharmatwin.core.specs import Specification
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.scenario import builtin_names, load_scenario
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.historian.records import Batch, TwinOutput
from pharmatwin.historian.store import Historian
from pharmatwin.runtime.asset import Asset
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.schemas.assets import (
    AssetDetailOut,
    AssetOut,
    ForecastBand,
    ForecastOut,
    ScenarioOut,
    SetpointInfoOut,
    SpecOut,
)
from pharmatwin.service.schemas.common import finite
from pharmatwin.service.services.alarms import AlarmService
from pharmatwin.service.services.batches import current_batch, twin_name
from pharmatwin.service.services.errors import NotFoundError


def spec_out(spec: Specification) -> SpecOut:
    return SpecOut(
        name=spec.name,
        output=spec.output,
        unit=spec.unit,
        lower=spec.lower,
        upper=spec.upper,
        when=spec.when,
    )


class AssetService:
    def __init__(self, historian: Historian, context: ServiceContext) -> None:
        self.historian = historian
        self.context = context

    def names(self) -> list[str]:
        """Defined assets, and assets the historian has batches or tags of, sorted."""
        stored = {b.asset for b in self.historian.batches()}
        stored |= {t.asset for t in self.historian.tags() if t.asset}
        return sorted(stored | set(self.context.asset_names()))

    def require(self, asset: str) -> str:
        if asset not in self.names():
            raise NotFoundError(f"asset: no asset {asset!r}")
        return asset

    def tags_of(self, asset: str) -> list[str]:
        """The asset's historian tags: those registered to it, or named ``ASSET.*``."""
        return [
            t.name
            for t in self.historian.tags()
            if t.asset == asset or (not t.asset and t.name.startswith(f"{asset}."))
        ]

    def estimated_outputs(self, asset: str) -> dict[str, str]:
        """Measured tag -> the twin's output that predicts it (empty without a definition)."""
        definition = self.context.asset(asset)
        return {} if definition is None else definition.estimated_outputs()

    def specifications(self, asset: str) -> list[Specification]:
        definition = self.context.asset(asset)
        if definition is not None and definition.specifications:
            return list(definition.specifications)
        return list(SPECIFICATIONS)

    def latest_forecast(self, asset: str, batch: Batch | None) -> TwinOutput | None:
        if batch is None:
            return None
        return self.historian.latest_output(twin_name(asset), batch.batch_id, "forecast")

    def summary(self, asset: str) -> AssetOut:
        """Where ``asset`` stands (see ``AssetOut``)."""
        definition = self.context.asset(asset)
        live = self.context.live_twin(asset)
        batch = current_batch(self.historian, asset)
        forecast = self.latest_forecast(asset, batch)
        twin_h = live.session.hour if live is not None else None
        if twin_h is None and batch is not None:
            belief = self.historian.latest_output(twin_name(asset), batch.batch_id, "belief")
            twin_h = None if belief is None else belief.batch_h
        cqa = forecast.data.get("cqa", {}) if forecast is not None else {}
        active = (
            AlarmService(self.historian).alarms(asset, batch.batch_id, active=True)
            if batch is not None
            else []
        )
        batch_h = self._batch_h(asset, batch)
        return AssetOut(
            name=asset,
            description=definition.description if definition is not None else "",
            kind=definition.kind if definition is not None else "",
            batch_id=None if batch is None else batch.batch_id,
            batch_state=None if batch is None else batch.state,
            batch_h=batch_h,
            phase=_phase(definition, batch, batch_h),
            twin_h=twin_h,
            live=live is not None,
            p_fail={name: float(v["p_fail"]) for name, v in cqa.items()},
            forecast_h=None if forecast is None else forecast.batch_h,
            active_alarms=len(active),
        )

    def _batch_h(self, asset: str, batch: Batch | None) -> float | None:
        if batch is None:
            return None
        latest = self.historian.latest(self.tags_of(asset))
        if not latest:
            return 0.0
        newest = max(s.time for s in latest.values())
        end = newest if batch.end is None else min(newest, batch.end)
        return max((end - batch.start).total_seconds() / 3600.0, 0.0)

    def assets(self) -> list[AssetOut]:
        return [self.summary(name) for name in self.names()]

    def detail(self, asset: str) -> AssetDetailOut:
        self.require(asset)
        return AssetDetailOut(
            **self.summary(asset).model_dump(),
            specifications=[spec_out(s) for s in self.specifications(asset)],
            tags=self.tags_of(asset),
            setpoints=setpoint_infos(),
        )

    def forecast(self, asset: str) -> ForecastOut:
        """The latest stored forecast, and the live twin's band to harvest when in-process."""
        self.require(asset)
        batch = current_batch(self.historian, asset)
        stored = self.latest_forecast(asset, batch)
        live = self.context.live_twin(asset)
        band = None
        if live is not None and live.session.run.forecasts:
            fc = live.session.run.forecasts[-1]
            band = ForecastBand(
                t_h=fc.t,
                times_h=[float(t) for t in fc.times],
                outputs={
                    name: {
                        level: [finite(v) for v in fc.quantiles(name)[i]]
                        for i, level in enumerate(("p05", "p50", "p95"))
                    }
                    for name in fc.outputs
                },
            )
        return ForecastOut(
            asset=asset,
            batch_id=None if batch is None else batch.batch_id,
            time=None if stored is None else stored.time,
            batch_h=None if stored is None else stored.batch_h,
            document=None if stored is None else stored.data,
            band=band,
            specifications=[spec_out(s) for s in self.specifications(asset)],
        )

    def actions(self, asset: str) -> list[Action]:
        """The asset's candidate corrective actions (empty if it has no definition)."""
        self.require(asset)
        definition = self.context.asset(asset)
        return [] if definition is None else list(definition.actions)


def setpoint_infos() -> list[SetpointInfoOut]:
    """The inputs a setpoint change may set (those of the bioreactor model)."""
    return [
        SetpointInfoOut(
            name=i.name,
            unit=i.unit,
            description=i.doc,
            lower=finite(i.lower),
            upper=finite(i.upper),
        )
        for i in ChoFedBatch.inputs
    ]


@cache
def scenarios() -> tuple[ScenarioOut, ...]:
    """The virtual bioreactor's built-in scenarios."""
    out = []
    for name in builtin_names():
        s = load_scenario(name)
        out.append(
            ScenarioOut(
                name=s.name,
                description=s.description.strip(),
                recipe=s.recipe.name,
                seed=s.seed,
                faults=[f.model_dump(mode="json") for f in s.faults],
            )
        )
    return tuple(out)


def _phase(definition: Asset | None, batch: Batch | None, batch_h: float | None) -> str | None:
    """The recipe phase the batch is in at ``batch_h`` (its state once it is over)."""
    if definition is None or batch is None or batch_h is None:
        return None
    if batch.state != "running":
        return batch.state
    recipe = definition.recipe
    if batch_h >= recipe.harvest_h:
        return "harvest"
    begun = [p for p in recipe.phases if p.start_h <= batch_h]
    return max(begun, key=lambda p: p.start_h).name if begun else None
