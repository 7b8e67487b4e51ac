"""Writes to the plant through the context's plant control."""

from __future__ import annotations

from pharmatwin.core.actions import Action
from pharmatwin.equipment.bioreactor.model import ChoFedBatch
from pharmatwin.service.context import PlantControl, ServiceContext
from pharmatwin.service.schemas.twins import AppliedOut, SetpointOut
from pharmatwin.service.services.errors import BadInputError, UnavailableError


class PlantService:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def _plant(self) -> PlantControl:
        if self.context.plant is None:
            raise UnavailableError("plant: this service has no plant control")
        return self.context.plant

    def set_setpoint(self, asset: str, name: str, value: float) -> SetpointOut:
        """Set input ``name`` (a bioreactor model input, e.g. ``T`` in degC) of ``asset``."""
        names = ChoFedBatch.input_names()
        if name not in names:
            raise BadInputError("name", f"{name!r} is not a setpoint; one of {', '.join(names)}")
        plant = self._plant()
        effective = plant.set_setpoint(asset, name, value)
        return SetpointOut(asset=asset, name=name, value=value, effective_h=float(effective))

    def apply(self, asset: str, action: Action) -> AppliedOut:
        """Carry out ``action`` on ``asset``."""
        effective = self._plant().apply(asset, action)
        return AppliedOut(asset=asset, action=action.name, effective_h=float(effective))
