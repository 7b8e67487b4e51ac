import math

import numpy as np
import pytest

from pharmatwin.core.variables import Parameter, State, bounds_arrays, index_of


def test_parameter_requires_a_source() -> None:
    with pytest.raises(ValueError, match="source"):
        Parameter("k", "1/h", "rate", 0.0, 1.0, default=0.5)


def test_parameter_default_must_lie_within_bounds() -> None:
    with pytest.raises(ValueError, match="outside"):
        Parameter("k", "1/h", "rate", 0.0, 1.0, default=2.0, source="test")


def test_names_must_be_identifiers_and_bounds_ordered() -> None:
    with pytest.raises(ValueError, match="identifier"):
        State("not a name", "mM")
    with pytest.raises(ValueError, match="below"):
        State("x", "mM", lower=1.0, upper=0.0)


def test_index_and_bounds_derive_from_declarations() -> None:
    states = (State("a", "mM", lower=0.0), State("b", "L"))
    assert index_of(states, "b", "state") == 1
    with pytest.raises(KeyError, match="known: a, b"):
        index_of(states, "c", "state")
    lower, upper = bounds_arrays(states)
    np.testing.assert_array_equal(lower, [0.0, -math.inf])
    np.testing.assert_array_equal(upper, [math.inf, math.inf])
