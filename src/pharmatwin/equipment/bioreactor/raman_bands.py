"""Raman bands of the virtual bioreactor's broth: one band set per component, as data.

Positions (Raman shift, cm^-1) are those reported for the species in water and used for in-line
Raman monitoring of CHO cultures (Abu-Absi et al. 2011, Biotechnol. Bioeng. 108:1215; Berry et
al. 2015, Biotechnol. Prog. 31:566; Santos et al. 2018, Biotechnol. Prog. 34:659), with the band
assignments of the sources named per component. Widths (full width at half maximum) are typical
of aqueous solutes seen through a process probe at ~2 cm^-1 resolution. Heights are assumed:
relative heights within a component follow the published spectra roughly; the scale of each
component (counts per unit concentration at the nominal laser power and exposure) is chosen so
that a PLS calibration reaches glucose errors of the order of 1 mM, as reported for in-line
Raman in CHO fed-batch (the papers above).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    """One Lorentzian Raman band.

    Attributes:
        center: Raman shift of the band maximum, cm^-1.
        fwhm: full width at half maximum, cm^-1.
        height: relative height (the component's strongest band is about 1).
    """

    center: float
    fwhm: float
    height: float

    def __post_init__(self) -> None:
        if not self.fwhm > 0:
            raise ValueError(f"fwhm: must be positive, got {self.fwhm}")
        if not self.height >= 0:
            raise ValueError(f"height: must be non-negative, got {self.height}")


@dataclass(frozen=True)
class Component:
    """A species of the broth and its Raman bands.

    Attributes:
        name: component name.
        driver: what scales its intensity: a model output (``glucose``, ``titre``, ...), the
            total cell density (``cells``) or ``constant`` (solvent and basal medium).
        unit: unit of the driver.
        counts_per_unit: height of a band of relative height 1 per unit of the driver, counts
            at the nominal laser power and exposure.
        bands: the bands.
        source: band positions and assignments.
    """

    name: str
    driver: str
    unit: str
    counts_per_unit: float
    bands: tuple[Band, ...]
    source: str


GLUCOSE = Component(
    "glucose",
    "glucose",
    "mM",
    counts_per_unit=40.0,
    bands=(
        Band(423.0, 20.0, 0.35),
        Band(518.0, 22.0, 0.45),
        Band(911.0, 18.0, 0.40),  # C-C-H deformation
        Band(1065.0, 25.0, 0.55),  # C-O stretch
        Band(1125.0, 22.0, 1.00),  # C-O-H bend / C-O stretch, the band used for glucose
        Band(1365.0, 25.0, 0.35),
        Band(1460.0, 25.0, 0.30),  # CH2 deformation
    ),
    source="Mathlouthi & Luu 1980, Carbohydr. Res. 81:203 (aqueous D-glucose); "
    "Berry et al. 2015 (1125, 1060, 910 cm^-1 in CHO media)",
)

LACTATE = Component(
    "lactate",
    "lactate",
    "mM",
    counts_per_unit=35.0,
    bands=(
        Band(857.0, 15.0, 1.00),  # C-COO- stretch
        Band(931.0, 15.0, 0.30),
        Band(1043.0, 15.0, 0.65),  # C-CH3 stretch
        Band(1092.0, 15.0, 0.25),
        Band(1315.0, 20.0, 0.20),
        Band(1418.0, 20.0, 0.55),  # COO- symmetric stretch
        Band(1455.0, 20.0, 0.45),  # CH3 deformation
    ),
    source="Cassanas et al. 1991, J. Raman Spectrosc. 22:409 (lactate in water); "
    "Abu-Absi et al. 2011 (855, 1040 cm^-1)",
)

GLUTAMINE = Component(
    "glutamine",
    "glutamine",
    "mM",
    counts_per_unit=30.0,
    bands=(
        Band(850.0, 15.0, 0.60),  # C-C stretch
        Band(1095.0, 18.0, 0.35),  # C-N stretch
        Band(1330.0, 20.0, 0.50),  # CH2 wag
        Band(1413.0, 20.0, 0.70),  # COO- symmetric stretch
        Band(1445.0, 20.0, 0.40),
        Band(1680.0, 30.0, 0.40),  # side-chain amide C=O
    ),
    source="Zhu et al. 2011, Spectrochim. Acta A 78:1187 (amino acids in water)",
)

ANTIBODY = Component(
    "antibody",
    "titre",
    "g/L",
    counts_per_unit=60.0,
    bands=(
        Band(760.0, 15.0, 0.30),  # tryptophan
        Band(830.0, 15.0, 0.25),  # tyrosine Fermi doublet
        Band(853.0, 15.0, 0.30),
        Band(1003.0, 8.0, 1.00),  # phenylalanine ring breathing
        Band(1240.0, 50.0, 0.80),  # amide III (beta sheet)
        Band(1340.0, 30.0, 0.50),
        Band(1450.0, 30.0, 0.90),  # CH2/CH3 deformation
        Band(1555.0, 20.0, 0.25),  # tryptophan
        Band(1610.0, 20.0, 0.30),  # phenylalanine / tyrosine
        Band(1670.0, 50.0, 1.30),  # amide I (beta sheet)
    ),
    source="Rygula et al. 2013, J. Raman Spectrosc. 44:1061 (protein bands); "
    "Santos et al. 2018 (antibody titre from in-line Raman)",
)

CELLS = Component(
    "cells",
    "cells",
    "1e6 cells/mL",
    counts_per_unit=12.0,
    bands=(
        Band(785.0, 20.0, 0.40),  # nucleic acids (ring breathing)
        Band(1003.0, 8.0, 0.50),  # phenylalanine
        Band(1302.0, 30.0, 0.60),  # lipid CH2 twist
        Band(1450.0, 30.0, 1.00),  # CH2 deformation
        Band(1660.0, 50.0, 0.90),  # amide I and lipid C=C
    ),
    source="band assignments of living cells as reviewed by Notingher & Hench 2006, "
    "Expert Rev. Med. Devices 3:215",
)

WATER = Component(
    "water",
    "constant",
    "-",
    counts_per_unit=3000.0,
    bands=(
        Band(550.0, 300.0, 0.35),  # librations (very broad)
        Band(1640.0, 100.0, 1.00),  # H-O-H bend
    ),
    source="Walrafen 1967, J. Chem. Phys. 47:114 (water librations, bending mode)",
)

MEDIUM = Component(
    "medium",
    "constant",
    "-",
    counts_per_unit=800.0,
    bands=(
        Band(990.0, 12.0, 1.00),  # HPO4 2- symmetric stretch
        Band(1017.0, 15.0, 0.50),  # HCO3- C-OH stretch
        Band(1077.0, 15.0, 0.40),  # H2PO4- symmetric stretch
        Band(1360.0, 20.0, 0.30),  # HCO3- / amino acids
        Band(1410.0, 40.0, 0.40),  # amino acids COO-
    ),
    source="Rudolph 2010, Dalton Trans. 39:9642 (phosphate species in water); "
    "Davis & Oliver 1972, J. Solution Chem. 1:329 (bicarbonate)",
)

COMPONENTS: tuple[Component, ...] = (GLUCOSE, LACTATE, GLUTAMINE, ANTIBODY, CELLS, WATER, MEDIUM)
"""Every component of the virtual broth, in the order the simulator sums them."""


def component(name: str) -> Component:
    """A component by name (``ValueError`` naming the known ones otherwise)."""
    for c in COMPONENTS:
        if c.name == name:
            return c
    known = ", ".join(c.name for c in COMPONENTS)
    raise ValueError(f"component: unknown {name!r} (known: {known})")
