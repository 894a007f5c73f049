"""What arrived about a case after its intake: procuracy actions, bank events, receipts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select

from hub.store.database import Database
from hub.store.tables import bank_events, procuracy_actions, receipts
from hub.store.timestamps import as_utc


def linked_to_case(db: Database, case_id: UUID) -> dict[str, Any]:
    with db.engine.connect() as conn:
        actions = conn.execute(select(procuracy_actions).where(procuracy_actions.c.case_id == case_id)
                               .order_by(procuracy_actions.c.received_at)).all()
        events = conn.execute(select(bank_events).where(bank_events.c.case_id == case_id)
                              .order_by(bank_events.c.received_at)).all()
        issued = conn.execute(select(receipts).where(receipts.c.case_id == case_id)
                              .order_by(receipts.c.number)).all()
    return {
        "procuracy_actions": [{**a.action, "document_id": a.document_id} for a in actions],
        "bank_events": [{**e.event, "received_at": as_utc(e.received_at).isoformat(),
                         "receipt_id": str(e.receipt_id) if e.receipt_id else None} for e in events],
        "receipts": [r.receipt for r in issued],
    }
