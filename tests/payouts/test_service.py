"""The payout's records on both databases, with a bank that is an in-memory PayoutBank: the report matched
back per creditor, a redelivered batch changing nothing, a batch the bank refused whole, and what a
re-send refuses."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.clients import ApiClient, add_client
from hub.errors import Conflict, InvalidValue
from hub.model.decisions import AgencyReceipt
from hub.model.payments import Payment, PaymentStatus
from hub.payouts.delivery import deliver_batch
from hub.payouts.requests import PayoutRequest, ResendRequest
from hub.payouts.service import PayoutService
from hub.resilience.context import CallContext
from hub.store.database import Database
from hub.store.tables import commands, outbox, payout_batches

OFFICE = {"organ_id": "G12.HCM.079", "name": "Thi hành án dân sự TP Hồ Chí Minh"}
WHO = {"case_ref": "THADS-79-2026-0900", "officer": "Lê Văn Tám", "purpose": "Chi trả (Điều 47 Luật THADS)"}
LIMITS = {"970436": 3, "970418": 3}
CLOSED = "7000000000003"


@dataclass
class Bank:
    """Pays every transfer except to CLOSED (AC04); remembers each message and answers it again the same."""

    payout_batch_limit: int = 3
    messages: list[tuple[str, list[tuple[uuid.UUID, int, str]]]] = field(default_factory=list)

    async def pay_batch(self, batch_id: str, debtor_account: str, office_name: str, payments: list[Payment],
                        call: CallContext) -> tuple[AgencyReceipt, list[Payment]]:
        self.messages.append((batch_id, [(p.id, p.amount_vnd, p.account_number) for p in payments]))
        reported = [p.model_copy(update={"status": PaymentStatus.REJECTED, "reject_reason": "AC04: đã đóng",
                                         "extensions": {"reason_code": "AC04"}}) if p.account_number == CLOSED
                    else p.model_copy(update={"status": PaymentStatus.SETTLED,
                                              "extensions": {"bank_reference": f"CT-{p.id.hex[:8]}"}})
                    for p in payments]
        return AgencyReceipt(reference=f"STS-{batch_id}", at=dt.datetime.now(dt.UTC)), reported


@pytest.fixture
def client(database: Database) -> ApiClient:
    made, _ = add_client(database, "payout-tests", ["command:payout"])
    return made


def _request(accounts: list[tuple[str, str]], total: int = 1_000_000, number: str = "71") -> PayoutRequest:
    return PayoutRequest.model_validate({
        **WHO, "decision": {"number": number, "notation": "QĐ-CTHADS", "issued_on": "2026-11-20", "office": OFFICE},
        "total_vnd": total, "office_accounts": [{"bank_bin": b, "account_number": "0071000868686"} for b in LIMITS],
        "creditors": [{"name": f"NGUYEN VAN {n}", "bank_bin": b, "account_number": a, "claim_vnd": 100_000 * n}
                      for n, (b, a) in enumerate(accounts, start=1)]})


def _deliver_round(database: Database, bank: Bank, service: PayoutService, payout_id: uuid.UUID,
                   round_: int) -> list[str]:
    batches = [b.batch_id for b in service.get(payout_id).batches if b.round == round_]
    for batch_id in batches:
        asyncio.run(deliver_batch(database, bank, {"batch_id": batch_id}, CallContext.within(5)))
    return batches


def test_a_payout_is_matched_back_per_creditor_and_a_redelivered_batch_changes_nothing(
        database: Database, client: ApiClient) -> None:
    service, bank = PayoutService(database), Bank()
    accounts = [*[("970436", f"71000000000{n:02d}") for n in range(1, 5)], ("970418", CLOSED),
                ("970405", "7200000000001")]
    request = _request(accounts)
    payout_id = service.accept(client, request, LIMITS)
    assert service.accept(client, request, LIMITS) == payout_id  # the same decision again: the same payout
    view = service.get(payout_id)
    by_bank = {b.batch_id: (b.bank_bin, b.transfers) for b in view.batches}
    assert sorted(by_bank.values()) == [("970418", 1), ("970436", 2), ("970436", 3)]  # 970405's goes from 970436
    with database.engine.connect() as conn:
        staged = conn.execute(select(outbox.c.fields)).all()
    assert sorted(r.fields["command"] for r in staged) == sorted(str(b.command_id) for b in view.batches)

    _deliver_round(database, bank, service, payout_id, 1)
    first = list(bank.messages)
    _deliver_round(database, bank, service, payout_id, 1)  # a worker died before the command's row was written
    assert bank.messages[len(first):] == first  # the same messages, byte for byte the same content
    view = service.get(payout_id)
    assert view.status == "awaiting_correction" and [r.position for r in view.rejected] == [5]
    assert view.rejected[0].reason_code == "AC04" and view.rejected[0].reason == "AC04: đã đóng"
    assert view.totals.settled == 5 and view.totals.settled_vnd + view.totals.rejected_vnd == 1_000_000
    page = service.creditors(payout_id, 0, 100)
    assert [c.status for c in page.creditors].count("settled") == 5
    assert all(c.bank_reference for c in page.creditors if c.status == "settled")


def test_a_resend_carries_only_the_rejected_corrected_and_is_refused_when_it_cannot_be_right(
        database: Database, client: ApiClient) -> None:
    service, bank = PayoutService(database), Bank()
    payout_id = service.accept(client, _request([("970436", "7000000000001"), ("970436", CLOSED)], 250_001, "72"),
                               LIMITS)
    resend = ResendRequest.model_validate({**WHO, "round": 1, "corrections": [
        {"position": 2, "bank_bin": "970418", "account_number": "7200000000002"}]})
    with pytest.raises(Conflict) as waiting:
        service.resend(client, payout_id, resend, LIMITS)
    assert waiting.value.rule == "round_open"
    _deliver_round(database, bank, service, payout_id, 1)
    stray = ResendRequest.model_validate({**WHO, "round": 1, "corrections": [
        {"position": 1, "bank_bin": "970418", "account_number": "7200000000002"}]})
    with pytest.raises(InvalidValue) as not_rejected:
        service.resend(client, payout_id, stray, LIMITS)
    assert not_rejected.value.rule == "correction_not_rejected"

    service.resend(client, payout_id, resend, LIMITS)
    service.resend(client, payout_id, resend, LIMITS)  # asked twice: one round 2
    view = service.get(payout_id)
    round_two = [b for b in view.batches if b.round == 2]
    assert len(round_two) == 1 and round_two[0].bank_bin == "970418" and round_two[0].transfers == 1
    other = ResendRequest.model_validate({**WHO, "round": 1, "corrections": []})
    with pytest.raises(Conflict) as differs:
        service.resend(client, payout_id, other, LIMITS)
    assert differs.value.rule == "resend_differs"
    _deliver_round(database, bank, service, payout_id, 2)
    view = service.get(payout_id)
    assert view.status == "paid" and view.rounds == 2 and view.totals.settled_vnd == 250_001
    assert bank.messages[-1][1][0][2] == "7200000000002"  # the corrected account, and only that transfer
    with pytest.raises(Conflict) as nothing:
        service.resend(client, payout_id, ResendRequest.model_validate({**WHO, "round": 2}), LIMITS)
    assert nothing.value.rule == "nothing_rejected"


def test_a_batch_the_bank_refused_whole_counts_its_transfers_rejected_with_the_error(
        database: Database, client: ApiClient) -> None:
    service = PayoutService(database)
    payout_id = service.accept(client, _request([("970436", "7000000000001"), ("970418", "7000000000002")],
                                                300_000, "73"), LIMITS)
    refused: Any = service.get(payout_id).batches[0]
    with database.begin() as conn:
        conn.execute(update(commands).where(commands.c.id == refused.command_id).values(
            status="failed", error_code="AGENCY_REJECTED", error_detail="bank refused: RC01 (RC01)"))
        assert conn.execute(select(payout_batches.c.report_id).where(
            payout_batches.c.batch_id == refused.batch_id)).scalar_one() is None
    view = service.get(payout_id)
    assert [(r.bank_bin, r.reason_code) for r in view.rejected] == [(refused.bank_bin, "AGENCY_REJECTED")]
    assert view.status == "paying"  # the other batch still waits for its report
