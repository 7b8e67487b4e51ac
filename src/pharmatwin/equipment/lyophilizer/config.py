"""The YAML configuration of a freeze-drying study (``pharmatwin lyo ...``), validated by pydantic.

Keys carry their units, as in the issue's example (the LyoPRONTO reference case is in
``examples/lyo-reference.yaml``)::

    vial: {area_cm2: 3.8, product_area_cm2: 3.14, fill_mL: 2.0}
    product: {solids_fraction: 0.05, R0: 1.4, A1: 16.0, A2: 0.0, collapse_temperature_C: -5.0}
    heat_transfer: {KC: 2.75e-4, KP: 8.93e-4, KD: 0.46}
    chamber_pressure_Torr: {setpoint: 0.15}
    shelf_temperature_C: {initial: -35.0, ramp_C_per_min: 1.0, setpoint: 20.0}
    equipment: {a: -0.182, b: 11.7, vials: 398}
    design_space: {shelf_temperature_C: [-20, 0, 20], chamber_pressure_Torr: [0.05, 0.1, 0.15]}
    optimize: {mode: shelf}

A programme (shelf temperature or chamber pressure) is ``{setpoint}`` (held from the start),
``{initial, ramp_..._per_min, setpoint}``, ``{initial, steps: [...]}`` or a bare list of steps
``{setpoint, ramp_..._per_min, hold_h}`` starting at the first step's setpoint; ``min``/``max``
(and ``max_ramp_..._per_min``) bound the optimizer. Every error names its field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from pharmatwin.core.documents import read_yaml_mapping
from pharmatwin.core.recipe import StrictData
from pharmatwin.equipment.lyophilizer.cycle import Equipment, HeatTransfer, Product, Vial
from pharmatwin.equipment.lyophilizer.profiles import Profile, Step

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Celsius = Annotated[float, Field(gt=-273.15)]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the field."""


class VialConfig(StrictData):
    """``vial``: outer area, product (inner) area in cm² and fill volume in mL."""

    area_cm2: Positive
    product_area_cm2: Positive
    fill_mL: Positive

    @model_validator(mode="after")
    def _fits(self) -> VialConfig:
        if self.product_area_cm2 > self.area_cm2:
            raise ValueError(
                f"product_area_cm2: {self.product_area_cm2:g} cm² is larger than area_cm2 "
                f"({self.area_cm2:g} cm²)"
            )
        return self


class ProductConfig(StrictData):
    """``product``: solids mass fraction, Rp = R0 + A1·L/(1 + A2·L) and collapse temperature."""

    solids_fraction: Annotated[float, Field(ge=0, lt=1)]
    R0: Positive
    A1: NonNegative
    A2: NonNegative
    collapse_temperature_C: Celsius


class HeatTransferConfig(StrictData):
    """``heat_transfer``: Kv = KC + KP·Pch/(1 + KD·Pch), cal/(s·K·cm²)."""

    KC: Positive
    KP: NonNegative
    KD: NonNegative


class EquipmentConfig(StrictData):
    """``equipment``: capability a + b·Pch (kg/h, Pch in Torr) and number of vials."""

    a: float
    b: float
    vials: Annotated[int, Field(ge=1)]


class ShelfStep(StrictData):
    """One step of a shelf programme: ramp to ``setpoint`` °C, hold ``hold_h``."""

    setpoint: Celsius
    ramp_C_per_min: Positive | None = None
    hold_h: NonNegative = 0.0


class PressureStep(StrictData):
    """One step of a pressure programme: ramp to ``setpoint`` Torr, hold ``hold_h``."""

    setpoint: Positive
    ramp_Torr_per_min: Positive | None = None
    hold_h: NonNegative = 0.0


