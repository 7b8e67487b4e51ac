"""What the virtual freeze dryer runs: the cycle, the shelf's vial population, the chamber, the
instruments, faults and a seed — all data (scenario YAML files in ``scenarios/``).

The cycle is a ``LyoConfig`` document (the same YAML as ``pharmatwin lyo simulate``), plus the
planned end of primary drying. The population describes how vials differ from one another and
from one batch to the next; the defaults and their sources:

* batch to batch: Rp (R0 and A1) varies with the freezing of each batch, CV 25 %; the vials'
  Kv comes from a characterization of this vial type in this dryer and is reproducible within
  3 % (``kc_batch_cv``) — Kv is a property of vial and dryer (Pikal, Roy & Shah 1984,
  J Pharm Sci 73:1224), Rp of the product and its ice structure (Searles et al. 2001,
  J Pharm Sci 90:860);
* vial to vial: Kv CV 4 % (bottom curvature and contact, Pikal et al. 1984) and Rp CV 10 %
  (random ice nucleation, Searles et al. 2001);
* edge vials receive extra radiation from walls and door: Kv × ``edge_kv`` (mean 1.25, the
  middle of the 10-40 % range reported by Rambhatla & Pikal 2003, AAPS PharmSciTech 4:E14);
* thermocouple vials supercool less, freeze with larger crystals and dry faster
  (Tang & Pikal 2004, Pharm Res 21:191): Rp × ``tc_rp`` (0.8).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import Field, StrictInt, ValidationError, field_validator

from pharmatwin.core.documents import read_yaml_mapping
from pharmatwin.core.recipe import StrictData
from pharmatwin.equipment.lyophilizer.config import LyoConfig, describe, load_config
from pharmatwin.equipment.lyophilizer.cycle import HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.gauges import GaugeSettings
from pharmatwin.equipment.lyophilizer.lyo_faults import LyoFault
from pharmatwin.equipment.lyophilizer.profiles import Profile

PACKAGE = "pharmatwin.equipment.lyophilizer"
DEFAULT_VIALS = 398
"""LyoPRONTO's default load (Shivkumar et al. 2019)."""

REFERENCE_CYCLE: dict[str, object] = {
    "vial": {"area_cm2": 3.8, "product_area_cm2": 3.14, "fill_mL": 2.0},
    "product": {
        "solids_fraction": 0.05,
        "R0": 1.4,
        "A1": 16.0,
        "A2": 0.0,
        "collapse_temperature_C": -5.0,
    },
    "heat_transfer": {"KC": 2.75e-4, "KP": 8.93e-4, "KD": 0.46},
    "chamber_pressure_Torr": {"setpoint": 0.15},
    "shelf_temperature_C": {"initial": -35.0, "ramp_C_per_min": 1.0, "setpoint": 20.0},
    "equipment": {"a": -0.182, "b": 11.7, "vials": 398},
}
"""The LyoPRONTO reference case (Shivkumar et al. 2019, AAPS PharmSciTech 20:328)."""


class Population(StrictData):
    """How the vials on the shelf differ (log-normal spreads as CVs; see the module docstring)."""

    kc_batch_cv: float = Field(default=0.03, ge=0, le=1)
    rp_batch_cv: float = Field(default=0.25, ge=0, le=1)
    kv_vial_cv: float = Field(default=0.04, ge=0, le=1)
    rp_vial_cv: float = Field(default=0.10, ge=0, le=1)
    edge_kv: float = Field(default=1.25, ge=0.5, le=4)
    edge_kv_cv: float = Field(default=0.08, ge=0, le=1)
    tc_rp: float = Field(default=0.8, gt=0, le=2)
    thermocouples_centre: int = Field(default=4, ge=0, le=50)
    thermocouples_edge: int = Field(default=2, ge=0, le=50)


