"""The model contract: declared variables, a pure vectorized derivative, a measurement map.

A model is a plain class. It declares its ``states``, ``inputs``, ``parameters`` and ``outputs``
once and provides

* ``rhs(t, x, u, p) -> dx/dt`` over a leading ensemble axis: ``x`` is ``(members, n_states)``,
  ``t`` a time or one time per member,
  ``u`` is ``(members, n_inputs)`` and ``p`` is ``(members, n_parameters)``;
* ``measure(x, u, p) -> y`` of shape ``(members, n_outputs)``.

Both are pure: no I/O, no mutation of ``self``, no hidden random generator. The same object then
serves the virtual plant, the estimator, the forecaster and the optimizer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.core.variables import (
    Input,
    Output,
    Parameter,
    State,
    bounds_arrays,
    index_of,
    names,
)


class Model(ABC):
    """Base class of every mechanistic model in pharmatwin."""

    states: ClassVar[tuple[State, ...]]
    inputs: ClassVar[tuple[Input, ...]]
    parameters: ClassVar[tuple[Parameter, ...]]
    outputs: ClassVar[tuple[Output, ...]]
    volume_state: ClassVar[str | None] = None
    """Name of the liquid-volume state of a well-mixed vessel, or None if the model has none."""
    feed_input: ClassVar[str | None] = None
    """Input carrying the recipe's continuous feed flow (L/h), or None; the feed's composition
    goes to inputs named ``<state>_feed``."""

    @abstractmethod
    def rhs(self, t: float | FloatArray, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        """Time derivative ``dx/dt`` with the shape of ``x``.

        ``t`` is the time in the model's unit: one number, or one per member (``(members,)``)
        when members advance on their own clocks. Time-varying conditions arrive through ``u``.
        """

    @abstractmethod
    def measure(self, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        """Outputs ``y`` of shape ``(members, n_outputs)``."""

    # ---- derived registries -------------------------------------------------------------
    @classmethod
    def state_names(cls) -> tuple[str, ...]:
        return names(cls.states)

    @classmethod
    def input_names(cls) -> tuple[str, ...]:
        return names(cls.inputs)

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        return names(cls.parameters)

    @classmethod
    def output_names(cls) -> tuple[str, ...]:
        return names(cls.outputs)

    @classmethod
    def state_index(cls, name: str) -> int:
        return index_of(cls.states, name, "state")

    @classmethod
    def input_index(cls, name: str) -> int:
        return index_of(cls.inputs, name, "input")

    @classmethod
    def parameter_index(cls, name: str) -> int:
        return index_of(cls.parameters, name, "parameter")

    @classmethod
    def output_index(cls, name: str) -> int:
        return index_of(cls.outputs, name, "output")

    @classmethod
    def state_bounds(cls) -> tuple[FloatArray, FloatArray]:
        return bounds_arrays(cls.states)

    @classmethod
    def parameter_bounds(cls) -> tuple[FloatArray, FloatArray]:
        return bounds_arrays(cls.parameters)

    @classmethod
    def state_atol(cls) -> FloatArray:
        return np.array([s.atol for s in cls.states], dtype=float)

    # ---- vector builders ----------------------------------------------------------------
    @classmethod
    def default_inputs(cls) -> FloatArray:
        return np.array([i.default for i in cls.inputs], dtype=float)

    @classmethod
    def default_parameters(cls, members: int = 1) -> FloatArray:
        """The literature defaults repeated over ``members``: shape ``(members, n_parameters)``."""
        row = np.array([q.default for q in cls.parameters], dtype=float)
        return np.tile(row, (members, 1))

    @classmethod
    def parameter_vector(cls, overrides: Mapping[str, float], members: int = 1) -> FloatArray:
        """Defaults with ``overrides`` applied, each checked against its declared bounds."""
        p = cls.default_parameters(members)
        for name, value in overrides.items():
            j = cls.parameter_index(name)
            q = cls.parameters[j]
            if not q.lower <= value <= q.upper:
                raise ValueError(
                    f"parameters.{name}: {value:g} {q.unit} is outside its bounds "
                    f"[{q.lower:g}, {q.upper:g}]"
                )
            p[:, j] = value
        return p

    @classmethod
    def state_vector(cls, values: Mapping[str, float], members: int = 1) -> FloatArray:
        """A state array from ``values`` (every state must be given): ``(members, n_states)``."""
        missing = [s.name for s in cls.states if s.name not in values]
        if missing:
            raise ValueError(f"initial state: missing {', '.join(missing)}")
        unknown = sorted(set(values) - set(cls.state_names()))
        if unknown:
            raise ValueError(f"initial_state.{unknown[0]}: unknown state")
        row = np.array([values[s.name] for s in cls.states], dtype=float)
        for s, v in zip(cls.states, row, strict=True):
            if not s.lower <= v <= s.upper:
                raise ValueError(
                    f"initial_state.{s.name}: {v:g} {s.unit} is outside [{s.lower:g}, {s.upper:g}]"
                )
        return np.tile(row, (members, 1))
