"""The virtual freeze dryer: a shelf of vials that differ, its controllers, gauges and faults.

Every vial follows the quasi-steady front balance of ``physics.solve_front`` with its own Kv and
Rp (see ``dryer_config`` for the spreads and their sources); all vials advance together, one
vectorized solve per step, the dried-cake thickness by the two-step Adams-Bashforth formula.
The chamber pressure, gas composition and shelf temperature come from ``dryer_chamber``; the
readings from ``gauges``. The same scenario and seed always give the same data.

``run_dryer`` returns the data a plant would record (:class:`LyoData`: thermocouples, shelf
temperature, manometer, Pirani, setpoints) and, apart, the truth (:class:`DryerTruth`: every
vial's end of drying and maximum temperature). The end of primary drying of the batch is when
the last vial's ice is gone; the Pirani / manometer ratio falls to 1 there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from pharmatwin.core.types import BoolArray, FloatArray, IndexArray
from pharmatwin.equipment.lyophilizer import physics
from pharmatwin.equipment.lyophilizer.dryer_chamber import chamber_state, shelf_step
from pharmatwin.equipment.lyophilizer.dryer_config import DryerCycle, DryerScenario
from pharmatwin.equipment.lyophilizer.gauges import (
    noisy,
    pirani_reading,
    thermocouple_after_drying,
)


@dataclass(frozen=True)
class Shelf:
    """The vials of one run: where they are and how they differ.

    Attributes:
        edge: ``(vials,)`` True for vials on the rim of the pack.
        thermocouple: indices of the vials holding a thermocouple (centre ones first).
        kv_factor, rp_factor: each vial's Kv and Rp relative to the batch's nominal vial.
        kc, r0, a1, edge_kv: this batch's KC, R0, A1 and edge Kv factor.
    """

    edge: BoolArray
    thermocouple: IndexArray
    kv_factor: FloatArray
    rp_factor: FloatArray
    kc: float
    r0: float
    a1: float
    edge_kv: float

    @property
    def thermocouple_groups(self) -> tuple[str, ...]:
        return tuple("edge" if self.edge[i] else "centre" for i in self.thermocouple)


def pack(vials: int) -> BoolArray:
    """Edge flags of ``vials`` packed row by row in a near-square array: a vial is an edge vial
    when a neighbour position (left, right, front, back) is empty or off the shelf."""
    cols = math.ceil(math.sqrt(vials))
    rows = math.ceil(vials / cols)
    occupied = np.zeros((rows + 2, cols + 2), dtype=bool)
    index = np.arange(vials)
    occupied[index // cols + 1, index % cols + 1] = True
    r, c = index // cols + 1, index % cols + 1
    inner = occupied[r - 1, c] & occupied[r + 1, c] & occupied[r, c - 1] & occupied[r, c + 1]
    return np.asarray(~inner, dtype=bool)


def draw_shelf(scenario: DryerScenario, rng: np.random.Generator) -> Shelf:
    """Draw this batch's parameters and its vials (see ``dryer_config``)."""
    pop, cycle = scenario.population, scenario.plan()
    n = scenario.vial_count
    edge = pack(n)
    centre_idx, edge_idx = np.flatnonzero(~edge), np.flatnonzero(edge)
    pick_c = np.linspace(0, len(centre_idx) - 1, pop.thermocouples_centre + 2)[1:-1]
    pick_e = np.linspace(0, len(edge_idx) - 1, pop.thermocouples_edge + 2)[1:-1]
    tcs = np.concatenate(
        [centre_idx[pick_c.round().astype(int)], edge_idx[pick_e.round().astype(int)]]
    ).astype(np.intp)
    z = rng.standard_normal(4)
    edge_kv = pop.edge_kv * math.exp(pop.edge_kv_cv * z[3])
    kv = np.exp(pop.kv_vial_cv * rng.standard_normal(n)) * np.where(edge, edge_kv, 1.0)
    rp = np.exp(pop.rp_vial_cv * rng.standard_normal(n))
    rp[tcs] *= pop.tc_rp
    return Shelf(
        edge=edge,
        thermocouple=tcs,
        kv_factor=kv,
        rp_factor=rp,
        kc=cycle.heat.kc * math.exp(pop.kc_batch_cv * z[0]),
        r0=cycle.product.r0 * math.exp(pop.rp_batch_cv * z[1]),
        a1=cycle.product.a1 * math.exp(pop.rp_batch_cv * z[2]),
        edge_kv=edge_kv,
    )


