"""Every service of one app, over one historian and one user store."""

from __future__ import annotations

from dataclasses import dataclass

from pharmatwin.gmp.users import UserStore
from pharmatwin.historian.store import Historian
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.services.alarms import AlarmService
from pharmatwin.service.services.assets import AssetService
from pharmatwin.service.services.auth import AuthService
from pharmatwin.service.services.batches import BatchService
from pharmatwin.service.services.history import HistoryService
from pharmatwin.service.services.plant import PlantService
from pharmatwin.service.services.twins import TwinService
from pharmatwin.service.services.whatif import WhatIfService
from pharmatwin.service.settings import ServiceSettings


@dataclass
class Services:
    settings: ServiceSettings
    context: ServiceContext
    historian: Historian
    users: UserStore
    auth: AuthService
    assets: AssetService
    batches: BatchService
    history: HistoryService
    twins: TwinService
    alarms: AlarmService
    whatif: WhatIfService
    plant: PlantService

    @classmethod
    def open(
        cls,
        settings: ServiceSettings,
        context: ServiceContext,
        historian: Historian,
        users: UserStore,
    ) -> Services:
        return cls(
            settings=settings,
            context=context,
            historian=historian,
            users=users,
            auth=AuthService(users),
            assets=AssetService(historian, context),
            batches=BatchService(historian),
            history=HistoryService(historian, settings.signals_reuse_s),
            twins=TwinService(historian, context),
            alarms=AlarmService(historian),
            whatif=WhatIfService(context),
            plant=PlantService(context),
        )

    def close(self) -> None:
        self.users.close()
        self.historian.close()
