"""The freeze-drying twin: the shelf model kept in step with thermocouple, shelf, manometer and
Pirani data, forecasting the end of primary drying and the risk of collapse.

The estimation and forecasting layers are the bioreactor twin's, unchanged: a ``Tracker`` with
ensemble Kalman filters over the dried-cake states and the uncertain parameters (group Kv and
Rp, the edge and thermocouple factors, each thermocouple vial's own Kv and Rp; ``lyo_filter``
says which measurement corrects which), the generic ``forecast`` and the ``AlarmPolicy``.
Missing values (NaN) are recorded as such by the filter and skipped. Every
``assimilate_every_min`` the twin

1. rebuilds the inputs as run (shelf temperature, chamber pressure) and the plan ahead;
2. retires thermocouples whose vial has run dry (their reading climbs to the shelf), turning the
   onset of the climb into a measurement of that vial's dried fraction (a late measurement the
   tracker rolls back for), and assimilates the others' readings;
3. watches the Pirani / manometer ratio: when it falls to ``pirani_end_ratio`` the end of
   primary drying of the batch is observed;
4. every ``forecast_every_h``, forecasts the ends and the risks, and passes them to the alarms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pharmatwin.core.belief import Belief
from pharmatwin.core.integrate import Tolerances
from pharmatwin.core.schedule import Schedule, with_harvest
from pharmatwin.core.simulate import simulate
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.lyophilizer.dryer import LyoData
from pharmatwin.equipment.lyophilizer.dryer_config import DryerCycle
from pharmatwin.equipment.lyophilizer.model import cycle_schedule
from pharmatwin.equipment.lyophilizer.model_slots import ShelfPrior, VialSlots
from pharmatwin.estimation.enkf import EnKFSettings
from pharmatwin.estimation.measurements import Measurement
from pharmatwin.estimation.tracker import Tracker
from pharmatwin.forecasting.alarms import Alarm, AlarmPolicy, AlarmSettings
from pharmatwin.forecasting.forecast import forecast
from pharmatwin.runtime.lyo_filter import RoutedFilter
from pharmatwin.runtime.lyo_forecast import (
    EndForecast,
    end_times,
    lyo_specifications,
    parameter_quantiles,
    summarize_ends,
)
from pharmatwin.runtime.lyo_inputs import (
    Deviation,
    ThermocoupleWatch,
    as_run_schedule,
    deviation,
    thermocouple_value,
)
from pharmatwin.runtime.lyo_slots import (
    build_slots,
    estimated_parameters,
    prior_belief,
    temperature_parameters,
)

REPORTED = ("KC", "R0", "A1", "edge_kv", "tc_rp")
"""Parameters whose 5/50/95 % each forecast reports."""
PIRANI_MEDIAN_MIN = 5.0
IN_VAPOUR = 1.3
"""The ratio must first have shown water vapour (about 1.6) before its fall counts."""


@dataclass(frozen=True)
class LyoTwinSettings:
    """How the freeze-drying twin runs.

    Attributes:
        members: ensemble size.
        assimilate_every_min: period of assimilation (and of the inputs' knots), min.
        forecast_every_h: period of the forecasts and alarms, h.
        seed: seed of the prior and of the filter's perturbations.
        thermocouple_sd_c: error of a thermocouple value as the filter sees it (noise and what
            the quasi-steady model leaves out), °C.
        dry_fraction_sd: error of the dried fraction read off a thermocouple's climb.
        pirani_end_ratio: Pirani / manometer ratio below which sublimation is over.
        collapse_margin_c: the product must stay this far below its collapse temperature, °C.
        horizon_factor: the end forecast runs to this multiple of the planned end.
        shelf: what the twin knows about the vial population before data.
        enkf: filter settings; parameters do not drift during a cycle, so no inflation.
        alarms: alarm policy; a cycle lasts hours, so persistence is a quarter of an hour.
    """

    members: int = 100
    assimilate_every_min: float = 10.0
    forecast_every_h: float = 0.5
    seed: int = 0
    thermocouple_sd_c: float = 0.3
    dry_fraction_sd: float = 0.01
    pirani_end_ratio: float = 1.03
    collapse_margin_c: float = 0.0
    horizon_factor: float = 2.5
    shelf: ShelfPrior = field(default_factory=ShelfPrior)
    enkf: EnKFSettings = field(
        default_factory=lambda: EnKFSettings(parameter_inflation=1.0, min_parameter_cv=0.002)
    )
    alarms: AlarmSettings = field(
        default_factory=lambda: AlarmSettings(persistence_h=0.25, certain_above=0.9)
    )


@dataclass
class LyoTwinRun:
    """What the twin produced."""

    forecasts: list[EndForecast] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    observed_end_h: float | None = None
    retired: list[str] = field(default_factory=list)
    rejected: list[tuple[float, str, str]] = field(default_factory=list)
    belief: Belief | None = None


class LyoTwin:
    """The twin of one freeze-drying cycle with thermocouples in ``groups`` (centre / edge)."""

    def __init__(
        self, cycle: DryerCycle, groups: tuple[str, ...], settings: LyoTwinSettings | None = None
    ) -> None:
        self.cycle = cycle
        self.groups = groups
        self.settings = settings or LyoTwinSettings()
        self.model: VialSlots = build_slots(cycle, groups, self.settings.shelf)
        self.specs = lyo_specifications(
            cycle.product.collapse_temperature_c, self.settings.collapse_margin_c
        )

    def session(self) -> LyoSession:
        return LyoSession(self)

    def replay(self, data: LyoData, until_h: float | None = None) -> LyoTwinRun:
        """Run the twin over ``data`` up to ``until_h`` (default: the end of the data)."""
        session = self.session()
        end = float(data.t_h[-1]) if until_h is None else min(until_h, float(data.t_h[-1]))
        every = self.settings.assimilate_every_min / 60.0
        for now in np.arange(every, end + 1e-9, every):
            session.step(float(now), data.until(float(now)))
        return session.result()


class LyoSession:
    """The twin's state between steps (belief, thermocouples, alarms, forecasts)."""

    def __init__(self, twin: LyoTwin) -> None:
        s = twin.settings
        self.twin = twin
        rng = np.random.default_rng(s.seed)
        belief = prior_belief(twin.model, twin.cycle, s.members, rng, s.shelf)
        self.schedule = _plan_schedule(twin.cycle)
        self.tracker = Tracker(
            estimator=RoutedFilter(
                twin.model,
                temperature_parameters(twin.model),
                estimated_parameters(twin.model),
                s.enkf,
            ),
            propagate=self._propagate,
            inputs_at=self._inputs_at,
            belief=belief,
            seed=s.seed,
            history_h=2.0,
        )
        self.watch = ThermocoupleWatch(len(twin.groups))
        self.policy = AlarmPolicy(s.alarms)
        self.run = LyoTwinRun()
        self.next_forecast = s.forecast_every_h
        self.now = 0.0
        self.equipment_alarms: dict[str, Alarm] = {}

    def _inputs_at(self, t: float) -> FloatArray:
        return self.schedule.inputs_at(t)

    def _propagate(self, belief: Belief, t1: float) -> Belief:
        if t1 <= belief.t:
            return belief
        model = self.twin.model
        x = simulate(
            model,
            self.schedule,
            belief.x,
            belief.p,
            t_out=np.array([belief.t, t1]),
            t_start=belief.t,
            t_end=t1,
            start_events=False,
            tol=Tolerances(rtol=1e-4, atol=model.state_atol()),
        ).final
        return belief.with_(t=t1, x=x)

    def step(self, now: float, data: LyoData) -> EndForecast | None:
        """Advance to ``now`` (h) with the data recorded up to then."""
        twin, s = self.twin, self.twin.settings
        if now <= self.now:
            raise ValueError(f"now: {now:g} h is not after the last step ({self.now:g} h)")
        self.now = now
        dev = deviation(data)
        self.schedule = as_run_schedule(
            data,
            now,
            shelf=twin.cycle.shelf,
            pressure=twin.cycle.pressure,
            end_h=max(twin.cycle.planned_end_h, now + 1.0),
            every_h=s.assimilate_every_min / 60.0,
            dev=dev,
        )
        self.tracker.assimilate(now, self._measurements(data))
        self._watch_pirani(data)
        self._watch_equipment(now, dev)
        if now + 1e-9 >= self.next_forecast:
            self.next_forecast += s.forecast_every_h
            return self.forecast()
        return None

    def _measurements(self, data: LyoData) -> list[Measurement]:
        s, model = self.twin.settings, self.twin.model
        belief = self.tracker.belief
        u = np.tile(self.schedule.inputs_at(belief.t), (belief.members, 1))
        y = model.measure(belief.x, u, belief.p)
        out = []
        for k in range(len(self.twin.groups)):
            name = f"tc{k + 1}"
            predicted = float(belief.weights @ y[:, model.output_index(f"T_{name}")])
            onset = self.watch.check(data, k, predicted)
            if onset is not None:
                self.run.retired.append(self.watch.reasons[k])
                out.append(Measurement(onset, f"f_{name}", 1.0, s.dry_fraction_sd, f"TC{k + 1}"))
            elif k not in self.watch.retired_at:
                t, value = thermocouple_value(data, k)
                out.append(Measurement(t, f"T_{name}", value, s.thermocouple_sd_c, f"TC{k + 1}"))
        return out

    def _watch_pirani(self, data: LyoData) -> None:
        """The batch end seen by the gauges: the Pirani / manometer ratio, having stood in
        water vapour, falls to ``pirani_end_ratio`` (median of the last ``PIRANI_MEDIAN_MIN``)."""
        if self.run.observed_end_h is not None:
            return
        ratio = data.pirani_ratio
        limit = self.twin.settings.pirani_end_ratio
        recent = data.t_h >= data.t_h[-1] - PIRANI_MEDIAN_MIN / 60.0
        seen = ratio[np.isfinite(ratio)]
        now_ratio = ratio[recent & np.isfinite(ratio)]
        if (
            seen.size
            and now_ratio.size
            and seen.max() > IN_VAPOUR
            and np.median(now_ratio) <= limit
        ):
            above = np.flatnonzero(ratio > limit)
            last = int(above[-1]) + 1 if above.size else len(ratio) - 1
            self.run.observed_end_h = float(data.t_h[min(last, len(ratio) - 1)])

    def _watch_equipment(self, now: float, dev: Deviation) -> None:
        """An equipment alarm while the shelf or the chamber pressure is off its programme."""
        states = {
            "shelf_temperature_deviation": (
                dev.shelf_c != 0.0,
                f"shelf {dev.shelf_c:+.1f} °C from its setpoint"
                + (f", drifting {dev.shelf_drift_c_h:+.1f} °C/h" if dev.shelf_drift_c_h else ""),
            ),
            "chamber_pressure_deviation": (
                dev.pressure_ratio != 1.0,
                f"chamber pressure at {dev.pressure_ratio:.2f} × its setpoint",
            ),
        }
        for name, (off, text) in states.items():
            active = self.equipment_alarms.get(name)
            if off and active is None:
                alarm = Alarm(name, "process", now, 1.0, float("nan"), [text])
                self.equipment_alarms[name] = alarm
                self.policy.record(alarm)
            elif not off and active is not None:
                active.cleared_at_h = now
                del self.equipment_alarms[name]

    def end_quantiles(self) -> tuple[dict[str, FloatArray], float]:
        """5/50/95 % of each end of drying (see ``lyo_forecast.ENDS``) from the current belief,
        and the share of members whose batch is dry within the horizon."""
        twin, s = self.twin, self.twin.settings
        belief = self.tracker.belief
        horizon = max(s.horizon_factor * twin.cycle.planned_end_h, belief.t + 1.0)
        ends = end_times(twin.model, _extend(self.schedule, horizon), belief, horizon)
        p_dry = float(belief.weights[ends["batch"] < horizon].sum())
        return summarize_ends(ends, belief.weights), p_dry

    def forecast(self) -> EndForecast:
        """Forecast the ends and the risks from the current belief; the alarm policy sees it."""
        twin = self.twin
        belief = self.tracker.belief
        ends, p_dry = self.end_quantiles()
        plan_end = max(twin.cycle.planned_end_h, belief.t + 1e-3)
        generic = forecast(
            twin.model, _extend(self.schedule, plan_end), belief, twin.specs, step_h=0.1
        )
        hottest = generic.spec("collapse").value_quantiles
        evidence = [
            "hottest vial with ice, 5/50/95 %: "
            + "/".join(f"{v:.1f}" for v in hottest)
            + f" °C (collapse {twin.cycle.product.collapse_temperature_c:g} °C)",
            "end of primary drying, 5/50/95 %: "
            + "/".join(f"{v:.2f}" for v in ends["batch"])
            + f" h (planned {twin.cycle.planned_end_h:g} h)",
        ] + [a.evidence[0] for a in self.equipment_alarms.values()]
        self.policy.observe(generic, evidence)
        result = EndForecast(
            t=belief.t,
            ends=ends,
            p_dry=p_dry,
            forecast=generic,
            parameters=parameter_quantiles(twin.model, belief, REPORTED),
        )
        self.run.forecasts.append(result)
        return result

    def result(self) -> LyoTwinRun:
        self.run.alarms = self.policy.timeline
        self.run.belief = self.tracker.belief
        self.run.rejected = [
            (v.measurement.time_h, v.measurement.tag, v.reason)
            for v in self.tracker.verdicts
            if not v.used
        ]
        return self.run


def _plan_schedule(cycle: DryerCycle) -> Schedule:
    """The programme alone (before any data)."""
    return cycle_schedule(cycle.shelf, cycle.pressure, max(cycle.planned_end_h, 1.0))


def _extend(schedule: Schedule, end_h: float) -> Schedule:
    """``schedule`` cut or extended (inputs held) to end at ``end_h``."""
    return with_harvest(schedule, end_h) if end_h != schedule.t_end else schedule