@dataclass(frozen=True)
class LyoData:
    """What the plant records, one row per ``step_min`` (all arrays ``(n,)`` unless noted).

    Attributes:
        t_h: time since the start of primary drying, h.
        shelf_setpoint_c, pressure_setpoint_torr: the programme, °C and Torr.
        shelf_c: shelf temperature (RTD), °C.
        manometer_torr: capacitance manometer, Torr.
        pirani_torr: Pirani gauge (nitrogen calibration), Torr.
        bleed_sccm: the pressure controller's nitrogen bleed, sccm.
        thermocouples: product thermocouples, ``(n_tc, n)``, °C.
        thermocouple_groups: ``centre`` or ``edge`` for each thermocouple.
    """

    t_h: FloatArray
    shelf_setpoint_c: FloatArray
    pressure_setpoint_torr: FloatArray
    shelf_c: FloatArray
    manometer_torr: FloatArray
    pirani_torr: FloatArray
    bleed_sccm: FloatArray
    thermocouples: FloatArray
    thermocouple_groups: tuple[str, ...]

    @property
    def pirani_ratio(self) -> FloatArray:
        """Pirani over manometer: about 1.6 in water vapour, 1 once sublimation is over."""
        return np.asarray(self.pirani_torr / self.manometer_torr, dtype=float)

    def until(self, t_h: float) -> LyoData:
        """The data recorded up to and at ``t_h``."""
        k = int(np.searchsorted(self.t_h, t_h + 1e-9, side="right"))
        cut = {
            name: getattr(self, name)[:k]
            for name in (
                "t_h",
                "shelf_setpoint_c",
                "pressure_setpoint_torr",
                "shelf_c",
                "manometer_torr",
                "pirani_torr",
                "bleed_sccm",
            )
        }
        return replace(self, thermocouples=self.thermocouples[:, :k], **cut)


@dataclass(frozen=True)
class DryerTruth:
    """What really happened (for validation; a plant does not know it).

    Attributes:
        shelf: the vials and this batch's parameters.
        vial_end_h: each vial's end of ice sublimation, h (inf: not dry by the end of the run).
        vial_max_c: each vial's highest bottom temperature while it held ice, °C.
        shelf_c, pressure_torr, rate_kg_h: true shelf temperature, chamber pressure and total
            sublimation rate over ``LyoData.t_h``.
        collapse_h: first time any vial holding ice exceeded the collapse temperature (NaN: never).
    """

    shelf: Shelf
    vial_end_h: FloatArray
    vial_max_c: FloatArray
    shelf_c: FloatArray
    pressure_torr: FloatArray
    rate_kg_h: FloatArray
    collapse_h: float

    @property
    def end_h(self) -> float:
        """End of primary drying of the batch: the last vial dry, h."""
        return float(self.vial_end_h.max())

    def group_end_h(self, group: str) -> float:
        """End of drying of the last vial of ``group`` (centre or edge), h."""
        return float(self.vial_end_h[self.shelf.edge == (group == "edge")].max())


@dataclass(frozen=True)
class DryerRun:
    """The recorded data and the truth of one run."""

    scenario: DryerScenario
    data: LyoData
    truth: DryerTruth


def run_dryer(scenario: DryerScenario) -> DryerRun:
    """Run the virtual freeze dryer for ``scenario`` (vectorized over vials)."""
    streams = np.random.SeedSequence(scenario.seed).spawn(2)
    shelf = draw_shelf(scenario, np.random.default_rng(streams[0]))
    return _Run(scenario, scenario.plan(), shelf, np.random.default_rng(streams[1])).go()


