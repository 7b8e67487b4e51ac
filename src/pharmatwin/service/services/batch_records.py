"""Electronic batch records (EBR) through the service: HTML, PDF and the signed content.

The record of a batch is collected when asked for (``pharmatwin.gmp.batch_record``): the
recipe and the versions used, phases, CPPs, CQAs against predictions, alarms with their
acknowledgements, deviations, the batch's audit-trail entries and its signatures, each shown
valid or not for the record's current content (21 CFR 11.50, 11.70; ISA-88 batch record).
The asset definition is the service's (live twin or context), else the built-in one named
like the asset, else none.
"""

from __future__ import annotations

from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.batch_record import BatchRecord, build_batch_record, render_html
from pharmatwin.gmp.signatures import Signatures
from pharmatwin.gmp.versions import VersionStore
from pharmatwin.historian.store import Historian
from pharmatwin.runtime.asset import Asset, load_asset
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.services.audit import require_reportlab
from pharmatwin.service.services.errors import NotFoundError


class BatchRecordService:
    def __init__(
        self,
        historian: Historian,
        context: ServiceContext,
        audit: AuditTrail,
        signatures: Signatures,
        versions: VersionStore,
    ) -> None:
        self.historian = historian
        self.context = context
        self.audit = audit
        self.signatures = signatures
        self.versions = versions

    def _asset(self, name: str) -> Asset | None:
        definition = self.context.asset(name)
        if definition is not None:
            return definition
        builtin = name.lower()
        if not builtin.isidentifier():  # a built-in name only, never a path
            return None
        try:
            return load_asset(builtin)
        except ValueError:
            return None

    def build(self, batch_id: str) -> BatchRecord:
        """The batch record of ``batch_id`` as of now; 404 for an unknown batch."""
        batch = self.historian.batch(batch_id)
        if batch is None:
            raise NotFoundError(f"batch_id: no batch {batch_id!r}")
        return build_batch_record(
            self.historian,
            batch_id,
            audit=self.audit,
            signatures=self.signatures,
            versions=self.versions,
            asset=self._asset(batch.asset),
        )

    def html(self, batch_id: str) -> str:
        """The record as one self-contained HTML page."""
        return render_html(self.build(batch_id))

    def pdf(self, batch_id: str) -> bytes:
        """The record as PDF (409 without reportlab)."""
        require_reportlab()
        from pharmatwin.gmp.batch_record_pdf import render_pdf

        return render_pdf(self.build(batch_id))
