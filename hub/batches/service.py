"""Re-verification batches: accepted whole or not at all, worked through by the workers, read back by id.

Accepting a batch stores its items and stages one queue entry per item in the outbox, in one
transaction: an answered 202 means the batch and all its work are durable. The workers' outbox relay
moves the entries to the ``verification-batch`` stream as its capacity allows, so a batch of 100,000
subjects waits in SQL, not in Redis memory.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select

from hub.batches.upload import BatchParams
from hub.clients import ApiClient
from hub.errors import NotFound
from hub.model.verification import VerificationRequest
from hub.outbox import stage
from hub.store.database import Database
from hub.store.tables import verification_batch_items, verification_batches, verification_jobs
from hub.store.timestamps import as_utc, utc_now
from hub.verification.service import check_scopes

QUEUE = "verification-batch"
# Enough entries in the stream to keep every worker busy; the rest of a batch waits in the outbox.
QUEUE_CAPACITY = 2_000


@dataclass
class BatchService:
    db: Database

    def create(self, client: ApiClient, params: BatchParams, requests: list[VerificationRequest]) -> uuid.UUID:
        for scope_check in requests[:1]:  # the scopes are the batch's, the same on every line
            check_scopes(client, scope_check)
        batch_id = uuid.uuid4()
        now = utc_now()
        with self.db.begin() as conn:
            conn.execute(insert(verification_batches).values(
                id=batch_id, client_name=client.name, officer=params.officer, purpose=params.purpose,
                scopes=[s.value for s in params.scopes], deadline_ms=params.deadline_ms, total=len(requests),
                status="queued", created_at=now))
            rows = [{"batch_id": batch_id, "seq": i, "request": r.model_dump(mode="json", exclude_none=True),
                     "status": "pending", "attempts": 0} for i, r in enumerate(requests)]
            for start in range(0, len(rows), 1000):
                conn.execute(insert(verification_batch_items), rows[start:start + 1000])
            stage(conn, QUEUE, ({"batch": str(batch_id), "seq": str(i)} for i in range(len(requests))))
        return batch_id

    def _batch(self, conn: Any, batch_id: uuid.UUID, client: ApiClient) -> Any:
        row = conn.execute(select(verification_batches).where(verification_batches.c.id == batch_id)).first()
        if row is None or row.client_name != client.name:
            raise NotFound(f"no verification batch {batch_id} for this client")
        return row

    def progress(self, batch_id: uuid.UUID, client: ApiClient) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            batch = self._batch(conn, batch_id, client)
            counts: dict[str, int] = dict(conn.execute(
                select(verification_batch_items.c.status, func.count())
                .where(verification_batch_items.c.batch_id == batch_id)
                .group_by(verification_batch_items.c.status)).all())
            completeness: dict[str | None, int] = dict(conn.execute(
                select(verification_batch_items.c.completeness, func.count())
                .where(verification_batch_items.c.batch_id == batch_id,
                       verification_batch_items.c.status == "done")
                .group_by(verification_batch_items.c.completeness)).all())
            last = conn.execute(select(func.max(verification_batch_items.c.completed_at))
                                .where(verification_batch_items.c.batch_id == batch_id)).scalar()
        done = int(counts.get("done", 0))
        created = as_utc(batch.created_at)
        elapsed = ((as_utc(last) if last else created) - created).total_seconds()
        rate = done / elapsed if done and elapsed > 0 else None
        remaining = batch.total - done
        return {
            "id": str(batch.id), "status": batch.status, "total": batch.total, "done": done,
            "running": int(counts.get("running", 0)), "pending": int(counts.get("pending", 0)),
            "completeness": {str(k): int(v) for k, v in completeness.items()},
            "created_at": created.isoformat(),
            "completed_at": as_utc(batch.completed_at).isoformat() if batch.completed_at else None,
            "subjects_per_second": round(rate, 2) if rate else None,
            "eta_seconds": round(remaining / rate, 1) if rate and remaining else (0.0 if not remaining else None),
            "results_url": f"/v1/verification-batches/{batch.id}/results",
        }

    def results(self, batch_id: uuid.UUID, client: ApiClient) -> Iterator[bytes]:
        """JSON lines, one per subject in upload order: its line, status and, once done, its report."""
        with self.db.engine.connect() as conn:
            self._batch(conn, batch_id, client)
            rows = conn.execute(
                select(verification_batch_items, verification_jobs.c.report)
                .select_from(verification_batch_items.outerjoin(
                    verification_jobs, verification_jobs.c.id == verification_batch_items.c.job_id))
                .where(verification_batch_items.c.batch_id == batch_id)
                .order_by(verification_batch_items.c.seq)).all()
        for r in rows:
            yield (json.dumps({"line": r.seq + 1, "request": r.request, "status": r.status,
                               "completeness": r.completeness, "verification_id": str(r.job_id) if r.job_id else None,
                               "report": r.report}, ensure_ascii=False, sort_keys=True) + "\n").encode()


def lease_until(seconds: float) -> dt.datetime:
    return utc_now() + dt.timedelta(seconds=seconds)