class Chamber(StrictData):
    """The chamber, condenser and pressure control.

    Attributes:
        pump_speed_L_s: effective speed of the vacuum pump for the non-condensable gas.
        bleed_max_sccm: range of the nitrogen bleed valve the pressure controller drives.
        condenser_C: condenser surface temperature, °C.
        condenser_warming_C_per_g_h: rise of the condenser surface temperature per g/h of load
            above its capacity (condenser_overload fault), up to ``condenser_max_C``.
        duct_kg_h_per_torr: duct conductance for water vapour (the slope ``b`` of the
            equipment capability a + b·Pch).
        shelf_tau_min: time constant of the shelf-temperature loop, min.
        shelf_max_rate_C_per_min: fastest the shelf can heat or cool, °C/min.
        shelf_limits_C: lowest and highest shelf temperature the unit can reach, °C.
    """

    pump_speed_L_s: float = Field(default=5.0, gt=0)
    bleed_max_sccm: float = Field(default=300.0, gt=0)
    condenser_C: float = Field(default=-70.0, gt=-150, lt=0)
    condenser_warming_C_per_g_h: float = Field(default=1.0, ge=0)
    condenser_max_C: float = Field(default=-30.0, gt=-150, lt=0)
    duct_kg_h_per_torr: float = Field(default=11.7, gt=0)
    shelf_tau_min: float = Field(default=3.0, gt=0)
    shelf_max_rate_C_per_min: float = Field(default=2.0, gt=0)
    shelf_limits_C: tuple[float, float] = (-55.0, 60.0)


class DryerScenario(StrictData):
    """One run of the virtual freeze dryer.

    Attributes:
        cycle: the cycle (a ``LyoConfig`` mapping, or the name of a YAML file); default the
            LyoPRONTO reference case.
        planned_end_h: when the cycle moves on to secondary drying, h.
        vials: vials on the shelf (default: the cycle's ``equipment.vials``, else 398).
        step_min: simulation and data period, min.
        max_h: longest run, h.
        tail_h: how long the run goes on after the last vial is dry, h.
    """

    name: str = "nominal"
    description: str = ""
    seed: StrictInt = Field(default=0, ge=0)
    cycle: LyoConfig = Field(default_factory=lambda: LyoConfig.model_validate(REFERENCE_CYCLE))
    planned_end_h: float = Field(default=10.0, gt=0)
    vials: int | None = Field(default=None, ge=9, le=100_000)
    population: Population = Field(default_factory=Population)
    chamber: Chamber = Field(default_factory=Chamber)
    gauges: GaugeSettings = Field(default_factory=GaugeSettings)
    faults: list[LyoFault] = Field(default_factory=list)
    step_min: float = Field(default=1.0, gt=0, le=10)
    max_h: float = Field(default=40.0, gt=0, le=500)
    tail_h: float = Field(default=0.5, ge=0, le=24)

    @field_validator("cycle", mode="before")
    @classmethod
    def _cycle_file(cls, value: object) -> object:
        return load_config(Path(value)) if isinstance(value, str) else value

    @property
    def vial_count(self) -> int:
        """Vials on the shelf."""
        if self.vials is not None:
            return self.vials
        section = self.cycle.equipment_section
        return section.vials if section is not None else DEFAULT_VIALS

    def plan(self) -> DryerCycle:
        """The cycle as the dryer and the twin use it."""
        c = self.cycle
        return DryerCycle(
            vial=c.vial(),
            product=c.product(),
            heat=c.heat(),
            shelf=c.shelf_profile(),
            pressure=c.pressure_profile(),
            planned_end_h=self.planned_end_h,
        )

    def with_seed(self, seed: int) -> DryerScenario:
        """The same scenario with another seed."""
        return self.model_copy(update={"seed": seed})


@dataclass(frozen=True)
class DryerCycle:
    """A cycle: vial, product, nominal heat transfer, setpoint programmes, planned end (h)."""

    vial: Vial
    product: Product
    heat: HeatTransfer
    shelf: Profile
    pressure: Profile
    planned_end_h: float


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped in ``scenarios/``."""
    folder = resources.files(PACKAGE) / "scenarios"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_dryer_scenario(name_or_path: str) -> DryerScenario:
    """A built-in scenario by name, or a scenario YAML file; ``ValueError`` names the field."""
    path = Path(name_or_path)
    if not path.suffix:
        path = Path(str(resources.files(PACKAGE) / "scenarios" / f"{name_or_path}.yaml"))
        if not path.is_file():
            known = ", ".join(builtin_scenarios())
            raise ValueError(f"scenario {name_or_path!r}: not built in (built in: {known})")
    document = read_yaml_mapping(path)
    try:
        return DryerScenario.model_validate(document)
    except ValidationError as exc:
        raise ValueError(describe(exc)) from None
