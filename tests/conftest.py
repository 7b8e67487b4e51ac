"""Shared fixtures: the CHO model, the nominal recipe and cached plant runs."""

from __future__ import annotations

from functools import cache

import pytest

from pharmatwin.core.recipe import Recipe
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.equipment.bioreactor.plant import run_plant
from pharmatwin.equipment.bioreactor.records import PlantRun
from pharmatwin.equipment.bioreactor.scenario import load_scenario, read_recipe


@pytest.fixture(scope="session")
def model() -> ChoFedBatch:
    return ChoFedBatch()


@pytest.fixture(scope="session")
def nominal_recipe() -> Recipe:
    return Recipe.model_validate(read_recipe("cho-mab-fedbatch-14d"))


@cache
def plant_run(name: str) -> PlantRun:
    """One run per built-in scenario per test session (they are deterministic)."""
    return run_plant(load_scenario(name))
