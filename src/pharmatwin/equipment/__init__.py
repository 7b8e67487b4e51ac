"""Layer 2: one folder per kind of equipment."""
