"""A sandbox bank (one instance per NAPAS BIN): SOAP 1.2 from mappings/bank/contracts/ngan-hang.wsdl.

Every bank serves the same interbank contract under its own prefix (/banks/<BIN>), signs with its own key
(``<key_dir>/bank-<BIN>.key``) and answers from the seeded world's accounts at its BIN, in the banks'
formats (holder names upper case without diacritics, whole VND, dd/MM/yyyy dates): nothing here knows
the hub's canonical model.

State lives in memory per instance: ledger balances (the world's, plus payouts credited to accounts at
this bank), freezes keyed by (SoQuyetDinh, SoTaiKhoan), and the status report of each payout keyed by
MsgId. Every write is idempotent: the same freeze, release or payout again answers the first receipt or
report and applies nothing more. Effects are recorded as ``freeze_applied``, ``freeze_released`` and
``payout_batch`` (GET /banks/<BIN>/_admin/recorder).

After each new freeze the bank pushes a signed freeze confirmation (XacNhanPhongToa) to ``events_url``
through the framework's CallbackSender (retries, duplicate and out-of-order faults).

Handlers run on the event loop and do not await between reading and changing the state, so two concurrent
calls cannot interleave inside one freeze or one payout.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from adapters.envelope import EnvelopeFields, VerifiedEnvelope, canonical_hash
from adapters.refusal import Refusal
from sandbox_mocks.bank import payout
from sandbox_mocks.bank.wire import (
    DEFAULT_OFFICE_ACCOUNT,
    EVENT_SERVICE,
    NS,
    WSDL_FILE,
    XSD_FILE,
    checked,
    element,
    name_key,
    sub,
    text_of,
    transaction_id,
    vn_time,
    xs_bool_text,
    xs_boolean,
)
from sandbox_mocks.framework.agency import finish_bytes
from sandbox_mocks.framework.callbacks import Callback, CallbackSender, RetryPolicy
from sandbox_mocks.framework.faults import FaultInjector
from sandbox_mocks.framework.soap_agency import SoapMockAgency
from sandbox_mocks.seed.world import Account, World

FULL, PARTIAL, RELEASED = "PHONG_TOA_DU", "PHONG_TOA_MOT_PHAN", "DA_GIAI_TOA"
OPEN, CLOSED = "HOAT_DONG", "DONG"
# An urgent freeze by record must be followed by the decision within 24 hours (DOMAIN: account freeze).
URGENT_DECISION_WITHIN = dt.timedelta(hours=24)
# Pushed events may wait through retries with backoff; the hub remembers a MessageId until Expires.
EVENT_TTL = dt.timedelta(minutes=30)
# Status reports are kept for idempotency; a soak run must not keep every one of them (a 2,000-transfer report
# is about a megabyte of tree). The oldest MsgIds are forgotten first.
MAX_REMEMBERED_PAYOUTS = 500
_BIN = re.compile(r"[0-9]{6}")
# Only bare file names: the WSDL's own relative schema locations, rewritten to where this bank serves them.
_SCHEMA_LOCATION = re.compile(r'schemaLocation="([A-Za-z0-9._-]+)"')

Handler = Callable[[etree._Element, VerifiedEnvelope], Awaitable[etree._Element]]


@dataclass
class Freeze:
    """One freeze decision on one account, and its release once released."""

    decision: str
    account_number: str
    decision_date: str
    office: str
    requested: int
    held: int
    urgent: bool
    receipt: str
    frozen_at: dt.datetime
    release_decision: str | None = None
    release_receipt: str | None = None
    released_at: dt.datetime | None = None

    @property
    def state(self) -> str:
        if self.release_decision is not None:
            return RELEASED
        return FULL if self.held >= self.requested else PARTIAL

    @property
    def in_force(self) -> bool:
        return self.release_decision is None


@dataclass
class PayoutRecord:
    digest: str
    answer: etree._Element


class BankMock(SoapMockAgency):
    # Defaults only: each instance names its own BIN (see __init__).
    agency_id = "bank"
    prefix = "/banks"
    wsdl_file = WSDL_FILE
    xsd_file = XSD_FILE
    target_namespace = NS

    def __init__(self, *, bank_bin: str, world: World, key_dir: Path, faults: FaultInjector | None = None,
                 seed: int = 0, events_url: str | None = None, office_account: str = DEFAULT_OFFICE_ACCOUNT,
                 retry: RetryPolicy | None = None) -> None:
        if not _BIN.fullmatch(bank_bin):
            raise ValueError(f"a bank BIN is 6 digits, got {bank_bin!r}")
        # MockAgency reads agency_id (the signing key's file stem, the contract directory) and the sandbox
        # reads prefix, so both are per instance and set before the base class uses them.
        self.agency_id = f"bank-{bank_bin}"
        self.prefix = f"/banks/{bank_bin}"
        super().__init__(key_dir=key_dir, faults=faults, seed=seed)
        self.bank_bin = bank_bin
        self.world = world
        self.events_url = events_url
        self.office_account = office_account
        self.balances: dict[str, int] = {}  # account number -> ledger balance, filled on first use
        self.freezes: dict[str, dict[str, Freeze]] = {}  # account number -> SoQuyetDinh -> Freeze
        self.payouts: dict[str, PayoutRecord] = {}  # MsgId -> first status report
        self._sequence = itertools.count(1)
        self.sender = CallbackSender(faults=self.faults, recorder=self.recorder, retry=retry or RetryPolicy(),
                                     seed=seed)
        for local, handler in (("TraCuuTaiKhoan", self._accounts_of_owner),
                               ("PhongToaTaiKhoan", self._freeze),
                               ("GiaiToaTaiKhoan", self._release),
                               ("ChiTraHangLoat", self._payout)):
            self.operation(local)(self._checked(handler))

    async def aclose(self) -> None:
        await self.sender.aclose()

    def wsdl_text(self, base_url: str) -> bytes:
        """The shared WSDL, pointed at this bank: its address and the schemas it serves under its prefix."""
        own = f"{base_url.rstrip('/')}{self.prefix}"
        text = (self.contract_dir() / self.wsdl_file).read_text(encoding="utf-8")
        text = _SCHEMA_LOCATION.sub(lambda m: f'schemaLocation="{own}/contracts/{m.group(1)}"', text)
        return text.replace("SANDBOX_BANK_URL", own).encode()

    # --- plumbing ----------------------------------------------------------------------------------
    def _checked(self, handler: Handler) -> Handler:
        async def run(request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
            try:
                answer = await handler(request, verified)
            except ValueError as exc:  # world data the bank cannot write
                raise Refusal(f"the bank cannot write its answer: {exc}", code="INTERNAL",
                              rule="answer_data") from None
            return checked(answer, "an answer")

        return run

    def _transaction_id(self, kind: str, at: dt.datetime) -> str:
        return transaction_id(kind, self.bank_bin, at, next(self._sequence))

    def _account(self, number: str) -> Account | None:
        return self.world.account(self.bank_bin, number)

    def balance(self, account: Account) -> int:
        return self.balances.setdefault(account.account_number, account.balance_vnd)

    def frozen(self, account_number: str) -> int:
        return sum(f.held for f in self.freezes.get(account_number, {}).values() if f.in_force)

    def in_force(self, account_number: str) -> list[Freeze]:
        return [f for f in self.freezes.get(account_number, {}).values() if f.in_force]

    @staticmethod
    def _refused(answer_local: str, code: str, message: str) -> etree._Element:
        answer = element(answer_local)
        refused = sub(answer, "TuChoi")
        sub(refused, "MaLoi", code)
        sub(refused, "MoTaLoi", message)
        return answer

    # --- answers -----------------------------------------------------------------------------------
    def account_xml(self, parent: etree._Element, account: Account, now: dt.datetime) -> etree._Element:
        el = sub(parent, "TaiKhoan")
        sub(el, "SoTaiKhoan", account.account_number)
        sub(el, "TenChuTaiKhoan", name_key(account.holder_name))
        sub(el, "TrangThai", OPEN if account.status == "active" else CLOSED)
        sub(el, "LoaiTien", "VND")
        balance, frozen = self.balance(account), self.frozen(account.account_number)
        sub(el, "SoDu", balance)
        sub(el, "SoTienDangPhongToa", frozen)
        sub(el, "SoDuKhaDung", max(0, balance - frozen))
        sub(el, "ThoiDiemSoDu", vn_time(now))
        sub(el, "NgayMoTaiKhoan", account.opened_on.strftime("%d/%m/%Y"))
        for freeze in self.in_force(account.account_number):
            held = sub(el, "PhongToa")
            sub(held, "SoQuyetDinh", freeze.decision)
            sub(held, "MaGiaoDich", freeze.receipt)
            sub(held, "SoTienDaPhongToa", freeze.held)
            sub(held, "KhanCap", xs_bool_text(freeze.urgent))
            sub(held, "ThoiGianThucHien", vn_time(freeze.frozen_at))
        return el

    def freeze_receipt(self, parent: etree._Element, freeze: Freeze, account: Account) -> etree._Element:
        """The receipt of the freeze: transaction id, amounts and time of the first request, state now."""
        receipt = sub(parent, "BienNhan")
        sub(receipt, "MaGiaoDich", freeze.receipt)
        sub(receipt, "SoQuyetDinh", freeze.decision)
        sub(receipt, "SoTaiKhoan", freeze.account_number)
        sub(receipt, "TenChuTaiKhoan", name_key(account.holder_name))
        sub(receipt, "SoTienYeuCau", freeze.requested)
        sub(receipt, "SoTienDaPhongToa", freeze.held)
        sub(receipt, "TrangThai", freeze.state)
        sub(receipt, "KhanCap", xs_bool_text(freeze.urgent))
        sub(receipt, "ThoiGianThucHien", vn_time(freeze.frozen_at))
        if freeze.urgent:
            sub(receipt, "HanBoSungQuyetDinh", vn_time(freeze.frozen_at + URGENT_DECISION_WITHIN))
        return receipt

    @staticmethod
    def release_receipt(parent: etree._Element, freeze: Freeze) -> etree._Element:
        if freeze.release_receipt is None or freeze.released_at is None or freeze.release_decision is None:
            raise ValueError("a release receipt for a freeze that was not released")
        receipt = sub(parent, "BienNhan")
        sub(receipt, "MaGiaoDich", freeze.release_receipt)
        sub(receipt, "MaGiaoDichPhongToa", freeze.receipt)
        sub(receipt, "SoQuyetDinh", freeze.decision)
        sub(receipt, "SoQuyetDinhGiaiToa", freeze.release_decision)
        sub(receipt, "SoTaiKhoan", freeze.account_number)
        sub(receipt, "SoTienDaGiaiToa", freeze.held)
        sub(receipt, "TrangThai", freeze.state)
        sub(receipt, "ThoiGianThucHien", vn_time(freeze.released_at))
        return receipt

    # --- operations --------------------------------------------------------------------------------
    async def _accounts_of_owner(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        person_id, tax_code = text_of(request, "SoDinhDanh"), text_of(request, "MaSoThue")
        accounts = self.world.accounts_of(person_id or tax_code, self.bank_bin)
        now = dt.datetime.now(dt.UTC)
        answer = element("TraCuuTaiKhoanPhanHoi")
        sub(answer, "SoDinhDanh" if person_id else "MaSoThue", person_id or tax_code)
        sub(answer, "MaNganHang", self.bank_bin)
        sub(answer, "TongSo", len(accounts))
        for account in accounts:
            self.account_xml(answer, account, now)
        return answer

    async def _freeze(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        reply = "PhongToaTaiKhoanPhanHoi"
        number, decision = text_of(request, "SoTaiKhoan"), text_of(request, "SoQuyetDinh")
        amount, decision_date = int(text_of(request, "SoTien")), text_of(request, "NgayQuyetDinh")
        urgent = xs_boolean(text_of(request, "KhanCap") or "false")
        account = self._account(number)
        if account is None:
            return self._refused(reply, "KHONG_TIM_THAY_TAI_KHOAN",
                                 f"Không có tài khoản số {number} tại ngân hàng {self.bank_bin}")
        if account.status != "active":
            return self._refused(reply, "TAI_KHOAN_DA_DONG", f"Tài khoản số {number} đã đóng, không thể phong tỏa")
        held_here = self.freezes.setdefault(number, {})
        existing = held_here.get(decision)
        if existing is not None:
            if (existing.requested, existing.decision_date, existing.urgent) != (amount, decision_date, urgent):
                return self._refused(reply, "TRUNG_SO_QUYET_DINH",
                                     f"Quyết định số {decision} đã được thực hiện trên tài khoản số {number} "
                                     "với nội dung khác")
            answer = element(reply)
            self.freeze_receipt(answer, existing, account)  # the same request again: the same receipt
            return answer
        now = dt.datetime.now(dt.UTC)
        available = max(0, self.balance(account) - self.frozen(number))
        freeze = Freeze(decision=decision, account_number=number, decision_date=decision_date,
                        office=text_of(request, "CoQuanThiHanhAn"), requested=amount, held=min(amount, available),
                        urgent=urgent, receipt=self._transaction_id("PT", now), frozen_at=now)
        held_here[decision] = freeze
        self.recorder.effect("freeze_applied", bank_bin=self.bank_bin, account_number=number, decision=decision,
                             requested=amount, held=freeze.held, urgent=urgent, receipt=freeze.receipt,
                             message_id=verified.header.message_id, case_ref=verified.header.case_ref)
        answer = element(reply)
        self.freeze_receipt(answer, freeze, account)
        if self.events_url:
            self._confirm(self.events_url, freeze, account, verified)
        return answer

    async def _release(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        reply = "GiaiToaTaiKhoanPhanHoi"
        number, decision = text_of(request, "SoTaiKhoan"), text_of(request, "SoQuyetDinh")
        release_decision = text_of(request, "SoQuyetDinhGiaiToa")
        if self._account(number) is None:
            return self._refused(reply, "KHONG_TIM_THAY_TAI_KHOAN",
                                 f"Không có tài khoản số {number} tại ngân hàng {self.bank_bin}")
        freeze = self.freezes.get(number, {}).get(decision)
        if freeze is None:
            return self._refused(reply, "KHONG_TIM_THAY_PHONG_TOA",
                                 f"Không có lệnh phong tỏa theo quyết định số {decision} trên tài khoản số {number}")
        if freeze.release_decision is not None:
            if freeze.release_decision != release_decision:
                return self._refused(reply, "DA_GIAI_TOA_THEO_QUYET_DINH_KHAC",
                                     f"Lệnh phong tỏa theo quyết định số {decision} đã được giải tỏa theo quyết "
                                     f"định số {freeze.release_decision}")
            answer = element(reply)
            self.release_receipt(answer, freeze)  # the same release again: the same receipt
            return answer
        now = dt.datetime.now(dt.UTC)
        freeze.release_decision, freeze.released_at = release_decision, now
        freeze.release_receipt = self._transaction_id("GT", now)
        self.recorder.effect("freeze_released", bank_bin=self.bank_bin, account_number=number, decision=decision,
                             release_decision=release_decision, released=freeze.held, receipt=freeze.release_receipt,
                             message_id=verified.header.message_id, case_ref=verified.header.case_ref)
        answer = element(reply)
        self.release_receipt(answer, freeze)
        return answer

    async def _payout(self, request: etree._Element, verified: VerifiedEnvelope) -> etree._Element:
        batch = payout.read_batch(request)
        digest = canonical_hash(request)
        now = dt.datetime.now(dt.UTC)
        known = self.payouts.get(batch.msg_id)
        if known is not None:
            if known.digest == digest:
                return copy.deepcopy(known.answer)  # the same message again: the first report, nothing paid
            refused = [[payout.Outcome(payout.REJECTED, "DU01") for _ in b.transfers] for b in batch.blocks]
            self.recorder.effect("payout_duplicate_refused", bank_bin=self.bank_bin, msg_id=batch.msg_id,
                                 transfers=len(batch.transfers), message_id=verified.header.message_id)
            return payout.status_report(batch, refused, report_id=self._transaction_id("STS", now),
                                        bank_bin=self.bank_bin, at=now, group_reason="DU01")

        group_reason = batch.problem()
        block_reasons: list[str | None] = []
        outcomes: list[list[payout.Outcome]] = []
        for block in batch.blocks:
            reason = group_reason or block.problem(bank_bin=self.bank_bin, office_account=self.office_account)
            block_reasons.append(None if group_reason else reason)
            outcomes.append([payout.Outcome(payout.REJECTED, reason) if reason else self._settle(t, now)
                             for t in block.transfers])
        answer = payout.status_report(batch, outcomes, report_id=self._transaction_id("STS", now),
                                      bank_bin=self.bank_bin, at=now, group_reason=group_reason,
                                      block_reasons=block_reasons)
        checked(answer, "a status report")  # before anything is remembered as this MsgId's report
        self.payouts[batch.msg_id] = PayoutRecord(digest=digest, answer=copy.deepcopy(answer))
        while len(self.payouts) > MAX_REMEMBERED_PAYOUTS:
            del self.payouts[next(iter(self.payouts))]
        every = [o for block in outcomes for o in block]
        reasons: dict[str, int] = {}
        for o in every:
            if o.reason:
                reasons[o.reason] = reasons.get(o.reason, 0) + 1
        settled = [t for t, o in zip(batch.transfers, every, strict=True) if o.status == payout.SETTLED]
        self.recorder.effect("payout_batch", bank_bin=self.bank_bin, msg_id=batch.msg_id,
                             transfers=len(every), settled=len(settled), settled_vnd=sum(t.amount for t in settled),
                             rejected=len(every) - len(settled), reasons=reasons,
                             group_status=payout.overall(every), message_id=verified.header.message_id,
                             case_ref=verified.header.case_ref)
        return answer

    def _settle(self, transfer: payout.Transfer, now: dt.datetime) -> payout.Outcome:
        """One transfer against the world's accounts (at any bank: payouts go through NAPAS)."""
        account = self.world.account(transfer.agent_bin, transfer.creditor_account)
        if account is None:
            return payout.Outcome(payout.REJECTED, "AC01")
        if account.status != "active":
            return payout.Outcome(payout.REJECTED, "AC04")
        if name_key(transfer.creditor_name) != name_key(account.holder_name):
            return payout.Outcome(payout.REJECTED, "BE01")
        if account.bank_bin == self.bank_bin:
            self.balances[account.account_number] = self.balance(account) + transfer.amount
        return payout.Outcome(payout.SETTLED, reference=self._transaction_id("CT", now))

    # --- events ------------------------------------------------------------------------------------
    def _confirm(self, url: str, freeze: Freeze, account: Account, verified: VerifiedEnvelope) -> None:
        """Push the freeze confirmation: a bank-signed envelope, the same answer faults as any answer."""
        now = dt.datetime.now(dt.UTC)
        event = element("XacNhanPhongToa")
        event_id = self._transaction_id("SK", now)
        sub(event, "MaSuKien", event_id)
        sub(event, "MaNganHang", self.bank_bin)
        sub(event, "CoQuanThiHanhAn", freeze.office)
        sub(event, "NgayQuyetDinh", freeze.decision_date)
        self.freeze_receipt(event, freeze, account)
        checked(event, "a freeze confirmation")
        header = EnvelopeFields(message_id=str(uuid.uuid4()), correlation_id=verified.header.message_id,
                                from_agency=self.agency_id, to_agency="hub", service=EVENT_SERVICE,
                                operation="XacNhanPhongToa", created=now, expires=now + EVENT_TTL,
                                case_ref=verified.header.case_ref)
        signed = self.signed_answer(header, event)
        body = finish_bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"), signed)
        self.sender.dispatch([Callback(url=url, body=body, event_id=header.message_id,
                                       content_type="application/xml")])
