"""Layer 4: storage of time-series samples (for now: historian-style files)."""
