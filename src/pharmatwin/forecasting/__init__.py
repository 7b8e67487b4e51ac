"""Layer 3: forecasts of end-of-batch quality from a belief, alarms and what-if evaluation."""