def _profile(
    initial: float | None,
    setpoint: float | None,
    ramp: float | None,
    steps: list[tuple[float, float | None, float]] | None,
    ramp_key: str,
) -> Profile | None:
    """The programme's profile, or None when only optimizer bounds are given."""
    if steps is not None:
        if setpoint is not None:
            raise ValueError("setpoint: give either setpoint or steps, not both")
        if not steps:
            raise ValueError("steps: needs at least one step")
        start = steps[0][0] if initial is None else initial
        chain = steps[1:] if initial is None else steps
        built: list[Step] = []
        for i, (value, rate, hold) in enumerate(chain, start=len(steps) - len(chain)):
            if rate is None and value != (built[-1].setpoint if built else start):
                raise ValueError(f"steps.{i}.{ramp_key}: required to move to {value:g}")
            built.append(Step(value, rate or 1.0, hold))
        hold0 = steps[0][2] if initial is None else 0.0
        head = [Step(start, 1.0, hold0)] if hold0 > 0 else []
        return Profile.steps(start, head + built)
    if setpoint is None:
        if initial is not None or ramp is not None:
            raise ValueError("setpoint: required with initial or a ramp")
        return None
    if initial is None:
        if ramp is not None:
            raise ValueError(f"initial: required with {ramp_key}")
        return Profile.constant(setpoint)
    if ramp is None:
        if initial != setpoint:
            raise ValueError(f"{ramp_key}: required to go from initial to setpoint")
        return Profile.constant(setpoint)
    return Profile.ramp(initial, ramp, setpoint)


def _bounds(low: float | None, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise ValueError(f"max: {high:g} is below min {low:g}")


class ShelfProgramme(StrictData):
    """``shelf_temperature_C``: a programme in °C and/or the optimizer's bounds."""

    initial: Celsius | None = None
    setpoint: Celsius | None = None
    ramp_C_per_min: Positive | None = None
    steps: list[ShelfStep] | None = None
    min: Celsius | None = None
    max: Celsius | None = None
    max_ramp_C_per_min: Positive | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: object) -> object:
        return {"steps": value} if isinstance(value, list) else value

    @model_validator(mode="after")
    def _consistent(self) -> ShelfProgramme:
        _bounds(self.min, self.max)
        self.profile()
        return self

    def profile(self) -> Profile | None:
        """The shelf-temperature profile, °C (None when only bounds are given)."""
        steps = None
        if self.steps is not None:
            steps = [(s.setpoint, s.ramp_C_per_min, s.hold_h) for s in self.steps]
        return _profile(self.initial, self.setpoint, self.ramp_C_per_min, steps, "ramp_C_per_min")


class PressureProgramme(StrictData):
    """``chamber_pressure_Torr``: a programme in Torr and/or the optimizer's bounds."""

    initial: Positive | None = None
    setpoint: Positive | None = None
    ramp_Torr_per_min: Positive | None = None
    steps: list[PressureStep] | None = None
    min: Positive | None = None
    max: Positive | None = None
    max_ramp_Torr_per_min: Positive | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: object) -> object:
        return {"steps": value} if isinstance(value, list) else value

    @model_validator(mode="after")
    def _consistent(self) -> PressureProgramme:
        _bounds(self.min, self.max)
        self.profile()
        return self

    def profile(self) -> Profile | None:
        """The chamber-pressure profile, Torr (None when only bounds are given)."""
        steps = None
        if self.steps is not None:
            steps = [(s.setpoint, s.ramp_Torr_per_min, s.hold_h) for s in self.steps]
        return _profile(
            self.initial, self.setpoint, self.ramp_Torr_per_min, steps, "ramp_Torr_per_min"
        )


class DesignSpaceConfig(StrictData):
    """``design_space``: shelf setpoints (°C) × chamber pressures (Torr). The shelf ramps from
    ``initial_shelf_C`` at ``ramp_C_per_min`` (defaults: the shelf programme's initial value
    and ramp); ``margin_C`` keeps the product that far below its collapse temperature."""

    shelf_temperature_C: Annotated[list[Celsius], Field(min_length=1)]
    chamber_pressure_Torr: Annotated[list[Positive], Field(min_length=1)]
    initial_shelf_C: Celsius | None = None
    ramp_C_per_min: Positive | None = None
    margin_C: NonNegative = 0.0
    max_h: Positive = 200.0


