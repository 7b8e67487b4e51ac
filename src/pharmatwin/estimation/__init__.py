"""Layer 3: keeping a model in step with data (ensemble Kalman filter, particle filter)."""
