"""Layer 1: variables and units, the model contract, specifications, recipes, the integrator."""
