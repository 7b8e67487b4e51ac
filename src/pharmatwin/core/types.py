"""Array type aliases shared across pharmatwin."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
"""A float64 array; ensemble arrays carry the member axis first: ``(members, n)``."""

AnyArray = NDArray[Any]
BoolArray = NDArray[np.bool_]
IndexArray = NDArray[np.intp]


def column(items: Sequence[object], attribute: str) -> FloatArray:
    """``attribute`` of every item as a float column vector ``(len(items), 1)``."""
    return np.array([float(getattr(item, attribute)) for item in items], dtype=float)[:, None]
