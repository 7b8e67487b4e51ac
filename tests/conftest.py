"""Shared fixtures: the CHO model, the nominal recipe and cached plant runs."""

from __future__ import annotations

import os

# One BLAS thread: the suite runs on small matrices on shared 2-core machines, where OpenBLAS's
# thread pool contends with other processes and slows small SVDs ~100-fold (measured: a
# 430 x 66 SVD took 1 s instead of 5 ms under load). Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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
