"""The runtime's configuration (``pharmatwin twin run --config plant.yaml``), as data.

    db: sqlite:///pharmatwin-data/historian.db      # optional; --db and PHARMATWIN_DB win
    sources:
      - {name: plant, kind: opcua, url: "opc.tcp://127.0.0.1:4840/pharmatwin/"}
      - {name: broker, kind: mqtt, url: "mqtt://127.0.0.1:1883", format: sparkplug}
    assets:
      - asset: br01                 # a built-in asset or an asset YAML file
        source: plant               # which source feeds its tags
        batch: {id: BR01-001, start_utc: "2026-01-05T06:00:00Z"}

An asset's tags come from its definition's tag map; without one, the virtual plant's tags (see
``runtime.asset.default_tags``), addressed as the virtual plant server names them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pharmatwin.core.documents import read_yaml_mapping
from pharmatwin.core.recipe import StrictData
from pharmatwin.core.utc import parse_utc
from pharmatwin.runtime.asset import VIRTUAL_PLANT_NAMESPACE, Asset, load_asset


class SourceConfig(StrictData):
    """A data source: an OPC UA server, an MQTT broker or a folder of files.

    Attributes:
        name: how assets refer to it.
        kind: ``opcua``, ``mqtt`` or ``file``.
        url: ``opc.tcp://host:port/path``, ``mqtt://host:port`` or a file path.
        format: MQTT payloads: ``sparkplug`` (Sparkplug B) or ``json``.
        group: Sparkplug group id.
        topic: MQTT topic filter for JSON payloads.
        client_id: MQTT client id; a fixed id keeps the broker's persistent session.
    """

    name: str = Field(min_length=1)
    kind: Literal["opcua", "mqtt", "file"]
    url: str = Field(min_length=1)
    format: Literal["sparkplug", "json"] = "sparkplug"
    group: str = "pharmatwin"
    topic: str = "pharmatwin/#"
    client_id: str = "pharmatwin-runtime"

    def item_prefix(self, asset: str) -> str:
        """How this source names the virtual plant's tags of ``asset`` (the default tag map's
        sources): OPC UA node ids in the virtual plant's namespace; Sparkplug metrics as
        ``{device}/{metric}`` with the asset as the device; JSON and files by tag."""
        if self.kind == "opcua":
            return f"nsu={VIRTUAL_PLANT_NAMESPACE};s="
        if self.kind == "mqtt" and self.format == "sparkplug":
            return f"{asset}/"
        return ""


class BatchConfig(StrictData):
    """The batch the asset is running: its id and its start (UTC)."""

    id: str = ""
    start_utc: str

    @field_validator("start_utc")
    @classmethod
    def _utc(cls, value: str) -> str:
        parse_utc(value)
        return value

    @property
    def start(self) -> datetime:
        return parse_utc(self.start_utc)


class AssetEntry(StrictData):
    """An asset kept live: its definition, its source, its current batch."""

    asset: Asset
    source: str
    batch: BatchConfig

    @field_validator("asset", mode="before")
    @classmethod
    def _by_name(cls, value: object) -> object:
        return load_asset(value) if isinstance(value, str) else value

    @property
    def batch_id(self) -> str:
        return self.batch.id or f"{self.asset.name}-{self.batch.start:%Y%m%dT%H%MZ}"


class PlantConfig(StrictData):
    """Sources and the assets whose twins the runtime keeps live."""

    db: str = ""
    mode: Literal["development", "production"] = "development"
    """``production``: each twin runs only an approved version of its configuration and recipe
    (``runtime.versioned_twin``); ``development``: unapproved ones are recorded as drafts."""
    sources: list[SourceConfig] = Field(min_length=1)
    assets: list[AssetEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> PlantConfig:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("sources: names must be unique")
        assets = [a.asset.name for a in self.assets]
        if len(set(assets)) != len(assets):
            raise ValueError("assets: asset names must be unique")
        for i, entry in enumerate(self.assets):
            if entry.source not in names:
                raise ValueError(
                    f"assets.{i}.source: no source named {entry.source!r} "
                    f"(sources: {', '.join(names)})"
                )
        return self

    def source(self, name: str) -> SourceConfig:
        return next(s for s in self.sources if s.name == name)


def load_plant_config(path: Path) -> PlantConfig:
    """Read and validate a runtime configuration file."""
    if not path.is_file():
        raise ValueError(f"--config: no such file {str(path)!r}")
    return PlantConfig.model_validate(read_yaml_mapping(path))
