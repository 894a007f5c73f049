"""Events banks push (POST /v1/inbound/banks/{bin}/events): freeze confirmations and credit advices,
stored once per (bank, event id).

A credit advice is money on an enforcement office's account. When its transfer note names a case the
hub took in (the case reference, THADS-<province>-<year>-<n>, which offices ask payers to write), the
payment is that case's and a receipt is issued in the same transaction: numbered, signed, verifiable.
An advice naming no known case is kept unmatched, for the office to assign; no receipt is issued for
money nobody can place. A freeze confirmation is kept with the freeze the bank reports as applied. When the
hub sent that freeze (a command for the same decision at the same account of this bank), the command's
history gains a "confirmed" entry (the bank's event id, what it froze and when) and the confirmation is
linked to the command's case; otherwise to the case whose reference the freeze decision carries, if any.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

from lxml import etree
from sqlalchemy import Connection, insert, select

from adapters.envelope import EnvelopeSigner
from hub.agency_ids import bank_agency
from hub.audit.recorder import ExchangeRecorder
from hub.commands.kinds import CONFIRMED, CommandKind
from hub.connector import BankEventIntake
from hub.inbound.desk import RecordDesk
from hub.inbound.intake_store import evidence
from hub.inbound.reception import Arrival, Reception, Route
from hub.model.intake import BankEventKind, InboundBankEvent
from hub.model.measures import AccountFreeze
from hub.receipts.issue import CaseOffice, issue_receipt
from hub.store.database import Database
from hub.store.tables import bank_events, command_events, commands, enforcement_cases, intakes

SERVICE = "bank"
OPERATIONS = ("BaoCo", "XacNhanPhongToa")
_CASE_REF = re.compile(r"THADS-[0-9]{2}-[0-9]{4}-[0-9]{4,}")


def route_for(bank_bin: str) -> Route:
    return Route(f"bank-{bank_bin}", SERVICE, OPERATIONS, "rest")


def case_named(conn: Connection, text: str | None) -> CaseOffice | None:
    for ref in _CASE_REF.findall(text or ""):
        row = conn.execute(select(intakes.c.case_id, intakes.c.case_ref, intakes.c.office_code,
                                  enforcement_cases.c.office_province)
                           .join(enforcement_cases, enforcement_cases.c.id == intakes.c.case_id)
                           .where(intakes.c.case_ref == ref)).first()
        if row is not None:
            return CaseOffice(uuid.UUID(str(row.case_id)), row.case_ref, row.office_code, row.office_province)
    return None


def freeze_command(conn: Connection, freeze: AccountFreeze) -> Any:
    """The hub's command for this freeze: the same decision at the same account of the same bank (the key the
    bank de-duplicates the freeze on), or None when the hub never sent it."""
    return conn.execute(select(commands.c.id, commands.c.case_ref).where(
        commands.c.kind == CommandKind.ACCOUNT_FREEZE.value, commands.c.agency == bank_agency(freeze.bank_bin),
        commands.c.target == freeze.account_number, commands.c.decision_ref == freeze.decision_ref.strip())).first()


def note_confirmation(conn: Connection, command_id: uuid.UUID, event: InboundBankEvent, freeze: AccountFreeze,
                      at: dt.datetime) -> None:
    frozen = f"{freeze.frozen_vnd:,} VND" if freeze.frozen_vnd is not None else "an amount it did not state"
    when = freeze.confirmed_at.isoformat() if freeze.confirmed_at else "a time it did not state"
    conn.execute(insert(command_events).values(
        command_id=command_id, at=at, status=CONFIRMED, agency_ref=event.event_id,
        detail=f"the bank confirmed the freeze: {frozen} of {freeze.amount_vnd:,} VND asked, frozen at {when}"))


class BankDesk(RecordDesk):
    capability = BankEventIntake
    kind = "bank_event"
    path = "/v1/inbound/banks/{bin}/events"

    def __init__(self, reception: Reception, db: Database, recorder: ExchangeRecorder, connectors: Any,
                 signer: EnvelopeSigner) -> None:
        super().__init__(reception, db, recorder, connectors)
        self.signer = signer

    def check(self, connector: Any) -> Callable[[etree._Element], None]:
        bank: BankEventIntake = connector
        return bank.check_event_document

    def read(self, connector: Any, document: etree._Element) -> InboundBankEvent:
        bank: BankEventIntake = connector
        return bank.event_from_document(document)

    def store(self, conn: Connection, read: Any, arrival: Arrival, context: dict[str, str]) -> tuple[str, bool]:
        event: InboundBankEvent = read
        v = arrival.verified
        known = conn.execute(select(bank_events.c.id).where(bank_events.c.bank_bin == event.bank_bin,
                                                            bank_events.c.event_id == event.event_id)).first()
        if known is not None:
            evidence(conn, v.signer, v.header.message_id, "duplicate", str(known.id), event_id=event.event_id)
            return str(known.id), True
        return self._record(conn, event, arrival, context.get("base_url", "")), False

    def _record(self, conn: Connection, event: InboundBankEvent, arrival: Arrival, base_url: str) -> str:
        v = arrival.verified
        row_id = uuid.uuid4()
        case = case_named(conn, event.note if event.kind == BankEventKind.CREDIT else
                          (event.freeze.decision_ref if event.freeze else None))
        freeze = event.freeze if event.kind == BankEventKind.FREEZE_CONFIRMED else None
        command = freeze_command(conn, freeze) if freeze is not None else None
        if command is not None and freeze is not None:
            note_confirmation(conn, command.id, event, freeze, arrival.received_at)
            case = case or case_named(conn, command.case_ref)
        receipt_id = None
        stored = event
        if event.kind == BankEventKind.CREDIT and event.payment is not None and case is not None:
            payment = event.payment.model_copy(update={"case_id": case.case_id})
            stored = event.model_copy(update={"payment": payment})
            receipt, url = issue_receipt(conn, self.signer, case, payment, base_url)
            receipt_id = receipt.id
            evidence(conn, v.signer, v.header.message_id, "receipt_issued", str(case.case_id),
                     receipt_id=str(receipt.id), number=receipt.number, series=receipt.series, verify_url=url)
        conn.execute(insert(bank_events).values(
            id=row_id, bank_bin=event.bank_bin, event_id=event.event_id, kind=event.kind.value,
            case_id=case.case_id if case else None, event=stored.model_dump(mode="json"), receipt_id=receipt_id,
            received_at=arrival.received_at))
        evidence(conn, v.signer, v.header.message_id, "accepted", str(row_id), kind=event.kind.value,
                 event_id=event.event_id, case_ref=case.case_ref if case else None,
                 command_id=str(command.id) if command is not None else None)
        return str(row_id)
