"""The bulk payout of ngan-hang.xsd: a pain.001-like initiation read into plain records, and the
pain.002-like status report written back, one TxInfAndSts per transfer in the order of the message.

Deciding each transfer (does the account exist, is it open, is the name the holder's) is the bank's
business and lives in the mock; this module only reads and writes the ISO-shaped documents and applies
the message-level and block-level rules that need no account data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from sandbox_mocks.bank.wire import element, iso_time, q, sub, text_of

ORIGINAL_MESSAGE_NAME = "pain.001.001.09"
SETTLED, REJECTED = "ACSC", "RJCT"

# ISO 20022 external status reason codes the banks use, with the text they add (AddtlInf, at most 105).
REASONS = {
    "AC01": "Tài khoản thụ hưởng không tồn tại",
    "AC02": "Tài khoản trích nợ không phải tài khoản của cơ quan thi hành án tại ngân hàng",
    "AC04": "Tài khoản thụ hưởng đã đóng",
    "AM10": "Tổng số tiền (CtrlSum) không khớp với các giao dịch",
    "AM18": "Số giao dịch (NbOfTxs) không khớp với các giao dịch",
    "BE01": "Tên người thụ hưởng không khớp với tên chủ tài khoản",
    "DU01": "Mã thông điệp (MsgId) đã được dùng cho một lệnh chi khác",
    "RC01": "Ngân hàng trích nợ (DbtrAgt) không phải ngân hàng này",
}


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount: int
    agent_bin: str
    creditor_name: str
    creditor_account: str


@dataclass(frozen=True)
class Block:
    """One PmtInf: a debit of the office's account and its transfers."""

    pmt_inf_id: str
    declared_count: int | None
    declared_sum: int | None
    debtor_account: str
    debtor_bin: str
    transfers: tuple[Transfer, ...]

    @property
    def total(self) -> int:
        return sum(t.amount for t in self.transfers)

    def problem(self, *, bank_bin: str, office_account: str) -> str | None:
        if self.debtor_bin != bank_bin:
            return "RC01"
        if self.debtor_account != office_account:
            return "AC02"
        if self.declared_count is not None and self.declared_count != len(self.transfers):
            return "AM18"
        if self.declared_sum is not None and self.declared_sum != self.total:
            return "AM10"
        return None


@dataclass(frozen=True)
class Batch:
    msg_id: str
    declared_count: int
    declared_sum: int
    blocks: tuple[Block, ...]

    @property
    def transfers(self) -> list[Transfer]:
        return [t for b in self.blocks for t in b.transfers]

    def problem(self) -> str | None:
        transfers = self.transfers
        if self.declared_count != len(transfers):
            return "AM18"
        if self.declared_sum != sum(t.amount for t in transfers):
            return "AM10"
        return None


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str | None = None
    reference: str | None = None  # the bank's transaction id of a settled transfer


def _optional_int(text: str) -> int | None:
    return int(text) if text else None


def read_batch(request: etree._Element) -> Batch:
    """``request`` is a ChiTraHangLoat the schema has accepted."""
    initiation = request.find(q("CstmrCdtTrfInitn"))
    if initiation is None:
        raise ValueError("ChiTraHangLoat without CstmrCdtTrfInitn")
    blocks = []
    for pmt in initiation.findall(q("PmtInf")):
        transfers = tuple(
            Transfer(end_to_end_id=text_of(tx, "PmtId/EndToEndId"), amount=int(text_of(tx, "Amt/InstdAmt")),
                     agent_bin=text_of(tx, "CdtrAgt/FinInstnId/ClrSysMmbId/MmbId"),
                     creditor_name=text_of(tx, "Cdtr/Nm"), creditor_account=text_of(tx, "CdtrAcct/Id/Othr/Id"))
            for tx in pmt.findall(q("CdtTrfTxInf")))
        blocks.append(Block(pmt_inf_id=text_of(pmt, "PmtInfId"), declared_count=_optional_int(text_of(pmt, "NbOfTxs")),
                            declared_sum=_optional_int(text_of(pmt, "CtrlSum")),
                            debtor_account=text_of(pmt, "DbtrAcct/Id/Othr/Id"),
                            debtor_bin=text_of(pmt, "DbtrAgt/FinInstnId/ClrSysMmbId/MmbId"), transfers=transfers))
    return Batch(msg_id=text_of(initiation, "GrpHdr/MsgId"), declared_count=int(text_of(initiation, "GrpHdr/NbOfTxs")),
                 declared_sum=int(text_of(initiation, "GrpHdr/CtrlSum")), blocks=tuple(blocks))


