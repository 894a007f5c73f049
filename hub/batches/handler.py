"""The worker side of a batch: one queue entry verifies one subject, exactly once in the batch's record.

The item row decides. An entry first claims its item (status ``running``, owned by this entry id):
- an item already done is acknowledged without a call, so a re-delivered or duplicated entry repeats
  nothing;
- an item owned by *another* live entry is left to it (retry later);
- an item owned by *this same* entry is taken over: the queue re-delivers an entry only when the worker
  that had it stopped renewing its lease (it died), so its half-done attempt will never finish.
Completion is written only by the owning entry, so however deliveries interleave, a subject has one
result. What a killed worker can cause is a repeated look-up of the subjects it had in flight, each
logged as its own exchange (and reads: harmless at the agencies); the batch test counts them.

Agency quotas are the guard's: every call reserves a slot in the agency's shared Redis rate limit, so
any number of worker processes together stay at or under it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from hub.batches.service import QUEUE, QUEUE_CAPACITY, lease_until
from hub.bootstrap import Services
from hub.clients import active_client
from hub.errors import HubError
from hub.model.verification import VerificationReport, VerificationRequest
from hub.store.tables import verification_batch_items, verification_batches
from hub.store.timestamps import utc_now
from hub.verification.service import VerificationService
from hub.worker.handler import QueueHandler, RetryLater, is_permanent
from hub.worker.streams import Entry

log = logging.getLogger("thads.batches")

# Guards against a duplicate entry of a live item; a dead worker's item is taken over by its own entry.
_ITEM_LEASE_S = 600.0


class _Claim:
    def __init__(self, request: VerificationRequest, client_name: str) -> None:
        self.request, self.client_name = request, client_name


class BatchItemHandler(QueueHandler):
    queue = QUEUE
    capacity = QUEUE_CAPACITY
    needs_connectors = True
    concurrency = 16  # subjects in flight per worker: enough to keep every agency's quota busy
    max_attempts = 5
    retry_base_s = 5.0
    retry_max_s = 120.0

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self._service: VerificationService | None = None

    def service(self) -> VerificationService:
        if self._service is None:
            from hub.verification.wiring import verification_service

            self._service = verification_service(self.services, self.services.connectors)
        return self._service

    async def handle(self, entry: Entry) -> None:
        batch_id, seq = uuid.UUID(entry.fields["batch"]), int(entry.fields["seq"])
        claim = await self._claim_item(batch_id, seq, entry)
        if claim is None:
            return
        try:
            client = await asyncio.to_thread(active_client, self.services.db, claim.client_name)
            report = await self.service().verify(claim.request, client)
        except Exception as exc:
            if isinstance(exc, HubError) and is_permanent(exc):
                # Asking again gets the same answer (a revoked client, a scope withdrawn): the subject is
                # finished as failed, with the reason, and the batch can still complete.
                await asyncio.to_thread(self._finish, batch_id, seq, entry.id, None, exc.code)
                return
            await asyncio.to_thread(self._release, batch_id, seq, entry.id)
            raise
        await asyncio.to_thread(self._finish, batch_id, seq, entry.id, report, None)

    async def _claim_item(self, batch_id: uuid.UUID, seq: int, entry: Entry) -> _Claim | None:
        found, claim = await asyncio.to_thread(self._claim, batch_id, seq, entry.id)
        if not found:  # the outbox publishes only committed work: the batch was deleted since
            log.warning("dropping entry %s: batch %s has no item %d", entry.id, batch_id, seq)
        return claim

    def _claim(self, batch_id: uuid.UUID, seq: int, entry_id: str) -> tuple[bool, _Claim | None]:
        items = verification_batch_items
        now = utc_now()
        with self.services.db.begin() as conn:
            row = conn.execute(
                select(items.c.status, items.c.owner_entry, items.c.lease_until, items.c.request,
                       verification_batches.c.client_name, verification_batches.c.officer,
                       verification_batches.c.purpose, verification_batches.c.scopes,
                       verification_batches.c.deadline_ms)
                .join(verification_batches, verification_batches.c.id == items.c.batch_id)
                .where(items.c.batch_id == batch_id, items.c.seq == seq)).first()
            if row is None:
                return False, None
            if row.status in ("done", "failed"):
                return True, None
            taken = conn.execute(
                update(items).where(
                    items.c.batch_id == batch_id, items.c.seq == seq, items.c.status.in_(("pending", "running")),
                    or_(items.c.status == "pending", items.c.owner_entry == entry_id,
                        and_(items.c.lease_until.is_not(None), items.c.lease_until < now)))
                .values(status="running", owner_entry=entry_id, attempts=items.c.attempts + 1,
                        lease_until=lease_until(_ITEM_LEASE_S)))
            if taken.rowcount == 0:
                raise RetryLater(f"batch {batch_id} item {seq} is being verified by another entry")
        request = VerificationRequest.model_validate({
            **row.request, "officer": row.officer, "purpose": row.purpose, "scopes": row.scopes,
            "deadline_ms": row.deadline_ms})
        return True, _Claim(request, row.client_name)

    def _release(self, batch_id: uuid.UUID, seq: int, entry_id: str) -> None:
        items = verification_batch_items
        with self.services.db.begin() as conn:
            conn.execute(update(items).where(items.c.batch_id == batch_id, items.c.seq == seq,
                                             items.c.status == "running", items.c.owner_entry == entry_id)
                         .values(status="pending", owner_entry=None, lease_until=None))

    def _finish(self, batch_id: uuid.UUID, seq: int, entry_id: str, report: VerificationReport | None,
                error_code: str | None) -> None:
        items = verification_batch_items
        values: dict[str, Any] = {"status": "done" if report is not None else "failed", "owner_entry": None,
                                  "lease_until": None, "completed_at": utc_now(), "error_code": error_code}
        if report is not None:
            values.update(job_id=report.id, completeness=report.completeness.value)
        with self.services.db.begin() as conn:
            finished = conn.execute(update(items).where(
                items.c.batch_id == batch_id, items.c.seq == seq, items.c.status == "running",
                items.c.owner_entry == entry_id).values(**values))
            if finished.rowcount == 0:
                log.warning("batch %s item %d: finished by another entry; this result (%s) is not recorded",
                            batch_id, seq, report.id if report else error_code)
                return
            left = conn.execute(select(func.count()).select_from(items).where(
                items.c.batch_id == batch_id, items.c.status.in_(("pending", "running")))).scalar_one()
            if left == 0:
                conn.execute(update(verification_batches).where(
                    verification_batches.c.id == batch_id, verification_batches.c.status != "done")
                    .values(status="done", completed_at=utc_now()))
