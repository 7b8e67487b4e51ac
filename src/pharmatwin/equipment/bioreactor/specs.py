"""Specifications of the CHO fed-batch mAb process, as data.

Limits are this project's process targets for the nominal 2,000 L process (see ``model.py``):
harvest titre and viability are process-performance attributes commonly used as batch
acceptance criteria; the lactate and ammonia ceilings guard product quality (ammonia above
~10 mM alters glycosylation: Yang & Butler 2000, Biotechnol Bioeng 68:370-380).
"""

from __future__ import annotations

from pharmatwin.core.specs import Specification

SPECIFICATIONS: tuple[Specification, ...] = (
    Specification(
        name="titre",
        output="titre",
        unit="g/L",
        lower=3.5,
        when="harvest",
        description="antibody titre at harvest",
        source="process target (nominal 4.4 g/L; Vergara et al. 2014: 1-5 g/L)",
    ),
    Specification(
        name="viability",
        output="viability",
        unit="%",
        lower=70.0,
        when="harvest",
        description="viability at harvest (cell debris and host-cell proteins)",
        source="process target",
    ),
    Specification(
        name="lactate",
        output="lactate",
        unit="mM",
        upper=60.0,
        when="always",
        description="lactate never above its ceiling",
        source="process target",
    ),
    Specification(
        name="ammonia",
        output="ammonia",
        unit="mM",
        upper=10.0,
        when="always",
        description="ammonia never above its ceiling",
        source="Yang & Butler 2000 (glycosylation altered above ~10 mM)",
    ),
)
