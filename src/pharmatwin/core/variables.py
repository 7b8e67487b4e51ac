"""Declared variables: states, inputs, parameters and outputs of a model.

Each variable is declared once, with its unit, bounds, a one-line description and, for a
parameter, the literature source of its default value. Registries, index maps, serialization and
optimizer bounds are derived from these declarations, never written a second time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from pharmatwin.core.types import FloatArray


@dataclass(frozen=True)
class Variable:
    """A named quantity with a unit and physical bounds.

    Attributes:
        name: identifier used in recipes, scenarios and data files.
        unit: unit string (e.g. ``"mM"``, ``"1e9 cells/L"``).
        doc: one-line description.
        lower: lowest physically meaningful value (``-inf`` if none).
        upper: highest physically meaningful value (``+inf`` if none).
    """

    name: str
    unit: str
    doc: str = ""
    lower: float = -math.inf
    upper: float = math.inf

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"variable name {self.name!r} must be a Python identifier")
        if not self.lower < self.upper:
            raise ValueError(f"{self.name}: lower bound {self.lower} must be below {self.upper}")


@dataclass(frozen=True)
class State(Variable):
    """A differential state.

    Attributes:
        atol: absolute tolerance for error control, in the state's unit.
        intensive: True for a concentration in a well-mixed liquid (diluted by additions);
            False for an extensive quantity such as the liquid volume itself.
    """

    atol: float = 1e-6
    intensive: bool = True


@dataclass(frozen=True)
class Input(Variable):
    """An exogenous input (setpoint, flow, medium composition) with its default value."""

    default: float = 0.0


@dataclass(frozen=True)
class Parameter(Variable):
    """A model parameter with a default value and its literature source.

    Attributes:
        default: the default value, in ``unit``.
        source: where the default comes from (paper, table, equation) or how it was chosen.
        cv: coefficient of variation of the prior belief about this parameter (lognormal);
            0 for a parameter held fixed.
    """

    default: float = math.nan
    source: str = ""
    cv: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.lower <= self.default <= self.upper:
            raise ValueError(
                f"parameter {self.name}: default {self.default} "
                f"outside [{self.lower}, {self.upper}]"
            )
        if not self.source:
            raise ValueError(f"parameter {self.name}: a source for the default value is required")
        if self.cv < 0:
            raise ValueError(f"parameter {self.name}: cv must be >= 0, got {self.cv}")


@dataclass(frozen=True)
class Output(Variable):
    """A quantity computed from states and parameters by ``Model.measure``."""


V = TypeVar("V", bound=Variable)


def names(variables: Sequence[Variable]) -> tuple[str, ...]:
    """Names of ``variables`` in declaration order."""
    return tuple(v.name for v in variables)


def index_of(variables: Sequence[V], name: str, kind: str) -> int:
    """Position of the variable called ``name``; ``KeyError`` naming the choices if absent."""
    for i, v in enumerate(variables):
        if v.name == name:
            return i
    raise KeyError(f"unknown {kind} {name!r}; known: {', '.join(names(variables))}")


def bounds_arrays(variables: Sequence[Variable]) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds as two float arrays in declaration order."""
    lower = np.array([v.lower for v in variables], dtype=float)
    upper = np.array([v.upper for v in variables], dtype=float)
    return lower, upper
