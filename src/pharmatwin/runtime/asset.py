"""Asset definitions as data: which equipment, which recipe, how its twin runs, which tags."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pharmatwin.connectors.tagmap import TagMapping
from pharmatwin.core.actions import Action
from pharmatwin.core.documents import read_yaml_mapping
from pharmatwin.core.recipe import Recipe, StrictData
from pharmatwin.core.specs import Specification
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.scenario import read_recipe
from pharmatwin.equipment.bioreactor.sensors import AT_LINE, ONLINE, model_output_read_by
from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS
from pharmatwin.forecasting.alarms import AlarmSettings
from pharmatwin.runtime.bioreactor_twin import BioreactorTwin, TwinSettings

VIRTUAL_PLANT_NAMESPACE = "urn:pharmatwin:virtual-plant"
"""OPC UA namespace URI of the virtual plant server's nodes."""


class TwinConfig(StrictData):
    """Ensemble size, estimator, forecast cadence and seed of an asset's twin."""

    members: int = Field(default=200, ge=10, le=5000)
    forecast_every_h: float = Field(default=6.0, gt=0, le=48)
    seed: int = Field(default=0, ge=0)
    estimator: Literal["enkf", "pf"] = "enkf"


class AlarmConfig(StrictData):
    """Alarm policy of an asset's twin (see ``forecasting.alarms``)."""

    threshold: float = Field(default=0.5, gt=0, lt=1)
    persistence_h: float = Field(default=24.0, ge=0, le=240)
    certain_above: float = Field(default=0.95, gt=0, le=1)
    clear_below: float = Field(default=0.3, gt=0, lt=1)


class Asset(StrictData):
    """One piece of equipment with its twin.

    Attributes:
        name: asset name (also the prefix of its tags, e.g. ``BR01``).
        kind: kind of equipment; selects the model (``bioreactor``: ``ChoFedBatch``).
        recipe: the recipe its batches run (a built-in name or inline).
        parameters: model parameter values that replace the literature defaults as the
            centre of the twin's prior (names and units as the model declares them).
        specifications: acceptance criteria; empty means the equipment's defaults.
        tags: the tag map from the data source to the historian; empty means the virtual
            plant's tags, one to one (see ``default_tags``).
    """

    name: str = Field(min_length=1)
    description: str = ""
    kind: Literal["bioreactor"] = "bioreactor"
    recipe: Recipe
    parameters: dict[str, float] = Field(default_factory=dict)
    specifications: list[Specification] = Field(default_factory=list)
    twin: TwinConfig = Field(default_factory=TwinConfig)
    alarms: AlarmConfig = Field(default_factory=AlarmConfig)
    actions: list[Action] = Field(default_factory=list)
    tags: list[TagMapping] = Field(default_factory=list)

    @field_validator("recipe", mode="before")
    @classmethod
    def _recipe_by_name(cls, value: object) -> object:
        return read_recipe(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known_parameters(self) -> Asset:
        try:
            ChoFedBatch.parameter_vector(self.parameters)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"parameters: {exc}") from None
        return self

    def settings(self) -> TwinSettings:
        """The twin's settings from this definition."""
        return TwinSettings(
            members=self.twin.members,
            forecast_every_h=self.twin.forecast_every_h,
            seed=self.twin.seed,
            estimator=self.twin.estimator,
            alarms=AlarmSettings(**self.alarms.model_dump()),
            actions=tuple(self.actions),
        )

    def build_twin(self) -> BioreactorTwin:
        """The twin this asset defines."""
        specs = tuple(self.specifications) or SPECIFICATIONS
        return BioreactorTwin(self.recipe, self.settings(), specs, parameters=self.parameters)

    def tag_map(self, source_prefix: str = "") -> list[TagMapping]:
        """The asset's tag map, or the virtual plant's tags renamed for this asset (see
        ``default_tags``)."""
        return list(self.tags) or default_tags(self.name, source_prefix)

    def estimated_outputs(self) -> dict[str, str]:
        """Historian tag -> the twin's model output that predicts what the tag reads (only
        tags whose signal is an output of the model: assays, weight)."""
        out = {}
        for mapping in self.tag_map():
            output = model_output_read_by(mapping.signal) if mapping.signal else None
            if output is not None:
                out[mapping.tag] = output
        return out


def default_tags(asset: str, source_prefix: str = "") -> list[TagMapping]:
    """Every online probe and laboratory assay of a virtual bioreactor: tag ``ASSET.TT101.PV``
    (the virtual plant's name with the asset's prefix), source item ``source_prefix`` + tag
    (e.g. ``nsu=urn:pharmatwin:virtual-plant;s=`` for OPC UA), signal the twin's name."""
    online = [(s.tag, s.unit, f"online {s.source}") for s in ONLINE]
    lab = [(a.tag, a.unit, f"at-line {a.source}") for a in AT_LINE]
    out = []
    for signal, unit, text in online + lab:
        tag = f"{asset}.{signal.split('.', 1)[1]}"
        out.append(
            TagMapping(
                source=f"{source_prefix}{tag}",
                tag=tag,
                unit=unit,
                description=text,
                signal=signal,
            )
        )
    return out


DEFAULT_ASSET = "br01"


def load_asset(name_or_path: str | None = None) -> Asset:
    """A built-in asset by name (default ``br01``) or an asset YAML file."""
    name = name_or_path or DEFAULT_ASSET
    builtin = Path(str(resources.files("pharmatwin.runtime") / "assets" / f"{name}.yaml"))
    path = builtin if builtin.is_file() else Path(name)
    if not path.is_file():
        raise ValueError(f"--asset: no built-in asset or file {name!r}")
    return Asset.model_validate(read_yaml_mapping(path))
