"""Identity resolution of the parties a court named without a citizen ID, after intake.

Intake never waits for the population database: an intake record is stored with each such party
``pending`` and an outbox entry for this queue. A worker resolves each one through the verification
service (a search by name and birth, scored by hub/identity, logged and bound to the case like any
verification) and stores the outcome on the record: the decision, the verification that made it, and
for a resolved person the masked ID. The party itself stays as the court wrote it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import update

from hub.bootstrap import Services
from hub.clients import ApiClient
from hub.inbound.intake_store import IDENTITY_QUEUE, get_record
from hub.model.intake import PartyResolution, ResolutionState
from hub.model.party import Party
from hub.model.verification import SubjectHints, VerificationRequest, VerificationScope
from hub.store.tables import intakes
from hub.worker.handler import QueueHandler
from hub.worker.streams import Entry

OFFICER = "thads-hub (thụ lý tự động)"
PURPOSE = "Thụ lý bản án: xác định đương sự không có số định danh cá nhân trong bản án"
# The worker's own identity when it asks the verification service: it may resolve identities, nothing else.
INTAKE_CLIENT = ApiClient(id=uuid.UUID(int=0), name="hub-intake", scopes=("verify:identity",),
                          created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), revoked_at=None)


def hints_of(party: Party) -> SubjectHints | None:
    """What the judgment says of the party; None when it gives no birth date or year to search with."""
    year = party.extensions.get("NamSinh")
    if party.birth_date is None and year is None:
        return None
    address = party.addresses[0].original_text if party.addresses else None
    return SubjectHints(full_name=party.full_name, birth_date=party.birth_date,
                        birth_year=int(year) if year and party.birth_date is None else None,
                        address=address or None)


class IdentityResolutionHandler(QueueHandler):
    queue = IDENTITY_QUEUE
    needs_connectors = True
    concurrency = 4

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self._verification: Any = None

    def _service(self) -> Any:
        if self._verification is None:
            from hub.verification.wiring import verification_service

            self._verification = self.services.verification or verification_service(
                self.services, self.services.connectors)
        return self._verification

    async def handle(self, entry: Entry) -> None:
        intake_id = uuid.UUID(entry.fields["intake_id"])
        record = await asyncio.to_thread(get_record, self.services.db, intake_id=intake_id)
        outcome: list[PartyResolution] = []
        for resolution in record.resolutions:
            if resolution.state == ResolutionState.PENDING:
                resolution = await self._resolve(resolution, record.judgment.party(resolution.party_id),
                                                 record.case_ref)
            outcome.append(resolution)
        await asyncio.to_thread(self._save, intake_id, outcome)

    async def _resolve(self, resolution: PartyResolution, party: Party, case_ref: str) -> PartyResolution:
        now = dt.datetime.now(dt.UTC)
        hints = hints_of(party)
        if hints is None:
            return resolution.model_copy(update={"state": ResolutionState.INSUFFICIENT, "resolved_at": now})
        request = VerificationRequest(hints=hints, scopes=[VerificationScope.IDENTITY], case_ref=case_ref,
                                      officer=OFFICER, purpose=PURPOSE)
        report = await self._service().verify(request, INTAKE_CLIENT)
        decision = report.identity_resolution.decision.value if report.identity_resolution else "no_answer"
        return resolution.model_copy(update={
            "state": ResolutionState(decision), "verification_id": report.id, "resolved_at": now,
            "person_id_masked": report.subject_masked if decision == "resolved" else None})

    def _save(self, intake_id: uuid.UUID, outcome: list[PartyResolution]) -> None:
        with self.services.db.begin() as conn:
            conn.execute(update(intakes).where(intakes.c.id == intake_id).values(
                resolutions=[r.model_dump(mode="json") for r in outcome]))