def overall(outcomes: Sequence[Outcome]) -> str:
    settled = sum(o.status == SETTLED for o in outcomes)
    if settled == len(outcomes):
        return "ACCP"
    return "RJCT" if settled == 0 else "PART"


def _reason(parent: etree._Element, code: str) -> None:
    info = sub(parent, "StsRsnInf")
    sub(sub(info, "Rsn"), "Cd", code)
    sub(info, "AddtlInf", REASONS[code])


def _agent(parent: etree._Element, local: str, bank_bin: str) -> None:
    sub(sub(sub(sub(parent, local), "FinInstnId"), "ClrSysMmbId"), "MmbId", bank_bin)


def status_report(batch: Batch, outcomes: Sequence[Sequence[Outcome]], *, report_id: str, bank_bin: str,
                  at: dt.datetime, group_reason: str | None = None,
                  block_reasons: Sequence[str | None] | None = None) -> etree._Element:
    """ChiTraHangLoatPhanHoi for ``batch``: ``outcomes[i][j]`` is the fate of transfer j of block i."""
    answer = element("ChiTraHangLoatPhanHoi")
    report = sub(answer, "CstmrPmtStsRpt")
    header = sub(report, "GrpHdr")
    sub(header, "MsgId", report_id)
    sub(header, "CreDtTm", iso_time(at))
    _agent(header, "DbtrAgt", bank_bin)

    every = [o for block in outcomes for o in block]
    original = sub(report, "OrgnlGrpInfAndSts")
    sub(original, "OrgnlMsgId", batch.msg_id)
    sub(original, "OrgnlMsgNmId", ORIGINAL_MESSAGE_NAME)
    sub(original, "OrgnlNbOfTxs", batch.declared_count)
    sub(original, "OrgnlCtrlSum", batch.declared_sum)
    sub(original, "GrpSts", overall(every))
    if group_reason:
        _reason(original, group_reason)
    transfers = batch.transfers
    for status in (SETTLED, REJECTED):
        chosen = [t for t, o in zip(transfers, every, strict=True) if o.status == status]
        if chosen:
            per = sub(original, "NbOfTxsPerSts")
            sub(per, "DtldNbOfTxs", len(chosen))
            sub(per, "DtldSts", status)
            sub(per, "DtldCtrlSum", sum(t.amount for t in chosen))

    reasons = block_reasons or [None] * len(batch.blocks)
    for block, block_outcomes, block_reason in zip(batch.blocks, outcomes, reasons, strict=True):
        info = sub(report, "OrgnlPmtInfAndSts")
        sub(info, "OrgnlPmtInfId", block.pmt_inf_id)
        sub(info, "OrgnlNbOfTxs", block.declared_count if block.declared_count is not None else len(block.transfers))
        sub(info, "OrgnlCtrlSum", block.declared_sum if block.declared_sum is not None else block.total)
        sub(info, "PmtInfSts", overall(block_outcomes))
        if block_reason:
            _reason(info, block_reason)
        for transfer, outcome in zip(block.transfers, block_outcomes, strict=True):
            tx = sub(info, "TxInfAndSts")
            sub(tx, "OrgnlEndToEndId", transfer.end_to_end_id)
            sub(tx, "TxSts", outcome.status)
            if outcome.reason:
                _reason(tx, outcome.reason)
            if outcome.reference:
                sub(tx, "AcctSvcrRef", outcome.reference)
    return answer