class _Run:
    def __init__(
        self, s: DryerScenario, cycle: DryerCycle, shelf: Shelf, rng: np.random.Generator
    ) -> None:
        self.s, self.cycle, self.shelf, self.rng = s, cycle, shelf, rng
        v, prod = cycle.vial, cycle.product
        self.l0 = float(physics.fill_height(v.fill_ml, v.product_area_cm2, prod.solids_fraction))
        self.growth = float(physics.cake_growth_per_gram(v.product_area_cm2, prod.solids_fraction))

    def kv(self, p: float) -> FloatArray:
        h = self.cycle.heat
        return physics.vial_heat_transfer(p, self.shelf.kc, h.kp, h.kd) * self.shelf.kv_factor

    def front(self, shelf_c: float, p: float, length: FloatArray) -> physics.FrontState:
        v, sh = self.cycle.vial, self.shelf
        rp = physics.cake_resistance(length, sh.r0, sh.a1, self.cycle.product.a2) * sh.rp_factor
        frozen = np.maximum(self.l0 - length, 0.0)
        return physics.solve_front(
            shelf_c, p, self.kv(p), rp, frozen, v.area_cm2, v.product_area_cm2
        )

    def go(self) -> DryerRun:
        s, cycle, sh = self.s, self.cycle, self.shelf
        dt = s.step_min / 60.0
        steps = math.ceil(s.max_h / dt) + 1
        n = s.vial_count
        rec = {
            k: np.full(steps, np.nan)
            for k in ("shelf", "p", "bleed", "y", "rate", "sp_shelf", "sp_p")
        }
        tc_true = np.full((len(sh.thermocouple), steps), np.nan)
        length = np.zeros(n)
        end = np.full(n, np.inf)
        t_max = np.full(n, -np.inf)
        last_wet = np.zeros(n)
        rate_prev = np.zeros(n)
        shelf_c = float(cycle.shelf.at(0.0))
        bleed, total = 0.0, 0.0
        collapse = math.nan
        stop = steps
        for k in range(steps):
            t = k * dt
            sp_shelf = float(cycle.shelf.at(t))
            sp_p = float(cycle.pressure.at(t))
            if k > 0:
                shelf_c = shelf_step(s.chamber, shelf_c, sp_shelf, dt_h=dt, faults=s.faults, t=t)
            wet = length < self.l0

            def total_at(
                p: float, c: float = shelf_c, w: BoolArray = wet, x: FloatArray = length
            ) -> float:
                f = self.front(c, p, x)
                return float(np.sum(np.where(w, f.rate_g_h, 0.0)))

            ch = chamber_state(
                s.chamber, sp_p, total_at, rate_now=total, bleed_now=bleed, faults=s.faults, t=t
            )
            bleed = ch.bleed_sccm
            f = self.front(shelf_c, ch.pressure_torr, length)
            rate = np.where(wet, f.rate_g_h, 0.0)
            total = float(rate.sum())
            t_max = np.where(wet, np.maximum(t_max, f.t_bot), t_max)
            last_wet = np.where(wet, f.t_bot, last_wet)
            if math.isnan(collapse) and np.any(
                wet & (f.t_bot > cycle.product.collapse_temperature_c)
            ):
                collapse = t
            for key, value in (
                ("shelf", shelf_c),
                ("p", ch.pressure_torr),
                ("bleed", bleed),
                ("y", ch.vapour_fraction),
                ("rate", total),
                ("sp_shelf", sp_shelf),
                ("sp_p", sp_p),
            ):
                rec[key][k] = value
            tcs, tau = sh.thermocouple, s.gauges.thermocouple_dry_tau_h
            since = np.maximum(t - end[tcs], 0.0)
            tc_true[:, k] = np.where(
                wet[tcs],
                f.t_bot[tcs],
                thermocouple_after_drying(np.full(len(tcs), shelf_c), last_wet[tcs], since, tau),
            )
            ab2 = 1.5 * rate - 0.5 * rate_prev if k > 0 else rate
            step = np.where(wet, dt * self.growth * np.maximum(ab2, 0.0), 0.0)
            new = length + step
            crossing = wet & (new >= self.l0)
            end = np.where(crossing, t + dt * (self.l0 - length) / np.maximum(step, 1e-300), end)
            length = np.minimum(new, self.l0)
            rate_prev = rate
            if not wet.any() and t >= float(end.max()) + s.tail_h:
                stop = k + 1
                break
        return self._finish(
            rec=rec, tc_true=tc_true, stop=stop, dt=dt, end=end, t_max=t_max, collapse=collapse
        )

    def _finish(
        self,
        *,
        rec: dict[str, FloatArray],
        tc_true: FloatArray,
        stop: int,
        dt: float,
        end: FloatArray,
        t_max: FloatArray,
        collapse: float,
    ) -> DryerRun:
        g, rng, sh = self.s.gauges, self.rng, self.shelf
        cut = {k: v[:stop] for k, v in rec.items()}
        p = cut["p"]
        offsets = g.thermocouple_offset_sd_c * rng.standard_normal((len(sh.thermocouple), 1))
        factor = g.pirani_water_factor + g.pirani_water_factor_sd * rng.standard_normal()
        manometer = p * (1.0 + g.manometer_calibration_sd * rng.standard_normal())
        data = LyoData(
            t_h=np.arange(stop, dtype=float) * dt,
            shelf_setpoint_c=cut["sp_shelf"],
            pressure_setpoint_torr=cut["sp_p"],
            shelf_c=noisy(cut["shelf"], g.shelf_noise_c, rng),
            manometer_torr=manometer * (1.0 + noisy(np.zeros(stop), g.manometer_noise_sd, rng)),
            pirani_torr=pirani_reading(p, cut["y"], factor)
            * (1.0 + noisy(np.zeros(stop), g.pirani_noise_sd, rng)),
            bleed_sccm=cut["bleed"],
            thermocouples=noisy(tc_true[:, :stop] + offsets, g.thermocouple_noise_c, rng),
            thermocouple_groups=sh.thermocouple_groups,
        )
        truth = DryerTruth(
            shelf=sh,
            vial_end_h=end,
            vial_max_c=t_max,
            shelf_c=cut["shelf"],
            pressure_torr=p,
            rate_kg_h=cut["rate"] / 1000.0,
            collapse_h=collapse,
        )
        return DryerRun(self.s, data, truth)
