"""Reading data documents (scenarios, recipes, assets) from YAML files."""

from __future__ import annotations

from pathlib import Path

import yaml


def read_yaml_mapping(path: Path) -> dict[str, object]:
    """The mapping at the top of a YAML file; ``ValueError`` naming the file otherwise."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{path.name}: expected a mapping of fields")
    return document
