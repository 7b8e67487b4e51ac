"""Asset definitions as data: which equipment, which recipe, how its twin runs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from pharmatwin.core.actions import Action
from pharmatwin.core.documents import read_yaml_mapping
from pharmatwin.core.recipe import Recipe, StrictData
from pharmatwin.equipment.bioreactor.scenario import read_recipe


class TwinConfig(StrictData):
    """Ensemble size, forecast cadence and seed of an asset's twin."""

    members: int = Field(default=200, ge=10, le=5000)
    forecast_every_h: float = Field(default=6.0, gt=0, le=48)
    seed: int = Field(default=0, ge=0)


class AlarmConfig(StrictData):
    """Alarm policy of an asset's twin (see ``forecasting.alarms``)."""

    threshold: float = Field(default=0.5, gt=0, lt=1)
    persistence_h: float = Field(default=24.0, ge=0, le=240)
    certain_above: float = Field(default=0.95, gt=0, le=1)
    clear_below: float = Field(default=0.3, gt=0, lt=1)


class Asset(StrictData):
    """One piece of equipment with its twin."""

    name: str
    description: str = ""
    kind: Literal["bioreactor"] = "bioreactor"
    recipe: Recipe
    twin: TwinConfig = Field(default_factory=TwinConfig)
    alarms: AlarmConfig = Field(default_factory=AlarmConfig)
    actions: list[Action] = Field(default_factory=list)

    @field_validator("recipe", mode="before")
    @classmethod
    def _recipe_by_name(cls, value: object) -> object:
        return read_recipe(value) if isinstance(value, str) else value


DEFAULT_ASSET = "br01"


def load_asset(name_or_path: str | None = None) -> Asset:
    """A built-in asset by name (default ``br01``) or an asset YAML file."""
    name = name_or_path or DEFAULT_ASSET
    builtin = Path(str(resources.files("pharmatwin.runtime") / "assets" / f"{name}.yaml"))
    path = builtin if builtin.is_file() else Path(name)
    if not path.is_file():
        raise ValueError(f"--asset: no built-in asset or file {name!r}")
    return Asset.model_validate(read_yaml_mapping(path))
