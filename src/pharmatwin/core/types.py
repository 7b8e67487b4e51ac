"""Array type aliases shared across pharmatwin."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
"""A float64 array; ensemble arrays carry the member axis first: ``(members, n)``."""

AnyArray = NDArray[Any]
