"""The service layer: what each endpoint does, over the historian, runtime and gmp."""
