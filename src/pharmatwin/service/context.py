"""What the app runs over: the historian, an optional in-process runtime, an optional plant.

The service always reads the historian at ``db_url``. With ``runtime`` (an in-process
``pharmatwin.runtime.runner.Runtime``) it also answers what-if questions on the live twins and
shows forecast bands; with ``plant`` it can change setpoints and carry out actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pharmatwin.core.actions import Action
from pharmatwin.runtime.asset import Asset
from pharmatwin.runtime.live_twin import LiveTwin
from pharmatwin.runtime.runner import Runtime


class PlantControl(Protocol):
    """Writes to the plant (implemented by the demo over the in-process virtual plant)."""

    def set_setpoint(self, asset: str, name: str, value: float) -> float:
        """Set input ``name`` of ``asset`` to ``value`` (in the input's unit); returns the
        batch hour it took effect."""
        ...

    def apply(self, asset: str, action: Action) -> float:
        """Carry out ``action`` on ``asset``; returns the batch hour it took effect."""
        ...


@dataclass
class ServiceContext:
    """The historian URL, and optionally the runtime, the plant and asset definitions.

    ``assets`` adds definitions of assets without a live twin (e.g. to list their actions).
    """

    db_url: str | None = None
    runtime: Runtime | None = None
    plant: PlantControl | None = None
    assets: dict[str, Asset] = field(default_factory=dict)

    def live_twin(self, asset: str) -> LiveTwin | None:
        """The in-process live twin of ``asset``, if any."""
        if self.runtime is None:
            return None
        return self.runtime.twins.get(asset)

    def asset(self, name: str) -> Asset | None:
        """The definition of ``name``: the live twin's, else the context's."""
        twin = self.live_twin(name)
        return twin.asset if twin is not None else self.assets.get(name)

    def asset_names(self) -> list[str]:
        """Every defined asset (live or not), sorted."""
        live = set(self.runtime.twins) if self.runtime is not None else set()
        return sorted(live | set(self.assets))
