"""pharmatwin: open-source digital twins for pharmaceutical manufacturing."""

__version__ = "0.1.0"
