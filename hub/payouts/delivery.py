"""The worker side of a payout batch: one message to the paying bank, its report matched back per creditor.

Called by the commands' handler for a ``payout_batch`` command (``hub.commands.delivery``). The message
is rebuilt from the stored transfers, which never change once planned (ids, amounts, accounts, creation
time), so a delivery repeated after a crash sends the same message under the same MsgId and the bank
answers its first report without paying anyone again. Each transfer takes the status the bank reported
for it; a transfer already reported keeps its first outcome.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import and_, bindparam, select, update

from hub.connector import PayoutBank
from hub.model.decisions import AgencyReceipt
from hub.model.payments import Payment, PaymentDirection, PaymentStatus
from hub.payouts.views import CreditorStatus
from hub.resilience.context import CallContext
from hub.store.database import Database
from hub.store.tables import payout_batches, payout_transfers, payouts
from hub.store.timestamps import as_utc

_REFERENCE_LIMIT = 140  # RmtInf/Ustrd of the message


def _load(db: Database, batch_id: str) -> tuple[Any, Any, list[Any]]:
    with db.engine.connect() as conn:
        batch = conn.execute(select(payout_batches).where(payout_batches.c.batch_id == batch_id)).one()
        payout = conn.execute(select(payouts).where(payouts.c.id == batch.payout_id)).one()
        transfers = conn.execute(select(payout_transfers).where(payout_transfers.c.batch_id == batch_id)
                                 .order_by(payout_transfers.c.position)).all()
    return batch, payout, list(transfers)


def _payments(payout: Any, transfers: list[Any]) -> list[Payment]:
    reference = f"Chi tra tien THA theo QD {payout.decision_ref}, ho so {payout.case_ref}"[:_REFERENCE_LIMIT]
    return [Payment(id=t.id, direction=PaymentDirection.PAYOUT, amount_vnd=t.amount_vnd, counterparty_name=t.name,
                    bank_bin=t.bank_bin, account_number=t.account_number, reference=reference,
                    at=as_utc(t.created_at)) for t in transfers]


def _record(db: Database, batch_id: str, receipt: AgencyReceipt, reported: list[Payment]) -> None:
    rows = [{"tid": p.id, "st": (CreditorStatus.SETTLED if p.status is PaymentStatus.SETTLED
                                 else CreditorStatus.REJECTED).value,
             "code": p.extensions.get("reason_code"), "why": p.reject_reason,
             "ref": p.extensions.get("bank_reference"), "at": receipt.at} for p in reported]
    with db.begin() as conn:
        conn.execute(update(payout_transfers).where(and_(
            payout_transfers.c.id == bindparam("tid"), payout_transfers.c.status == CreditorStatus.PENDING.value))
            .values(status=bindparam("st"), reason_code=bindparam("code"), reason=bindparam("why"),
                    bank_reference=bindparam("ref"), reported_at=bindparam("at")), rows)
        conn.execute(update(payout_batches).where(payout_batches.c.batch_id == batch_id)
                     .values(report_id=receipt.reference))


async def deliver_batch(db: Database, connector: PayoutBank, payload: dict[str, Any],
                        call: CallContext) -> AgencyReceipt:
    batch_id = payload["batch_id"]
    batch, payout, transfers = await asyncio.to_thread(_load, db, batch_id)
    office_name = payout.decision["office"]["name"]
    receipt, reported = await connector.pay_batch(batch_id, batch.debtor_account, office_name,
                                                  _payments(payout, transfers), call)
    await asyncio.to_thread(_record, db, batch_id, receipt, reported)
    return receipt
