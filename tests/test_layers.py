"""Imports only point down the layers of DESIGN.md."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pharmatwin"
LAYER = {
    "core": 1,
    "equipment": 2,
    "estimation": 3,
    "forecasting": 3,
    "monitoring": 3,
    "optimization": 3,
    "maintenance": 3,
    "historian": 4,
    "connectors": 4,
    "runtime": 5,
    "gmp": 6,
    "service": 7,
    "cli": 7,
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("pharmatwin.")}


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_imports_point_down(path: Path) -> None:
    parts = path.relative_to(PACKAGE).parts
    if len(parts) < 2 or parts[0] not in LAYER:
        return
    own = LAYER[parts[0]]
    for name in imports(path):
        target = name.split(".")[1]
        assert LAYER.get(target, 0) <= own or target == parts[0], f"{name} is above {parts[0]}"


def test_a_kind_of_equipment_does_not_import_another() -> None:
    for path in (PACKAGE / "equipment").rglob("*.py"):
        parts = path.relative_to(PACKAGE / "equipment").parts
        if len(parts) < 2:
            continue
        for name in imports(path):
            bits = name.split(".")
            if len(bits) > 2 and bits[1] == "equipment":
                assert bits[2] == parts[0], f"{path.name} imports {name}"
