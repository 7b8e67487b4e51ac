"""The runtime's configuration: the shipped example validates; mistakes name their field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pharmatwin.runtime.asset import default_tags
from pharmatwin.runtime.plant_config import PlantConfig, load_plant_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "virtual-plant.yaml"


def test_the_example_configuration_validates() -> None:
    config = load_plant_config(EXAMPLE)
    entry = config.assets[0]
    assert entry.batch_id == "BR01-nominal-0"
    source = config.source(entry.source)
    assert source.item_prefix("BR01") == "nsu=urn:pharmatwin:virtual-plant;s="
    assert config.source("broker").item_prefix("BR01") == "BR01/"


def test_each_asset_gets_its_own_tags_with_the_twin_signals() -> None:
    tags = {m.tag: m for m in default_tags("BR07", "BR07/")}
    assert tags["BR07.TT101.PV"].signal == "BR01.TT101.PV"
    assert tags["BR07.TT101.PV"].source == "BR07/BR07.TT101.PV"
    assert tags["BR07.TITRE.LAB"].unit == "g/L"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sources": []}, "sources"),
        (
            {
                "assets": [
                    {
                        "asset": "br01",
                        "source": "nope",
                        "batch": {"start_utc": "2026-01-05T06:00:00Z"},
                    }
                ]
            },
            "no source named 'nope'",
        ),
        (
            {"assets": [{"asset": "br01", "source": "plant", "batch": {"start_utc": "yesterday"}}]},
            "is not an ISO 8601 time",
        ),
        ({"sources": [{"name": "plant", "kind": "modbus", "url": "x"}]}, "kind"),
    ],
)
def test_mistakes_are_named(change: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "sources": [{"name": "plant", "kind": "opcua", "url": "opc.tcp://127.0.0.1:4840/"}],
        "assets": [
            {"asset": "br01", "source": "plant", "batch": {"start_utc": "2026-01-05T06:00:00Z"}}
        ],
    }
    with pytest.raises(ValidationError, match=message):
        PlantConfig.model_validate({**base, **change})
