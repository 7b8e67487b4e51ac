"""Scenarios of the virtual bioreactor as data: a recipe, faults, a seed and model mismatch.

A scenario is a YAML file validated by pydantic; built-in ones ship in ``scenarios/`` beside
this module. The same scenario and seed always give identical data.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import Field, StrictInt, field_validator, model_validator

from pharmatwin.core.documents import read_yaml_mapping
from pharmatwin.core.recipe import Recipe, StrictData
from pharmatwin.core.schedule import compile_recipe
from pharmatwin.core.utc import parse_utc
from pharmatwin.equipment.bioreactor.faults import Fault
from pharmatwin.equipment.bioreactor.model import ChoFedBatch

SCENARIO_PACKAGE = "pharmatwin.equipment.bioreactor"


class Scenario(StrictData):
    """Recipe + faults + seed.

    Attributes:
        parameters: overrides of the model's nominal parameters (each within its bounds).
        mismatch: scale of the truth's parameter perturbation in units of each parameter's
            prior coefficient of variation (0: the plant is the nominal model exactly).
        control_step_min: control loop and online sensor period, minutes.
        coupling_h: how often the cell model is advanced with the broth's averages, h.
    """

    name: str
    description: str = ""
    seed: StrictInt = Field(default=0, ge=0)
    recipe: Recipe
    faults: list[Fault] = Field(default_factory=list)
    parameters: dict[str, float] = Field(default_factory=dict)
    mismatch: float = Field(default=1.0, ge=0, le=5)
    control_step_min: float = Field(default=1.0, ge=0.1, le=60)
    coupling_h: float = Field(default=0.25, ge=0.05, le=4)
    start_utc: str = "2026-01-05T06:00:00Z"

    @field_validator("start_utc")
    @classmethod
    def _utc(cls, value: str) -> str:
        parse_utc(value)
        return value

    @field_validator("recipe", mode="before")
    @classmethod
    def _recipe_by_name(cls, value: object) -> object:
        """A string names a built-in recipe or a recipe YAML file."""
        return read_recipe(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _fits_the_model(self) -> Scenario:
        """Check every name and value against the bioreactor model's declarations."""
        model = ChoFedBatch
        try:
            model.state_vector(self.recipe.initial_state)
            compile_recipe(model, self.recipe)
        except ValueError as exc:
            raise ValueError(f"recipe.{exc}") from None
        for name in self.parameters:
            if name not in model.parameter_names():
                raise ValueError(f"parameters.{name}: unknown parameter of {model.__name__}")
        model.parameter_vector(self.parameters)
        for i, phase in enumerate(self.recipe.phases):
            if "F_base" in phase.setpoints:
                raise ValueError(f"recipe.phases.{i}.setpoints.F_base: set by the pH loop")
        _check_volume(self.recipe)
        for i, fault in enumerate(self.faults):
            if fault.onset_h >= self.recipe.harvest_h:
                raise ValueError(
                    f"faults.{i}.onset_h: {fault.onset_h:g} h is not before harvest "
                    f"({self.recipe.harvest_h:g} h)"
                )
        return self


def _check_volume(recipe: Recipe) -> None:
    """The charge must outlast every sample, even without any feed."""
    charge = recipe.initial_state.get("V", 0.0)
    drawn = len(recipe.sample_times()) * (recipe.sampling.volume_L if recipe.sampling else 0.0)
    if not charge > drawn:
        raise ValueError(
            f"recipe.initial_state.V: {charge:g} L does not cover the {drawn:g} L of samples"
        )


def _builtin_dir(kind: str = "scenarios") -> Path:
    return Path(str(resources.files(SCENARIO_PACKAGE) / kind))


def read_recipe(name_or_path: str) -> dict[str, object]:
    """The raw document of a built-in recipe (by name) or of a recipe YAML file."""
    builtin = _builtin_dir("recipes") / f"{name_or_path}.yaml"
    path = builtin if builtin.is_file() else Path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in _builtin_dir("recipes").glob("*.yaml")))
        raise ValueError(f"unknown recipe {name_or_path!r} (built-in: {known})")
    return read_yaml_mapping(path)


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted, ``nominal`` first."""
    names = sorted(p.stem for p in _builtin_dir().glob("*.yaml"))
    return sorted(names, key=lambda n: (n != "nominal", n))


def read_scenario_file(path: Path) -> Scenario:
    """Load and validate a scenario YAML file (``pydantic.ValidationError`` on bad content)."""
    return Scenario.model_validate(read_yaml_mapping(path))


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ValueError(f"scenario: no such file {name_or_path!r}")
        return read_scenario_file(path)
    builtin = _builtin_dir() / f"{name_or_path}.yaml"
    if not builtin.is_file():
        raise ValueError(
            f"scenario: unknown scenario {name_or_path!r} (built-in: {', '.join(builtin_names())})"
        )
    return read_scenario_file(builtin)
