"""HTTP routers: thin wrappers over ``pharmatwin.service.services``."""