class OptimizeConfig(StrictData):
    """``optimize``: which programme the optimizer may change, and the collapse margin, °C."""

    mode: Literal["shelf", "pressure", "both"] = "shelf"
    margin_C: NonNegative = 0.0


class LyoConfig(StrictData):
    """A freeze-drying study: the vial, product, heat transfer, programmes and equipment."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, validate_by_name=True
    )

    vial_section: VialConfig = Field(alias="vial")
    product_section: ProductConfig = Field(alias="product")
    heat_transfer: HeatTransferConfig
    chamber_pressure_Torr: PressureProgramme
    shelf_temperature_C: ShelfProgramme
    equipment_section: EquipmentConfig | None = Field(default=None, alias="equipment")
    design_space: DesignSpaceConfig | None = None
    optimize: OptimizeConfig | None = None

    @field_validator("chamber_pressure_Torr", "shelf_temperature_C", mode="before")
    @classmethod
    def _number_is_setpoint(cls, value: object) -> object:
        """A plain number is a constant setpoint."""
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return {"setpoint": value} if is_number else value

    def vial(self) -> Vial:
        """The vial and its fill."""
        v = self.vial_section
        return Vial(v.area_cm2, v.product_area_cm2, v.fill_mL)

    def product(self) -> Product:
        """The formulation."""
        p = self.product_section
        return Product(p.solids_fraction, p.R0, p.A1, p.A2, p.collapse_temperature_C)

    def heat(self) -> HeatTransfer:
        """The vial heat-transfer coefficients."""
        h = self.heat_transfer
        return HeatTransfer(h.KC, h.KP, h.KD)

    def equipment(self) -> Equipment:
        """The dryer's capability and load (``ConfigError`` when the section is missing)."""
        e = self.equipment_section
        if e is None:
            raise ConfigError("equipment: required here (a, b, vials)")
        return Equipment(e.a, e.b, e.vials)

    def shelf_profile(self) -> Profile:
        """The shelf-temperature programme, °C."""
        profile = self.shelf_temperature_C.profile()
        if profile is None:
            raise ConfigError(
                "shelf_temperature_C.setpoint: required to simulate (only bounds given)"
            )
        return profile

    def pressure_profile(self) -> Profile:
        """The chamber-pressure programme, Torr."""
        profile = self.chamber_pressure_Torr.profile()
        if profile is None:
            raise ConfigError(
                "chamber_pressure_Torr.setpoint: required to simulate (only bounds given)"
            )
        return profile

    def design_grid(self) -> DesignSpaceConfig:
        """The design-space section, with the shelf ramp filled in from the shelf programme."""
        if self.design_space is None:
            raise ConfigError(
                "design_space: required here (shelf_temperature_C, chamber_pressure_Torr)"
            )
        d = self.design_space
        shelf = self.shelf_temperature_C
        initial = d.initial_shelf_C if d.initial_shelf_C is not None else shelf.initial
        ramp = d.ramp_C_per_min or shelf.ramp_C_per_min or shelf.max_ramp_C_per_min
        return d.model_copy(update={"initial_shelf_C": initial, "ramp_C_per_min": ramp or 1.0})


def describe(exc: ValidationError) -> str:
    """The first error as one line ``where: problem (got value)``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown field"
    if first["type"] == "missing":
        return f"{where}: required field is missing"
    head, _, rest = message.partition(": ")
    if rest and head.replace("_", "").replace(".", "").isalnum() and " " not in head:
        return f"{where}.{head}: {rest}" if where else message
    value = first.get("input")
    got = f" (got {value!r})" if isinstance(value, int | float | str) else ""
    return f"{where}: {message}{got}" if where else message


def parse_config(document: dict[str, object]) -> LyoConfig:
    """Validate a configuration mapping; ``ConfigError`` names the first bad field."""
    try:
        return LyoConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def load_config(path: Path) -> LyoConfig:
    """Read and validate a YAML configuration file; ``ConfigError`` names the first bad field."""
    try:
        document = read_yaml_mapping(Path(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return parse_config(document)
