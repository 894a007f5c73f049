"""The bulk payout (chi trả hàng loạt): canonical payments -> a pain.001-like ChiTraHangLoat, and the
pain.002-like status report -> ``PayoutReport``. Pure functions.

The message (one ``PmtInf`` debiting the enforcement office's account at this bank):

- ``GrpHdr/MsgId`` = the batch id, the bank's idempotency key: the same MsgId again answers the first
  report and pays nothing more (another content under the same MsgId is refused whole with DU01);
- ``CreDtTm`` = the batch's creation time; by default the latest ``Payment.at`` of the batch, so that the
  message is a pure function of its payments and the same batch sent again, even from another worker
  after a crash, is the same message (a fresh clock reading would make it "other content");
- each ``Payment(direction=PAYOUT)`` is one ``CdtTrfTxInf``: ``EndToEndId`` = the payment id as 32 hex
  digits, ``InstdAmt`` whole VND (Ccy VND), ``CdtrAgt`` the creditor's bank BIN, ``Cdtr/Nm`` the creditor's
  name as banks write it (upper case, no diacritics: the bank compares it with the holder's name after the
  same folding), ``CdtrAcct`` the account, ``RmtInf/Ustrd`` the payment reference.

The report must account for every payment sent, exactly once; anything else is an invalid answer. A
rejected transfer carries its ISO 20022 reason (AC01 no such account, AC04 closed, BE01 name not the
holder's, and AC02 / RC01 / AM10 / AM18 / DU01 when a whole block or message is rejected).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Final
from uuid import UUID

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from hub.errors import InvalidValue
from hub.model.payments import Payment, PaymentDirection, PaymentStatus
from mappings.bank.accounts import (
    VN_TIME,
    bank_name,
    check_account_number,
    check_bin,
    check_text,
    element,
    expect_root,
    find,
    format_iso_time,
    invalid,
    parse_amount,
    parse_count,
    parse_iso_time,
    q,
    required_text,
    sub,
    text_of,
)

PAYOUT: Final = "ChiTraHangLoat"
MESSAGE_NAME: Final = "pain.001.001.09"  # OrgnlMsgNmId of the report
MAX_TRANSFERS: Final = 5000  # per PmtInf (the contract), and per message (the hub's XML limits)
SETTLED_CODE, REJECTED_CODE = "ACSC", "RJCT"
REASON_CODES: Final = ("AC01", "AC02", "AC04", "AM10", "AM18", "BE01", "DU01", "RC01")
_MAX35, _MAX140 = 35, 140


class GroupStatus(StrEnum):
    """GrpSts / PmtInfSts of the report."""

    ACCEPTED = "ACCP"  # every transfer settled
    PARTIAL = "PART"  # some rejected
    REJECTED = "RJCT"  # every transfer rejected


class TransferOutcome(BaseModel):
    """What became of one payment of the batch (one TxInfAndSts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payment_id: UUID
    status: PaymentStatus  # SETTLED (ACSC) or REJECTED (RJCT)
    reason_code: str | None = Field(None, description="ISO 20022 status reason code of a rejection (AC04...).")
    reason_text: str | None = Field(None, description="The bank's text for it (AddtlInf).")
    bank_reference: str | None = Field(None, description="AcctSvcrRef: the bank's transaction id of a settled "
                                                         "transfer.")

    @property
    def reject_reason(self) -> str | None:
        """``Payment.reject_reason``: "<code>: <text>"."""
        if self.reason_code is None:
            return None
        return f"{self.reason_code}: {self.reason_text}" if self.reason_text else self.reason_code


class PayoutReport(BaseModel):
    """The bank's status report of one payout message: the group's status and, per payment id, settled or
    rejected with its reason. ``outcomes`` is in the order of the message and has every payment sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_id: str = Field(description="The message's MsgId, as sent (OrgnlMsgId).")
    bank_bin: str = Field(description="The debtor bank that reported (GrpHdr/DbtrAgt).")
    report_id: str = Field(description="The report's own MsgId at the bank.")
    reported_at: dt.datetime = Field(description="The report's CreDtTm, UTC.")
    group_status: GroupStatus
    group_reason_code: str | None = None
    group_reason_text: str | None = None
    block_status: GroupStatus
    block_reason_code: str | None = None
    block_reason_text: str | None = None
    outcomes: dict[UUID, TransferOutcome]

    @property
    def settled(self) -> list[TransferOutcome]:
        return [o for o in self.outcomes.values() if o.status is PaymentStatus.SETTLED]

    @property
    def rejected(self) -> list[TransferOutcome]:
        return [o for o in self.outcomes.values() if o.status is PaymentStatus.REJECTED]

    def apply(self, payments: Sequence[Payment]) -> list[Payment]:
        """``payments`` with the status and reject reason the bank reported for each."""
        out = []
        for payment in payments:
            outcome = self.outcomes.get(payment.id)
            if outcome is None:
                raise KeyError(f"payment {payment.id} is not in this report")
            out.append(payment.model_copy(update={"status": outcome.status, "reject_reason": outcome.reject_reason}))
        return out


# --- canonical -> wire -------------------------------------------------------------------------------
def end_to_end_id(payment: Payment) -> str:
    return payment.id.hex


def block_id(batch_id: str) -> str:
    """PmtInfId of the message's one payment information block: the batch id itself (unique in the message)."""
    return batch_id


def check_batch_id(batch_id: str) -> str:
    value = batch_id.strip()
    if not 1 <= len(value) <= _MAX35 or value != batch_id:
        raise InvalidValue("a payout batch id is 1 to 35 characters without surrounding spaces",
                           code="REQUEST_INVALID", rule="batch_id")
    return value


def created_at_of(payments: Sequence[Payment]) -> dt.datetime:
    """The default CreDtTm: the latest ``Payment.at`` of the batch (a pure function of the payments)."""
    return max(p.at for p in payments)


def payout_request(batch_id: str, *, bank_bin: str, debtor_account: str, office_name: str,
                   payments: Sequence[Payment], created_at: dt.datetime | None = None,
                   execution_date: dt.date | None = None) -> etree._Element:
    """ChiTraHangLoat: one block debiting ``debtor_account`` (the office's account at ``bank_bin``) for every
    payment, in the order given. Refused (InvalidValue) before anything is sent when a payment is not a
    payout, is twice in the batch, or does not fit the contract (reference over 140 characters...)."""
    msg_id = check_batch_id(batch_id)
    if not payments:
        raise InvalidValue("a payout needs at least one payment", code="REQUEST_INVALID", rule="payout_empty")
    if len(payments) > MAX_TRANSFERS:
        raise InvalidValue(f"a payout message carries at most {MAX_TRANSFERS} transfers: split the batch",
                           code="REQUEST_INVALID", rule="payout_size")
    if len({p.id for p in payments}) != len(payments):
        raise InvalidValue("a payment is twice in the batch", code="REQUEST_INVALID", rule="payment_duplicate")
    for payment in payments:
        if payment.direction is not PaymentDirection.PAYOUT:
            raise InvalidValue("only payouts (direction PAYOUT) go into a payout batch", code="REQUEST_INVALID",
                               rule="payment_direction")
    created = created_at or created_at_of(payments)
    execution = execution_date or created.astimezone(VN_TIME).date()
    office = check_text(office_name, _MAX140, "office_name")
    debtor_bin = check_bin(bank_bin)
    total = str(sum(p.amount_vnd for p in payments))

    root = element(PAYOUT)
    doc = sub(root, "CstmrCdtTrfInitn")
    header = sub(doc, "GrpHdr")
    sub(header, "MsgId", msg_id)
    sub(header, "CreDtTm", format_iso_time(created))
    sub(header, "NbOfTxs", str(len(payments)))
    sub(header, "CtrlSum", total)
    sub(header, "InitgPty/Nm", office)
    block = sub(doc, "PmtInf")
    sub(block, "PmtInfId", block_id(msg_id))
    sub(block, "PmtMtd", "TRF")
    sub(block, "NbOfTxs", str(len(payments)))
    sub(block, "CtrlSum", total)
    sub(block, "ReqdExctnDt/Dt", execution.isoformat())
    sub(block, "Dbtr/Nm", office)
    sub(block, "DbtrAcct/Id/Othr/Id", check_account_number(debtor_account, "debtor_account"))
    sub(block, "DbtrAgt/FinInstnId/ClrSysMmbId/MmbId", debtor_bin)
    for payment in payments:
        tx = sub(block, "CdtTrfTxInf")
        sub(tx, "PmtId/EndToEndId", end_to_end_id(payment))
        sub(tx, "Amt/InstdAmt", str(payment.amount_vnd)).set("Ccy", "VND")
        sub(tx, "CdtrAgt/FinInstnId/ClrSysMmbId/MmbId", check_bin(payment.bank_bin, "creditor_bank_bin"))
        sub(tx, "Cdtr/Nm", check_text(bank_name(payment.counterparty_name), _MAX140, "creditor_name"))
        sub(tx, "CdtrAcct/Id/Othr/Id", check_account_number(payment.account_number, "creditor_account"))
        sub(tx, "RmtInf/Ustrd", check_text(payment.reference, _MAX140, "payment_reference"))
    return root


# --- wire -> canonical -------------------------------------------------------------------------------
def _status(text: str, where: str) -> GroupStatus:
    try:
        return GroupStatus(text)
    except ValueError:
        raise invalid(f"{where} {text!r} is not in the contract's code list", "group_status") from None


def _reason(parent: etree._Element) -> tuple[str | None, str | None]:
    info = find(parent, "StsRsnInf")
    if info is None:
        return None, None
    code = required_text(info, "Rsn/Cd")
    if code not in REASON_CODES:
        raise invalid(f"reason code {code!r} is not in the contract's code list", "reason_code")
    return code, text_of(info, "AddtlInf", required=False)


def _overall(outcomes: Sequence[TransferOutcome]) -> GroupStatus:
    settled = sum(o.status is PaymentStatus.SETTLED for o in outcomes)
    if settled == len(outcomes):
        return GroupStatus.ACCEPTED
    return GroupStatus.REJECTED if settled == 0 else GroupStatus.PARTIAL


def _transfer(tx: etree._Element, ids: dict[str, UUID]) -> TransferOutcome:
    e2e = required_text(tx, "OrgnlEndToEndId")
    payment_id = ids.get(e2e)
    if payment_id is None:
        raise invalid("the report names a transfer that was not sent", "report_unknown_transfer")
    status = required_text(tx, "TxSts")
    code, text = _reason(tx)
    reference = text_of(tx, "AcctSvcrRef", required=False)
    if status == SETTLED_CODE:
        if code is not None:
            raise invalid("a settled transfer with a rejection reason", "settled_with_reason")
        return TransferOutcome(payment_id=payment_id, status=PaymentStatus.SETTLED, bank_reference=reference)
    if status == REJECTED_CODE:
        if code is None:
            raise invalid("a rejected transfer without a reason", "rejected_without_reason")
        if reference is not None:
            raise invalid("a rejected transfer with the bank's transaction id", "rejected_with_reference")
        return TransferOutcome(payment_id=payment_id, status=PaymentStatus.REJECTED, reason_code=code,
                               reason_text=text)
    raise invalid(f"TxSts {status!r} is not in the contract's code list", "transfer_status")


def report_from(answer: etree._Element, batch_id: str, payments: Sequence[Payment], bank_bin: str) -> PayoutReport:
    """ChiTraHangLoatPhanHoi -> ``PayoutReport`` of the batch sent as ``batch_id`` with ``payments``. The
    report must name this message, this bank, and every payment exactly once with totals that add up."""
    expect_root(answer, f"{PAYOUT}PhanHoi")
    report = find(answer, "CstmrPmtStsRpt")
    if report is None:
        raise invalid("ChiTraHangLoatPhanHoi without CstmrPmtStsRpt", "missing_CstmrPmtStsRpt")
    if required_text(report, "GrpHdr/DbtrAgt/FinInstnId/ClrSysMmbId/MmbId") != bank_bin:
        raise invalid("the report comes from another bank than the one paid through", "bank_echo")
    original = find(report, "OrgnlGrpInfAndSts")
    if original is None:
        raise invalid("the report has no OrgnlGrpInfAndSts", "missing_OrgnlGrpInfAndSts")
    if required_text(original, "OrgnlMsgId") != batch_id:
        raise invalid("the report is about another message than the one sent", "batch_echo")
    if required_text(original, "OrgnlMsgNmId") != MESSAGE_NAME:
        raise invalid("the report is about another kind of message", "message_name")
    total = sum(p.amount_vnd for p in payments)
    if parse_count(required_text(original, "OrgnlNbOfTxs"), "OrgnlNbOfTxs") != len(payments):
        raise invalid("the report counts another number of transfers than were sent", "count_echo")
    if parse_amount(required_text(original, "OrgnlCtrlSum"), "OrgnlCtrlSum") != total:
        raise invalid("the report states another control sum than was sent", "sum_echo")

    blocks = report.findall(q("OrgnlPmtInfAndSts"))
    if len(blocks) != 1:
        raise invalid(f"one payment block was sent, the report has {len(blocks)}", "block_count")
    block = blocks[0]
    if required_text(block, "OrgnlPmtInfId") != block_id(batch_id):
        raise invalid("the report names another payment block than the one sent", "block_echo")
    if parse_count(required_text(block, "OrgnlNbOfTxs"), "OrgnlNbOfTxs") != len(payments):
        raise invalid("the block's count is not the one sent", "block_count_echo")
    if parse_amount(required_text(block, "OrgnlCtrlSum"), "OrgnlCtrlSum") != total:
        raise invalid("the block's control sum is not the one sent", "block_sum_echo")

    ids = {end_to_end_id(p): p.id for p in payments}
    amounts = {p.id: p.amount_vnd for p in payments}
    outcomes: dict[UUID, TransferOutcome] = {}
    for tx in block.findall(q("TxInfAndSts")):
        outcome = _transfer(tx, ids)
        if outcome.payment_id in outcomes:
            raise invalid("the report names a transfer twice", "report_duplicate_transfer")
        outcomes[outcome.payment_id] = outcome
    if len(outcomes) != len(payments):
        raise invalid(f"the report accounts for {len(outcomes)} of the {len(payments)} transfers sent",
                      "report_incomplete")
    ordered = {p.id: outcomes[p.id] for p in payments}

    group_status = _status(required_text(original, "GrpSts"), "GrpSts")
    block_status = _status(required_text(block, "PmtInfSts"), "PmtInfSts")
    if group_status is not _overall(list(ordered.values())) or block_status is not group_status:
        raise invalid("the group status does not follow from the transfers' statuses", "group_status_consistency")
    group_code, group_text = _reason(original)
    block_code, block_text = _reason(block)
    for code in (group_code, block_code):
        if code is not None and any(o.reason_code != code for o in ordered.values()):
            raise invalid("a group or block rejected for a reason its transfers do not carry", "block_reason")
    per_status: dict[str, tuple[int, int]] = {}
    for detail in original.findall(q("NbOfTxsPerSts")):
        status = required_text(detail, "DtldSts")
        if status in per_status:
            raise invalid(f"NbOfTxsPerSts lists {status} twice", "per_status_duplicate")
        per_status[status] = (parse_count(required_text(detail, "DtldNbOfTxs"), "DtldNbOfTxs"),
                              parse_amount(required_text(detail, "DtldCtrlSum"), "DtldCtrlSum"))
    for code, status in ((SETTLED_CODE, PaymentStatus.SETTLED), (REJECTED_CODE, PaymentStatus.REJECTED)):
        chosen = [pid for pid, o in ordered.items() if o.status is status]
        stated = per_status.get(code)
        if stated is not None and stated != (len(chosen), sum(amounts[pid] for pid in chosen)):
            raise invalid(f"NbOfTxsPerSts {code} does not add up to the transfers reported", "per_status_sum")

    return PayoutReport(
        batch_id=batch_id, bank_bin=bank_bin, report_id=required_text(report, "GrpHdr/MsgId"),
        reported_at=parse_iso_time(required_text(report, "GrpHdr/CreDtTm"), "CreDtTm"),
        group_status=group_status, group_reason_code=group_code, group_reason_text=group_text,
        block_status=block_status, block_reason_code=block_code, block_reason_text=block_text, outcomes=ordered)


# --- where each element of the contract lands (checked against the XSD by the tests) ----------------
_AGENT = "FinInstnId/ClrSysMmbId/MmbId"
_INITIATION: Final[dict[str, str]] = {
    "GrpHdr/MsgId": "request:batch_id (argument; the bank's idempotency key)",
    "GrpHdr/CreDtTm": "request:created_at (argument; default the latest Payment.at of the batch)",
    "GrpHdr/NbOfTxs": "request:the number of Payment sent",
    "GrpHdr/CtrlSum": "request:the sum of Payment.amount_vnd",
    "GrpHdr/InitgPty/Nm": "request:office_name (argument)",
    "PmtInf/PmtInfId": "request:batch_id (argument; one block per message)",
    "PmtInf/PmtMtd": "request:TRF (constant)",
    "PmtInf/NbOfTxs": "request:the number of Payment sent",
    "PmtInf/CtrlSum": "request:the sum of Payment.amount_vnd",
    "PmtInf/ReqdExctnDt/Dt": "request:execution_date (argument; default the date of created_at in Viet Nam)",
    "PmtInf/Dbtr/Nm": "request:office_name (argument)",
    "PmtInf/DbtrAcct/Id/Othr/Id": "request:debtor_account (argument: the office's account at this bank)",
    f"PmtInf/DbtrAgt/{_AGENT}": "request:the connector's BIN (the bank paid through)",
    "PmtInf/CdtTrfTxInf/PmtId/InstrId": "request:not sent (EndToEndId, the payment id, identifies each transfer)",
    "PmtInf/CdtTrfTxInf/PmtId/EndToEndId": "request:Payment.id (32 hex digits)",
    "PmtInf/CdtTrfTxInf/Amt/InstdAmt": "request:Payment.amount_vnd",
    "PmtInf/CdtTrfTxInf/Amt/InstdAmt/@Ccy": "request:VND (constant; Payment amounts are VND)",
    f"PmtInf/CdtTrfTxInf/CdtrAgt/{_AGENT}": "request:Payment.bank_bin",
    "PmtInf/CdtTrfTxInf/Cdtr/Nm": "request:Payment.counterparty_name (upper case, no diacritics)",
    "PmtInf/CdtTrfTxInf/CdtrAcct/Id/Othr/Id": "request:Payment.account_number",
    "PmtInf/CdtTrfTxInf/RmtInf/Ustrd": "request:Payment.reference",
}

_REPORT: Final[dict[str, str]] = {
    "GrpHdr/MsgId": "report:PayoutReport.report_id",
    "GrpHdr/CreDtTm": "report:PayoutReport.reported_at",
    f"GrpHdr/DbtrAgt/{_AGENT}": "report:PayoutReport.bank_bin (checked to be the bank paid through)",
    "OrgnlGrpInfAndSts/OrgnlMsgId": "report:PayoutReport.batch_id (checked to equal the MsgId sent)",
    "OrgnlGrpInfAndSts/OrgnlMsgNmId": f"check:equals {MESSAGE_NAME}",
    "OrgnlGrpInfAndSts/OrgnlNbOfTxs": "check:equals the number of payments sent",
    "OrgnlGrpInfAndSts/OrgnlCtrlSum": "check:equals the sum sent",
    "OrgnlGrpInfAndSts/GrpSts": "report:PayoutReport.group_status (checked against the transfers' statuses)",
    "OrgnlGrpInfAndSts/StsRsnInf/Rsn/Cd": "report:PayoutReport.group_reason_code",
    "OrgnlGrpInfAndSts/StsRsnInf/AddtlInf": "report:PayoutReport.group_reason_text",
    "OrgnlGrpInfAndSts/NbOfTxsPerSts/DtldNbOfTxs": "check:equals the count of transfers in that status",
    "OrgnlGrpInfAndSts/NbOfTxsPerSts/DtldSts": "check:ACSC or RJCT, each at most once",
    "OrgnlGrpInfAndSts/NbOfTxsPerSts/DtldCtrlSum": "check:equals the sum of the transfers in that status",
    "OrgnlPmtInfAndSts/OrgnlPmtInfId": "check:equals the PmtInfId sent",
    "OrgnlPmtInfAndSts/OrgnlNbOfTxs": "check:equals the number of payments sent",
    "OrgnlPmtInfAndSts/OrgnlCtrlSum": "check:equals the sum sent",
    "OrgnlPmtInfAndSts/PmtInfSts": "report:PayoutReport.block_status",
    "OrgnlPmtInfAndSts/StsRsnInf/Rsn/Cd": "report:PayoutReport.block_reason_code",
    "OrgnlPmtInfAndSts/StsRsnInf/AddtlInf": "report:PayoutReport.block_reason_text",
    "OrgnlPmtInfAndSts/TxInfAndSts/OrgnlEndToEndId": "report:TransferOutcome.payment_id (an EndToEndId sent)",
    "OrgnlPmtInfAndSts/TxInfAndSts/TxSts": "report:TransferOutcome.status (ACSC -> SETTLED, RJCT -> REJECTED; "
                                           "Payment.status through PayoutReport.apply)",
    "OrgnlPmtInfAndSts/TxInfAndSts/StsRsnInf/Rsn/Cd": "report:TransferOutcome.reason_code (Payment.reject_reason)",
    "OrgnlPmtInfAndSts/TxInfAndSts/StsRsnInf/AddtlInf": "report:TransferOutcome.reason_text "
                                                        "(Payment.reject_reason)",
    "OrgnlPmtInfAndSts/TxInfAndSts/AcctSvcrRef": "report:TransferOutcome.bank_reference",
}

PAYOUT_ELEMENTS: Final[dict[str, str]] = {
    **{f"{PAYOUT}/CstmrCdtTrfInitn/{k}": v for k, v in _INITIATION.items()},
    **{f"{PAYOUT}PhanHoi/CstmrPmtStsRpt/{k}": v for k, v in _REPORT.items()},
}
