"""Every service of one app, over one historian, one user store, one audit trail and one
genealogy reader (all in the same database)."""

from __future__ import annotations

from dataclasses import dataclass

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.genealogy_read import GenealogyReader
from pharmatwin.gmp.signatures import Signatures
from pharmatwin.gmp.users import UserStore
from pharmatwin.gmp.versions import VersionStore
from pharmatwin.historian.store import Historian
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.services.alarms import AlarmService
from pharmatwin.service.services.assets import AssetService
from pharmatwin.service.services.audit import AuditService
from pharmatwin.service.services.auth import AuthService
from pharmatwin.service.services.batch_records import BatchRecordService
from pharmatwin.service.services.batches import BatchService
from pharmatwin.service.services.genealogy import GenealogyService
from pharmatwin.service.services.history import HistoryService
from pharmatwin.service.services.plant import PlantService
from pharmatwin.service.services.signatures import SignatureService
from pharmatwin.service.services.twins import TwinService
from pharmatwin.service.services.versions import VersionService
from pharmatwin.service.services.whatif import WhatIfService
from pharmatwin.service.settings import ServiceSettings


@dataclass
class Services:
    settings: ServiceSettings
    context: ServiceContext
    historian: Historian
    users: UserStore
    trail: AuditTrail
    auth: AuthService
    assets: AssetService
    batches: BatchService
    history: HistoryService
    twins: TwinService
    alarms: AlarmService
    whatif: WhatIfService
    plant: PlantService
    audit: AuditService
    records: BatchRecordService
    signatures: SignatureService
    versions: VersionService
    genealogy: GenealogyService

    @classmethod
    def open(
        cls,
        settings: ServiceSettings,
        context: ServiceContext,
        historian: Historian,
        users: UserStore,
        trail: AuditTrail,
    ) -> Services:
        audit = AuditService(trail)
        signatures = Signatures(users=users, audit=trail)
        versions = VersionStore(audit=trail, signatures=signatures)
        records = BatchRecordService(historian, context, trail, signatures, versions)
        reader = GenealogyReader(trail.url)
        return cls(
            settings=settings,
            context=context,
            historian=historian,
            users=users,
            trail=trail,
            auth=AuthService(users),
            assets=AssetService(historian, context),
            batches=BatchService(historian),
            history=HistoryService(historian, settings.signals_reuse_s),
            twins=TwinService(historian, context, audit),
            alarms=AlarmService(historian, audit),
            whatif=WhatIfService(context),
            plant=PlantService(context, historian, audit),
            audit=audit,
            records=records,
            signatures=SignatureService(signatures, records, versions, users),
            versions=VersionService(versions, users),
            genealogy=GenealogyService(reader),
        )

    def close(self) -> None:
        self.genealogy.reader.close()
        self.trail.close()
        self.users.close()
        self.historian.close()
