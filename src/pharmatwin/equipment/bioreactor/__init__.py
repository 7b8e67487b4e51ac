"""CHO fed-batch production bioreactor: model, virtual plant, scenarios."""
