"""The bank connector (agencies ``bank-<BIN>``, one instance per configured bank): SOAP 1.2 through the local
interbank contract WSDL (mappings/bank/contracts/ngan-hang.wsdl), the same for every bank.

Each instance talks to ONE bank: its BIN is the agency id's suffix (``bank-970436`` -> 970436), its address
comes from that agency's configuration, and its answers must be signed by that bank's own certificate
(signer ``bank-<BIN>``): an answer signed by another bank, even a trusted one, is refused
(AgencySignatureInvalid, CERT_WRONG_AGENCY).

Calls: every operation runs through ``ctx.guard`` (deadline, rate limit, breaker; retries only for the
look-up and for the keyed side effects: freeze and release by (SoQuyetDinh, SoTaiKhoan), the payout by
MsgId). Requests are checked against ngan-hang.xsd before anything is sent (a request the contract refuses
is the caller's InvalidValue, not the bank's refusal). Each attempt signs a fresh envelope (new MessageId,
the CallContext's case, officer and purpose), and only the element the verifier returns as signed is
validated against ngan-hang.xsd and mapped; the verified answer is noted as the result's provenance
(``note_provenance``: envelope id, payload hash, signer ``bank-<BIN>``).

Logging: ONE message-log exchange per call, holding a request/response pair for EVERY attempt (the raw
bytes as sent and as received, the envelope header sent and the verified header received; for a failed
attempt the bytes ``SoapAgencyClient.call`` attached to the exception), and, when the call fails, the
closing refusal the recorder adds (so a retried call shows each attempt, and a call the breaker stopped
shows as refused with CIRCUIT_OPEN although nothing was sent).

Errors: a SOAP Receiver fault, HTTP 5xx or a connection failure -> AgencyUnavailable (504 and client
time-outs -> AgencyTimeout), both transient; a Sender fault (the bank refused our message: a signature it
does not accept, a request addressed to another bank...) -> AgencyRejected with the fault's code as rule;
an answer that fails the signature or trust checks (including another bank's signature) ->
AgencySignatureInvalid; a malformed or schema-breaking answer, or a payout report that does not account
for every payment -> AgencyInvalidResponse; a business refusal (TuChoi) -> AgencyRejected with its MaLoi
as rule. An owner with no account at the bank is an empty list, not an error.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import ClassVar, TypeVar

from lxml import etree

from adapters.envelope import EnvelopeFields
from adapters.refusal import Refusal
from adapters.soap_client import SoapExchange
from connectors.bank.intake import BankIntake
from connectors.soap_base import SoapConnector
from connectors.soap_errors import attempt_outcome, typed_soap_error
from hub.audit.log import Outcome
from hub.audit.recorder import Exchange
from hub.connector import ConnectorContext, OperationSpec, note_provenance
from hub.errors import (
    AgencyError,
    AgencyInvalidResponse,
    AgencySignatureInvalid,
    InvalidValue,
)
from hub.model.assets import BankAccount
from hub.model.decisions import AgencyReceipt, DecisionRef
from hub.model.measures import AccountFreeze
from hub.model.payments import Payment
from hub.resilience.context import CallContext
from mappings import bank as m

T = TypeVar("T")

HUB = "hub"
SERVICE = "bank"
ENVELOPE_TTL = dt.timedelta(minutes=5)
# Codes of the answer checks that say the answer cannot be trusted (signature, certificate, binding).
_AGENCY_ID = re.compile(r"bank-([0-9]{6})")


def bank_bin_of(agency_id: str) -> str:
    """The NAPAS BIN of a bank agency id (``bank-970436`` -> ``970436``)."""
    found = _AGENCY_ID.fullmatch(agency_id)
    if found is None:
        raise InvalidValue(f"a bank's agency id is bank-<6-digit BIN>, got {agency_id!r}", code="REQUEST_INVALID",
                           rule="bank_agency_id")
    return found.group(1)


def _wire_of(exc: BaseException) -> SoapExchange:
    """The bytes of a failed attempt, as ``SoapAgencyClient.call`` attached them to the exception."""
    soap = getattr(exc, "soap_exchange", None)
    return soap if isinstance(soap, SoapExchange) else SoapExchange()


def _typed(exc: BaseException, wire: SoapExchange, where: str) -> BaseException:
    return typed_soap_error(exc, agency="bank", where=where, status=wire.status,
                            request=wire.request_bytes, response=wire.response_bytes)

def _outcome(exc: BaseException) -> tuple[Outcome, str]:
    return attempt_outcome(exc)

class BankConnector(BankIntake, SoapConnector):
    """AccountSource, plus freezes, releases and bulk payouts at one bank (``bank-<BIN>``)."""

    kind: ClassVar[str] = "bank"
    operations: ClassVar[tuple[OperationSpec, ...]] = (
        OperationSpec("find_accounts", True, "TraCuuTaiKhoan: the accounts (closed ones too) of a person (12-digit "
                      "personal id) or an organisation (tax code) at this bank; an empty list when none. "
                      "A look-up: retried on transient failures."),
        OperationSpec("freeze", True, "PhongToaTaiKhoan: freeze an amount on an account by an enforcement decision "
                      "(or an urgent record). Idempotent at the bank by (SoQuyetDinh, SoTaiKhoan): sent with "
                      "idempotency key '<decision>:<account>' and retried on transient failures; the same freeze "
                      "again answers the first receipt and holds nothing more. The bank holds at most the "
                      "available balance (frozen_vnd < amount_vnd when it was short)."),
        OperationSpec("release", True, "GiaiToaTaiKhoan: release a freeze by a release decision. Idempotent at the "
                      "bank by (SoQuyetDinh, SoTaiKhoan): sent with idempotency key '<decision>:<account>' and "
                      "retried; the same release again answers the first release receipt."),
        OperationSpec("payout", True, "ChiTraHangLoat: a bulk payout (pain.001-like) from the office's account, "
                      "answered by a status report (pain.002-like) accounting for every payment. Idempotent at "
                      "the bank by MsgId: sent with idempotency key '<batch id>' and retried; the same batch "
                      "again answers the first report and pays nothing more."),
    )

    wsdl: ClassVar[Path] = m.WSDL
    xsd: ClassVar[Path] = m.XSD
    binding: ClassVar[str] = m.BINDING

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.bank_bin = bank_bin_of(ctx.agency_id)

    # --- capabilities ------------------------------------------------------------------------------------
    async def find_accounts(self, owner_id: str, call: CallContext) -> list[BankAccount]:
        """AccountSource: the accounts of a person (personal id) or an organisation (tax code) at this bank,
        closed ones too (extensions ``TrangThai`` = DONG); [] when none."""
        owner = owner_id.strip()
        request = m.accounts_request(owner)
        subject = owner if m.owner_kind(owner) == "SoDinhDanh" else call.subject_person_id
        return await self._call(m.FIND_ACCOUNTS, request, call, idempotent=True, subject=subject,
                                mapper=lambda body: m.accounts_from(body, owner, self.bank_bin))

    async def freeze(self, freeze: AccountFreeze, office: str, decided_on: date, call: CallContext) -> AccountFreeze:
        """Freeze ``freeze.amount_vnd`` on the account: APPLIED with ``frozen_vnd`` (what the bank held, less than
        the amount when the balance was short) and ``confirmed_at`` (the bank's execution time); LIFTED when the
        bank says this decision's freeze was released since. A refusal (TuChoi) is AgencyRejected with the
        bank's MaLoi as ``rule`` (KHONG_TIM_THAY_TAI_KHOAN, TAI_KHOAN_DA_DONG, TRUNG_SO_QUYET_DINH)."""
        return (await self._freeze(freeze, office, decided_on, call))[0]

    async def _freeze(self, freeze: AccountFreeze, office: str, decided_on: date,
                      call: CallContext) -> tuple[AccountFreeze, m.FreezeReceipt]:
        self._check_bank(freeze)
        request = m.freeze_request(freeze, office, decided_on, m.freeze_note(freeze))
        keyed = dataclasses.replace(call, idempotency_key=m.idempotency_key(freeze.decision_ref, freeze.account_number))
        return await self._call(m.FREEZE, request, keyed, idempotent=False, subject=call.subject_person_id,
                                mapper=lambda body: m.frozen_from(body, freeze))

    async def release(self, freeze: AccountFreeze, release_decision_ref: str, call: CallContext, *,
                      released_on: date | None = None, office: str | None = None) -> AccountFreeze:
        """Release the freeze made under ``freeze.decision_ref``: LIFTED, ``frozen_vnd`` what it held until
        released; or AgencyRejected (KHONG_TIM_THAY_PHONG_TOA, DA_GIAI_TOA_THEO_QUYET_DINH_KHAC...)."""
        return (await self._release(freeze, release_decision_ref, call, released_on, office))[0]

    async def _release(self, freeze: AccountFreeze, release_decision_ref: str, call: CallContext,
                       released_on: date | None, office: str | None) -> tuple[AccountFreeze, m.ReleaseReceipt]:
        self._check_bank(freeze)
        request = m.release_request(freeze, release_decision_ref, released_on, office)
        keyed = dataclasses.replace(call, idempotency_key=m.idempotency_key(freeze.decision_ref, freeze.account_number))
        return await self._call(m.RELEASE, request, keyed, idempotent=False, subject=call.subject_person_id,
                                mapper=lambda body: m.released_from(body, freeze, release_decision_ref))

    # AccountFreezer: the same acts, answered with the bank's receipt (its MaGiaoDich) for the commands.
    async def freeze_account(self, freeze: AccountFreeze, decision: DecisionRef, call: CallContext) -> AgencyReceipt:
        held, receipt = await self._freeze(freeze, decision.office.name, decision.issued_on, call)
        return AgencyReceipt(reference=receipt.transaction_id, at=receipt.executed_at, details={
            "status": held.status.value, "frozen_vnd": str(receipt.frozen_vnd), "state": receipt.state})

    async def release_account(self, freeze: AccountFreeze, release: DecisionRef, call: CallContext) -> AgencyReceipt:
        _, receipt = await self._release(freeze, release.ref, call, release.issued_on, release.office.name)
        return AgencyReceipt(reference=receipt.transaction_id, at=receipt.executed_at, details={
            "released_vnd": str(receipt.released_vnd), "freeze_reference": receipt.freeze_transaction_id,
            "state": receipt.state})

    async def payout(self, batch_id: str, debtor_account: str, office_name: str, payments: list[Payment],
                     call: CallContext, *, created_at: dt.datetime | None = None,
                     execution_date: date | None = None) -> m.PayoutReport:
        """Pay ``payments`` (direction PAYOUT, at most 5000) from the office's account ``debtor_account`` at this
        bank, as one message with MsgId ``batch_id``. The report names every payment, settled or rejected
        with its ISO reason (AC01, AC04, BE01...); a report that does not is AgencyInvalidResponse. The
        message is a pure function of the arguments (CreDtTm defaults to the latest ``Payment.at``), so the
        same batch asked again is the same message and gets the first report back."""
        batch: Sequence[Payment] = list(payments)
        request = m.payout_request(batch_id, bank_bin=self.bank_bin, debtor_account=debtor_account,
                                   office_name=office_name, payments=batch, created_at=created_at,
                                   execution_date=execution_date)
        keyed = dataclasses.replace(call, idempotency_key=batch_id)
        return await self._call(m.PAYOUT, request, keyed, idempotent=False, subject=call.subject_person_id,
                                mapper=lambda body: m.report_from(body, batch_id, batch, self.bank_bin))

    # PayoutBank: the same payout, answered in canonical terms for hub/payouts.
    payout_batch_limit: ClassVar[int] = m.MAX_TRANSFERS

    async def pay_batch(self, batch_id: str, debtor_account: str, office_name: str, payments: list[Payment],
                        call: CallContext) -> tuple[AgencyReceipt, list[Payment]]:
        report = await self.payout(batch_id, debtor_account, office_name, payments, call)
        reported = []
        for payment in report.apply(payments):
            outcome = report.outcomes[payment.id]
            extra = ({"bank_reference": outcome.bank_reference} if outcome.bank_reference else {}) | (
                {"reason_code": outcome.reason_code} if outcome.reason_code else {})
            reported.append(payment.model_copy(update={"extensions": {**payment.extensions, **extra}}))
        receipt = AgencyReceipt(reference=report.report_id, at=report.reported_at, details={
            "group_status": report.group_status.value, "settled": str(len(report.settled)),
            "rejected": str(len(report.rejected)), "group_reason": report.group_reason_code or ""})
        return receipt, reported

    def _check_bank(self, freeze: AccountFreeze) -> None:
        if freeze.bank_bin != self.bank_bin:
            raise InvalidValue(f"a freeze at bank {freeze.bank_bin} sent to bank {self.bank_bin}",
                               code="REQUEST_INVALID", rule="bank_bin")

    # --- one call, its attempts and its log ----------------------------------------------------------
    async def _call(self, operation: str, request: etree._Element, call: CallContext, *, idempotent: bool,
                    subject: str | None, mapper: Callable[[etree._Element], T]) -> T:
        await self.start()
        assert self._schema is not None
        try:  # a request the contract refuses is the caller's error: nothing is sent
            self._schema.validate(request)
        except Refusal as exc:
            raise InvalidValue(f"{self.agency_id} {operation}: the request breaks the contract: {exc.detail}",
                               code="REQUEST_INVALID", rule="bank_request") from None
        async with self.ctx.recorder.exchange_async("outbound", self.agency_id, operation, service=SERVICE,
                                                    subject_person_id=subject) as ex:

            async def attempt(timeout_s: float) -> T:
                return await self._attempt(ex, operation, request, call, mapper)

            return await self.ctx.guard.call(attempt, call, idempotent=idempotent)

    def _header(self, operation: str, call: CallContext) -> EnvelopeFields:
        now = dt.datetime.now(dt.UTC)
        return EnvelopeFields(message_id=str(uuid.uuid4()), from_agency=HUB, to_agency=self.agency_id,
                              service=SERVICE, operation=operation, created=now, expires=now + ENVELOPE_TTL,
                              case_ref=call.case_ref, officer=call.officer, purpose=call.purpose)

    async def _attempt(self, ex: Exchange, operation: str, request: etree._Element, call: CallContext,
                       mapper: Callable[[etree._Element], T]) -> T:
        assert self._client is not None and self._schema is not None
        header = self._header(operation, call)
        try:
            soap = await self._client.call(operation, header, copy.deepcopy(request))
        except BaseException as exc:
            wire = _wire_of(exc)
            typed = _typed(exc, wire, f"{self.agency_id} {operation}")
            ex.request(wire.request_bytes, header)
            outcome, code = _outcome(typed)
            ex.response(wire.response_bytes, None, outcome=outcome)
            ex.records[-1].error_code = code
            if typed is exc:
                raise
            raise typed from exc
        verified = soap.verified
        ex.request(soap.request_bytes, header)
        if verified is None:  # pragma: no cover - the transport raises instead of returning unverified
            raise AgencySignatureInvalid(f"{self.agency_id} {operation}: the answer was not verified",
                                         rule="unverified")
        try:
            self._schema.validate(verified.body)
            result = mapper(verified.body)
        except Refusal as exc:
            error = exc if isinstance(exc, AgencyError) else AgencyInvalidResponse(
                f"{self.agency_id} {operation}: the answer is invalid: {exc.detail}", rule=exc.rule or exc.code.lower())
            outcome, code = _outcome(error)
            ex.response(soap.response_bytes, verified.header, outcome=outcome)
            ex.records[-1].error_code = code
            if error is exc:
                raise
            raise error from exc
        ex.response(soap.response_bytes, verified.header, outcome="ok")
        note_provenance(verified.header.message_id, verified.payload_hash, verified.signer)
        return result
