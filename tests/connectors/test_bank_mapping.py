"""The banks' mapping (mappings/bank): pure functions, checked against the published contract and against the
sandbox world the bank mock writes its answers and events from."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree
from pydantic import BaseModel

from adapters.envelope import EnvelopeVerifier
from adapters.trust_store import TrustStore
from adapters.xsd import CompiledSchema
from hub.agency_ids import sandbox_agencies
from hub.errors import AgencyInvalidResponse, AgencyRejected, InvalidValue
from hub.model.assets import BankAccount
from hub.model.measures import AccountFreeze, MeasureStatus
from hub.model.payments import Payment, PaymentDirection, PaymentStatus
from hub.trust.pki_init import init_pki
from mappings import bank as m
from mappings.bank import accounts as wire
from mappings.bank.events import CreditAdvice, FreezeConfirmation
from mappings.bank.freezes import FreezeReceipt, ReleaseReceipt
from mappings.bank.payouts import PayoutReport, TransferOutcome
from sandbox_mocks.bank import DEFAULT_OFFICE_ACCOUNT, BankMock, transfer_push_items
from sandbox_mocks.bank import payout as mock_payout
from sandbox_mocks.bank.events import credit_advice
from sandbox_mocks.bank.mock import Freeze
from sandbox_mocks.seed.world import Account, World, build_world

NS = m.NS
BINS = ("970436", "970418", "970405")
MAIN = BINS[0]
OFFICE = "Thi hành án dân sự Thành phố Hồ Chí Minh"
MODELS: dict[str, type[BaseModel]] = {"BankAccount": BankAccount, "AccountFreeze": AccountFreeze, "Payment": Payment,
                                      "PayoutReport": PayoutReport, "TransferOutcome": TransferOutcome}
RECEIPTS: dict[str, type] = {"FreezeReceipt": FreezeReceipt, "ReleaseReceipt": ReleaseReceipt,
                             "FreezeConfirmation": FreezeConfirmation, "CreditAdvice": CreditAdvice}
KINDS = ("canonical", "extensions", "request", "check", "error", "receipt", "report")
AT = dt.datetime(2026, 11, 25, 2, 30, tzinfo=dt.UTC)


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def el(local: str, *children: etree._Element | tuple[str, str]) -> etree._Element:
    """A bank element; children are elements or (name, text) pairs, in order."""
    out = etree.Element(q(local), nsmap={"nh": NS})
    for child in children:
        if isinstance(child, tuple):
            etree.SubElement(out, q(child[0])).text = child[1]
        else:
            out.append(child)
    return out


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=5, citizens=500, bank_bins=BINS)


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key_dir = tmp_path_factory.mktemp("bank-mapping-pki")
    init_pki(key_dir, sandbox_agencies())
    return key_dir


@pytest.fixture(scope="module")
def mock(world: World, key_dir: Path) -> BankMock:
    return BankMock(bank_bin=MAIN, world=world, key_dir=key_dir, seed=3)


@pytest.fixture(scope="module")
def xsd() -> CompiledSchema:
    return CompiledSchema.load(m.XSD)


# --- every element of the contract lands somewhere ---------------------------------------------------
def contract_paths(xsd_file: Path) -> set[str]:
    """Every leaf element (and attribute, as ``/@name``) of the XSD as a path from its global element."""
    schema = xmlschema.XMLSchema(str(xsd_file))
    paths: set[str] = set()

    def walk(element: Any, path: str) -> None:  # xmlschema's element and type classes
        for name in element.attributes:
            paths.add(f"{path}/@{name}")
        if element.type.is_simple() or element.type.has_simple_content():
            paths.add(path)
            return
        for child in element.type.content.iter_elements():
            walk(child, f"{path}/{child.local_name}")

    for element in schema.elements.values():
        walk(element, element.local_name)
    return paths


def test_every_element_of_the_contract_is_declared_and_nothing_else() -> None:
    paths = contract_paths(m.XSD)
    assert len(paths) > 100  # the walk really went through the contract, payout documents included
    assert "ChiTraHangLoat/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/Amt/InstdAmt/@Ccy" in paths
    assert sorted(paths - set(m.ELEMENTS)) == [], "contract elements that land nowhere"
    assert sorted(set(m.ELEMENTS) - paths) == [], "declared elements the contract does not have"


def test_every_declared_destination_exists() -> None:
    for path, destination in m.ELEMENTS.items():
        kind, _, target = destination.partition(":")
        assert kind in KINDS, (path, destination)
        assert target.strip(), path
        name = target.split(" ")[0]
        if kind in ("canonical", "report"):
            model, _, field = name.partition(".")
            assert field in MODELS[model].model_fields, (path, target)
        if kind == "extensions":
            model = target.split(".")[0]
            assert "extensions" in MODELS[model].model_fields, (path, target)
            assert target.startswith(f"{model}.extensions["), (path, target)
        if kind == "receipt":
            cls, _, field = name.partition(".")
            assert field in {f.name for f in dataclasses.fields(RECEIPTS[cls])}, (path, target)
        if kind == "error":
            assert name in ("AgencyRejected.rule", "AgencyRejected.detail"), (path, target)


def test_the_code_lists_are_all_mapped() -> None:
    schema = xmlschema.XMLSchema(str(m.XSD))

    def enumeration(name: str) -> set[str]:
        simple: Any = schema.types[name]
        return {str(v) for v in simple.enumeration or []}

    assert enumeration("TrangThaiTaiKhoanType") == set(m.ACCOUNT_STATES)
    assert enumeration("TrangThaiPhongToaType") == set(m.STATES)
    assert enumeration("MaLoiType") == set(m.REFUSAL_CODES)
    assert enumeration("GroupStatusCode") == {s.value for s in m.GroupStatus}
    assert enumeration("StatusReasonCode") == set(m.REASON_CODES) == set(mock_payout.REASONS)
    assert enumeration("TransactionStatusCode") == {"ACSC", "RJCT"}


# --- accounts: values equal the world's -------------------------------------------------------------
def answer_for(mock: BankMock, world: World, owner: str, now: dt.datetime) -> etree._Element:
    answer = el("TraCuuTaiKhoanPhanHoi", ("SoDinhDanh" if len(owner) == 12 else "MaSoThue", owner),
                ("MaNganHang", MAIN), ("TongSo", str(len(world.accounts_of(owner, MAIN)))))
    for account in world.accounts_of(owner, MAIN):
        mock.account_xml(answer, account, now)
    return answer


def assert_account_is(account: BankAccount, source: Account, now: dt.datetime) -> None:
    assert (account.bank_bin, account.account_number) == (source.bank_bin, source.account_number)
    assert account.holder_name == source.holder_name
    assert (account.currency, account.balance_vnd, account.frozen_vnd) == ("VND", source.balance_vnd, 0)
    assert account.balance_at == now.replace(microsecond=0)
    assert account.extensions["TrangThai"] == ("HOAT_DONG" if source.status == "active" else "DONG")
    assert account.extensions["SoDuKhaDung"] == str(source.balance_vnd)
    assert account.extensions["NgayMoTaiKhoan"] == source.opened_on.strftime("%d/%m/%Y")


def test_every_account_the_bank_writes_maps_to_the_worlds_values(mock: BankMock, world: World,
                                                                 xsd: CompiledSchema) -> None:
    now = dt.datetime(2026, 11, 25, 1, 2, 3, 456, tzinfo=dt.UTC)
    owners = sorted({a.owner_id for a in world.accounts if a.bank_bin == MAIN})
    assert any(len(o) == 10 for o in owners) and any(len(o) == 12 for o in owners)
    seen_closed = False
    for owner in owners:
        answer = answer_for(mock, world, owner, now)
        xsd.validate(answer)
        accounts = m.accounts_from(answer, owner, MAIN)
        for account, source in zip(accounts, world.accounts_of(owner, MAIN), strict=True):
            assert_account_is(account, source, now)
            seen_closed |= source.status == "closed"
            if len(owner) == 12:
                assert account.holder_id == owner and "MaSoThue" not in account.extensions
            else:
                assert account.holder_id is None and account.extensions["MaSoThue"] == owner
    assert seen_closed


def test_freezes_in_force_go_to_the_accounts_extensions(mock: BankMock, world: World, xsd: CompiledSchema) -> None:
    source = next(a for a in world.accounts if a.bank_bin == MAIN and a.status == "active"
                  and a.balance_vnd > 1_000_000 and len(a.owner_id) == 12)
    at = dt.datetime(2026, 11, 20, 2, 15, tzinfo=dt.UTC)
    mock.freezes[source.account_number] = {"15/QĐ-CCTHADS": Freeze(
        decision="15/QĐ-CCTHADS", account_number=source.account_number, decision_date="20/11/2026", office=OFFICE,
        requested=600_000, held=600_000, urgent=True, receipt=f"PT{MAIN}20261120000001", frozen_at=at)}
    try:
        answer = answer_for(mock, world, source.owner_id, at)
        xsd.validate(answer)
        account = next(a for a in m.accounts_from(answer, source.owner_id, MAIN)
                       if a.account_number == source.account_number)
    finally:
        del mock.freezes[source.account_number]
    assert account.frozen_vnd == 600_000
    assert account.extensions["SoDuKhaDung"] == str(source.balance_vnd - 600_000)
    assert {k: v for k, v in account.extensions.items() if k.startswith("PhongToa/")} == {
        "PhongToa/15/QĐ-CCTHADS/MaGiaoDich": f"PT{MAIN}20261120000001",
        "PhongToa/15/QĐ-CCTHADS/SoTienDaPhongToa": "600000",
        "PhongToa/15/QĐ-CCTHADS/KhanCap": "true",
        "PhongToa/15/QĐ-CCTHADS/ThoiGianThucHien": "20/11/2026 09:15:00",
    }


def test_answers_about_something_else_are_invalid(mock: BankMock, world: World) -> None:
    owner = next(a.owner_id for a in world.accounts if a.bank_bin == MAIN and len(a.owner_id) == 12)
    other = next(c.person_id for c in world.citizens if c.person_id != owner)
    now = dt.datetime.now(dt.UTC)
    answer = answer_for(mock, world, owner, now)
    for asked, bank_bin, rule in ((other, MAIN, "owner_echo"), (owner, "970418", "bank_echo")):
        with pytest.raises(AgencyInvalidResponse) as caught:
            m.accounts_from(answer, asked, bank_bin)
        assert caught.value.rule == rule
    answer.find(q("TongSo")).text = str(len(world.accounts_of(owner, MAIN)) + 1)
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.accounts_from(answer, owner, MAIN)
    assert caught.value.rule == "count"
    with pytest.raises(AgencyInvalidResponse):
        m.accounts_from(el("PhongToaTaiKhoanPhanHoi"), owner, MAIN)
    empty = el("TraCuuTaiKhoanPhanHoi", ("SoDinhDanh", owner), ("MaNganHang", MAIN), ("TongSo", "0"))
    assert m.accounts_from(empty, owner, MAIN) == []


def test_owner_ids_and_formats() -> None:
    assert m.owner_kind("079203001234") == "SoDinhDanh"
    assert m.owner_kind("0301234567") == "MaSoThue" and m.owner_kind("0301234567-001") == "MaSoThue"
    for bad in ("12345", "000000000000", "03012345678"):
        with pytest.raises(InvalidValue):
            m.accounts_request(bad)
    assert wire.parse_time("01/01/2026 06:30:00", "ThoiDiemSoDu") == dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC)
    for bad in ("12.500.000", "12500000.00", "-1", ""):
        with pytest.raises(AgencyInvalidResponse):
            wire.parse_amount(bad, "SoDu")
    assert wire.parse_amount("12500000", "SoDu") == 12_500_000
    assert m.bank_name("  Nguyễn   Thị Hoà ") == "NGUYEN THI HOA"
    assert m.bank_name("Đặng Văn Đức") == "DANG VAN DUC"


# --- freezes ----------------------------------------------------------------------------------------------
def a_freeze(amount: int = 5_000_000, *, urgent: bool = False, account: str = "1234567890123") -> AccountFreeze:
    return AccountFreeze(decision_ref="102/2026/QĐ-THADS", bank_bin=MAIN, account_number=account, amount_vnd=amount,
                         urgent_record=urgent)


def mock_freeze(freeze: AccountFreeze, held: int, **changes: Any) -> Freeze:
    values: dict[str, Any] = {
        "decision": freeze.decision_ref, "account_number": freeze.account_number, "decision_date": "20/11/2026",
        "office": OFFICE, "requested": freeze.amount_vnd, "held": held, "urgent": freeze.urgent_record,
        "receipt": f"PT{MAIN}20261120000007", "frozen_at": dt.datetime(2026, 11, 20, 2, 15, tzinfo=dt.UTC)}
    values.update(changes)
    return Freeze(**values)


def holder(world: World) -> Account:
    return next(a for a in world.accounts if a.bank_bin == MAIN and a.status == "active")


def freeze_answer(mock: BankMock, world: World, frozen: Freeze) -> etree._Element:
    answer = el("PhongToaTaiKhoanPhanHoi")
    mock.freeze_receipt(answer, frozen, holder(world))
    return answer


def test_requests_are_valid_bank_requests(xsd: CompiledSchema) -> None:
    freeze = a_freeze(urgent=True)
    request = m.freeze_request(freeze, OFFICE, dt.date(2026, 11, 20), m.freeze_note(freeze))
    xsd.validate(request)
    assert [(etree.QName(c).localname, c.text) for c in request] == [
        ("SoQuyetDinh", "102/2026/QĐ-THADS"), ("NgayQuyetDinh", "20/11/2026"), ("CoQuanThiHanhAn", OFFICE),
        ("SoTaiKhoan", "1234567890123"), ("SoTien", "5000000"), ("KhanCap", "true"), ("GhiChu", f"THADS {freeze.id}")]
    release = m.release_request(freeze, "7/QĐ-GTPT", dt.date(2026, 12, 2), OFFICE)
    xsd.validate(release)
    assert [(etree.QName(c).localname, c.text) for c in release] == [
        ("SoQuyetDinh", "102/2026/QĐ-THADS"), ("SoTaiKhoan", "1234567890123"), ("SoQuyetDinhGiaiToa", "7/QĐ-GTPT"),
        ("NgayQuyetDinhGiaiToa", "02/12/2026"), ("CoQuanThiHanhAn", OFFICE)]
    xsd.validate(m.release_request(freeze, "7/QĐ-GTPT"))
    for person in ("079203001234", "0301234567-001"):
        xsd.validate(m.accounts_request(person))
    assert m.idempotency_key(" 102/2026/QĐ-THADS ", "1234567890123") == "102/2026/QĐ-THADS:1234567890123"
    for bad in (a_freeze(0), a_freeze(account="ABC12345"),
                a_freeze().model_copy(update={"decision_ref": "QĐ số 12"})):
        with pytest.raises(InvalidValue):
            m.freeze_request(bad, OFFICE, dt.date(2026, 11, 20))
    with pytest.raises(InvalidValue):
        m.freeze_request(a_freeze(), " ", dt.date(2026, 11, 20))


def test_a_freeze_receipt_applies_the_freeze_whole_or_in_part(mock: BankMock, world: World,
                                                              xsd: CompiledSchema) -> None:
    freeze = a_freeze()
    whole = freeze_answer(mock, world, mock_freeze(freeze, 5_000_000))
    xsd.validate(whole)
    applied, receipt = m.frozen_from(whole, freeze)
    assert (applied.status, applied.frozen_vnd, applied.id) == (MeasureStatus.APPLIED, 5_000_000, freeze.id)
    assert applied.confirmed_at == dt.datetime(2026, 11, 20, 2, 15, tzinfo=dt.UTC)
    assert (receipt.transaction_id, receipt.state, receipt.holder_name) == (
        f"PT{MAIN}20261120000007", "PHONG_TOA_DU", holder(world).holder_name)
    assert receipt.extensions()["PhongToaTaiKhoan/MaGiaoDich"] == f"PT{MAIN}20261120000007"

    part, receipt = m.frozen_from(freeze_answer(mock, world, mock_freeze(freeze, 1_250_000)), freeze)
    assert (part.status, part.frozen_vnd, receipt.state) == (MeasureStatus.APPLIED, 1_250_000, "PHONG_TOA_MOT_PHAN")
    assert part.frozen_vnd is not None and part.frozen_vnd < part.amount_vnd

    released = mock_freeze(freeze, 5_000_000, release_decision="7/QĐ-GTPT", release_receipt=f"GT{MAIN}20261121000009",
                           released_at=dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC))
    since, _ = m.frozen_from(freeze_answer(mock, world, released), freeze)
    assert since.status is MeasureStatus.LIFTED

    urgent = a_freeze(urgent=True)
    applied, receipt = m.frozen_from(freeze_answer(mock, world, mock_freeze(urgent, 5_000_000)), urgent)
    assert applied.urgent_record is True
    assert receipt.decision_due_at == dt.datetime(2026, 11, 21, 2, 15, tzinfo=dt.UTC)


def test_a_receipt_about_another_freeze_or_that_does_not_add_up_is_invalid(mock: BankMock, world: World) -> None:
    freeze = a_freeze()
    cases = [
        (mock_freeze(freeze, 5_000_000, decision="1/QĐ-X"), "decision_echo"),
        (mock_freeze(freeze, 5_000_000, account_number="9999999999"), "account_echo"),
        (mock_freeze(freeze, 4_000_000, requested=4_000_000), "amount_echo"),
        (mock_freeze(freeze, 5_000_000, urgent=True), "urgent_echo"),
    ]
    for frozen, rule in cases:
        with pytest.raises(AgencyInvalidResponse) as caught:
            m.frozen_from(freeze_answer(mock, world, frozen), freeze)
        assert caught.value.rule == rule
    tampered = freeze_answer(mock, world, mock_freeze(freeze, 5_000_000))
    tampered.find(f"{q('BienNhan')}/{q('TrangThai')}").text = "PHONG_TOA_MOT_PHAN"
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.frozen_from(tampered, freeze)
    assert caught.value.rule == "partial_amount"
    over = freeze_answer(mock, world, mock_freeze(freeze, 5_000_000))
    over.find(f"{q('BienNhan')}/{q('SoTienDaPhongToa')}").text = "6000000"
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.frozen_from(over, freeze)
    assert caught.value.rule == "frozen_over_requested"
    with pytest.raises(AgencyInvalidResponse):
        m.frozen_from(el("GiaiToaTaiKhoanPhanHoi"), freeze)


def test_a_release_receipt_lifts_the_freeze(mock: BankMock, xsd: CompiledSchema) -> None:
    freeze = a_freeze()
    released = mock_freeze(freeze, 3_000_000, release_decision="7/QĐ-GTPT", release_receipt=f"GT{MAIN}20261121000009",
                           released_at=dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC))
    answer = el("GiaiToaTaiKhoanPhanHoi")
    mock.release_receipt(answer, released)
    xsd.validate(answer)
    lifted, receipt = m.released_from(answer, freeze, "7/QĐ-GTPT")
    assert (lifted.status, lifted.frozen_vnd, lifted.id) == (MeasureStatus.LIFTED, 3_000_000, freeze.id)
    assert (receipt.transaction_id, receipt.freeze_transaction_id) == (f"GT{MAIN}20261121000009",
                                                                        f"PT{MAIN}20261120000007")
    assert receipt.executed_at == dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.released_from(answer, freeze, "8/QĐ-GTPT")
    assert caught.value.rule == "release_decision_echo"
    answer.find(f"{q('BienNhan')}/{q('TrangThai')}").text = "PHONG_TOA_DU"
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.released_from(answer, freeze, "7/QĐ-GTPT")
    assert caught.value.rule == "release_state"


@pytest.mark.parametrize("code", m.REFUSAL_CODES)
def test_a_refusal_is_agency_rejected_with_the_banks_code(code: str, xsd: CompiledSchema) -> None:
    freeze = a_freeze()
    for local, apply in (("PhongToaTaiKhoan", lambda a: m.frozen_from(a, freeze)),
                         ("GiaiToaTaiKhoan", lambda a: m.released_from(a, freeze, "7/QĐ-GTPT"))):
        answer = el(f"{local}PhanHoi", el("TuChoi", ("MaLoi", code), ("MoTaLoi", "Lý do từ chối")))
        xsd.validate(answer)
        with pytest.raises(AgencyRejected) as caught:
            apply(answer)
        assert (caught.value.code, caught.value.rule) == ("AGENCY_REJECTED", code)
        assert "Lý do từ chối" in caught.value.detail


# --- payouts -------------------------------------------------------------------------------------------------
def payments(world: World, count: int = 6) -> list[Payment]:
    rng = random.Random(11)
    accounts = [a for a in world.accounts if a.status == "active"]
    out = []
    for n in range(count):
        a = rng.choice(accounts)
        citizen = world.citizen(a.owner_id)
        out.append(Payment(direction=PaymentDirection.PAYOUT, amount_vnd=(n + 1) * 1_000_000,
                           counterparty_name=citizen.full_name if citizen else a.holder_name, bank_bin=a.bank_bin,
                           account_number=a.account_number, reference=f"Chi tra THA {n}/QD-CCTHADS",
                           at=AT + dt.timedelta(minutes=n)))
    return out


def request_for(batch: list[Payment], **changes: Any) -> etree._Element:
    values: dict[str, Any] = {"bank_bin": MAIN, "debtor_account": DEFAULT_OFFICE_ACCOUNT, "office_name": OFFICE,
                              "payments": batch}
    values.update(changes)
    return m.payout_request("THADS-20261125-0001", **values)


def test_the_payout_message_is_a_valid_pain001_the_bank_reads_back(world: World, xsd: CompiledSchema) -> None:
    batch = payments(world)
    request = request_for(batch)
    xsd.validate(request)
    read = mock_payout.read_batch(request)
    assert (read.msg_id, read.declared_count, read.declared_sum) == (
        "THADS-20261125-0001", 6, sum(p.amount_vnd for p in batch))
    [block] = read.blocks
    assert (block.debtor_account, block.debtor_bin) == (DEFAULT_OFFICE_ACCOUNT, MAIN)
    assert block.problem(bank_bin=MAIN, office_account=DEFAULT_OFFICE_ACCOUNT) is None
    for transfer, payment in zip(read.transfers, batch, strict=True):
        assert transfer == mock_payout.Transfer(end_to_end_id=payment.id.hex, amount=payment.amount_vnd,
                                                agent_bin=payment.bank_bin,
                                                creditor_name=m.bank_name(payment.counterparty_name),
                                                creditor_account=payment.account_number)
        assert transfer.creditor_name.isascii() and transfer.creditor_name == transfer.creditor_name.upper()
    ns = {"nh": NS}
    # the message is a pure function of the payments: CreDtTm is the latest payment's time
    assert request.findtext("nh:CstmrCdtTrfInitn/nh:GrpHdr/nh:CreDtTm", namespaces=ns) == "2026-11-25T09:35:00+07:00"
    assert request.findtext("nh:CstmrCdtTrfInitn/nh:PmtInf/nh:ReqdExctnDt/nh:Dt", namespaces=ns) == "2026-11-25"
    assert etree.tostring(request_for(list(batch)), method="c14n") == etree.tostring(request, method="c14n")


def test_payouts_that_do_not_fit_the_contract_are_refused(world: World) -> None:
    batch = payments(world, 2)
    good = batch[0]
    for bad in ([], [good, good], [good.model_copy(update={"direction": PaymentDirection.INCOMING})],
                [good.model_copy(update={"reference": "R" * 141})],
                [good.model_copy(update={"account_number": "ABC12345"})]):
        with pytest.raises(InvalidValue):
            request_for(bad)
    with pytest.raises(InvalidValue):
        m.payout_request("x" * 36, bank_bin=MAIN, debtor_account=DEFAULT_OFFICE_ACCOUNT, office_name=OFFICE,
                         payments=batch)
    with pytest.raises(InvalidValue) as caught:
        request_for([good.model_copy(update={"id": uuid.uuid4()}) for _ in range(m.MAX_TRANSFERS + 1)])
    assert caught.value.rule == "payout_size"
    with pytest.raises(InvalidValue):
        request_for(batch, debtor_account="0071-000")


def report_for(batch: list[Payment], outcomes: list[mock_payout.Outcome], *, group_reason: str | None = None,
               block_reason: str | None = None, **changes: Any) -> etree._Element:
    read = mock_payout.read_batch(request_for(batch, **changes))
    return mock_payout.status_report(read, [outcomes], report_id=f"STS{MAIN}20261125000001", bank_bin=MAIN, at=AT,
                                     group_reason=group_reason, block_reasons=[block_reason])


def settled(n: int) -> mock_payout.Outcome:
    return mock_payout.Outcome(mock_payout.SETTLED, reference=f"CT{MAIN}20261125{n:06d}")


def rejected(code: str) -> mock_payout.Outcome:
    return mock_payout.Outcome(mock_payout.REJECTED, code)


def test_a_status_report_gives_every_payments_fate(world: World, xsd: CompiledSchema) -> None:
    batch = payments(world)
    fates = [settled(1), rejected("AC04"), settled(2), rejected("BE01"), rejected("AC01"), settled(3)]
    answer = report_for(batch, fates)
    xsd.validate(answer)
    report = m.report_from(answer, "THADS-20261125-0001", batch, MAIN)
    assert (report.group_status, report.block_status, report.report_id) == (
        m.GroupStatus.PARTIAL, m.GroupStatus.PARTIAL, f"STS{MAIN}20261125000001")
    assert report.reported_at == AT
    assert list(report.outcomes) == [p.id for p in batch]
    assert [(o.status, o.reason_code, o.bank_reference) for o in report.outcomes.values()] == [
        (PaymentStatus.SETTLED, None, f"CT{MAIN}20261125000001"), (PaymentStatus.REJECTED, "AC04", None),
        (PaymentStatus.SETTLED, None, f"CT{MAIN}20261125000002"), (PaymentStatus.REJECTED, "BE01", None),
        (PaymentStatus.REJECTED, "AC01", None), (PaymentStatus.SETTLED, None, f"CT{MAIN}20261125000003")]
    assert report.outcomes[batch[1].id].reason_text == mock_payout.REASONS["AC04"]
    paid = report.apply(batch)
    assert [p.status for p in paid] == [PaymentStatus.SETTLED, PaymentStatus.REJECTED, PaymentStatus.SETTLED,
                                        PaymentStatus.REJECTED, PaymentStatus.REJECTED, PaymentStatus.SETTLED]
    assert paid[1].reject_reason == f"AC04: {mock_payout.REASONS['AC04']}"
    assert (len(report.settled), len(report.rejected)) == (3, 3)

    everyone = m.report_from(report_for(batch, [settled(n) for n in range(6)]), "THADS-20261125-0001", batch, MAIN)
    assert everyone.group_status is m.GroupStatus.ACCEPTED
    whole = m.report_from(report_for(batch, [rejected("AC02")] * 6, block_reason="AC02"), "THADS-20261125-0001",
                          batch, MAIN)
    assert (whole.group_status, whole.block_reason_code, whole.group_reason_code) == (
        m.GroupStatus.REJECTED, "AC02", None)
    duplicate = m.report_from(report_for(batch, [rejected("DU01")] * 6, group_reason="DU01"), "THADS-20261125-0001",
                              batch, MAIN)
    assert (duplicate.group_reason_code, duplicate.group_reason_text) == ("DU01", mock_payout.REASONS["DU01"])


def _tx(answer: etree._Element) -> list[etree._Element]:
    return list(answer.iter(q("TxInfAndSts")))


def test_a_report_that_does_not_account_for_every_payment_is_invalid(world: World) -> None:
    batch = payments(world)
    fates = [settled(1), rejected("AC04"), settled(2), rejected("BE01"), rejected("AC01"), settled(3)]

    def broken(change: Any) -> str | None:
        answer = report_for(batch, fates)
        change(answer)
        with pytest.raises(AgencyInvalidResponse) as caught:
            m.report_from(answer, "THADS-20261125-0001", batch, MAIN)
        return caught.value.rule

    def drop_one(a: etree._Element) -> None:
        tx = _tx(a)[2]
        tx.getparent().remove(tx)

    def twice(a: etree._Element) -> None:
        _tx(a)[1].find(q("OrgnlEndToEndId")).text = batch[0].id.hex

    def stranger(a: etree._Element) -> None:
        _tx(a)[0].find(q("OrgnlEndToEndId")).text = uuid.uuid4().hex

    def settle_a_rejected_one(a: etree._Element) -> None:
        tx = _tx(a)[1]
        tx.find(q("TxSts")).text = "ACSC"

    def group_says_all_settled(a: etree._Element) -> None:
        next(a.iter(q("GrpSts"))).text = "ACCP"

    def per_status_wrong(a: etree._Element) -> None:
        next(a.iter(q("DtldNbOfTxs"))).text = "5"

    def other_message(a: etree._Element) -> None:
        next(a.iter(q("OrgnlMsgId"))).text = "THADS-OTHER"

    assert broken(drop_one) == "report_incomplete"
    assert broken(twice) == "report_duplicate_transfer"
    assert broken(stranger) == "report_unknown_transfer"
    assert broken(settle_a_rejected_one) == "settled_with_reason"
    assert broken(group_says_all_settled) == "group_status_consistency"
    assert broken(per_status_wrong) == "per_status_sum"
    assert broken(other_message) == "batch_echo"
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.report_from(report_for(batch, fates), "THADS-20261125-0001", batch, "970418")
    assert caught.value.rule == "bank_echo"
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.report_from(report_for(batch, fates), "THADS-20261125-0001", batch[:5], MAIN)
    assert caught.value.rule == "count_echo"


# --- events ------------------------------------------------------------------------------------------------
def test_a_freeze_confirmation_maps_to_the_canonical_freeze(mock: BankMock, world: World, xsd: CompiledSchema) -> None:
    freeze = a_freeze(urgent=True)
    event = el("XacNhanPhongToa", ("MaSuKien", f"SK{MAIN}20261120000008"), ("MaNganHang", MAIN),
               ("CoQuanThiHanhAn", OFFICE), ("NgayQuyetDinh", "20/11/2026"))
    mock.freeze_receipt(event, mock_freeze(freeze, 2_000_000), holder(world))
    xsd.validate(event)
    confirmation = m.freeze_confirmation_from(event, bank_bin=MAIN)
    assert (confirmation.event_id, confirmation.bank_bin, confirmation.office, confirmation.decided_on) == (
        f"SK{MAIN}20261120000008", MAIN, OFFICE, dt.date(2026, 11, 20))
    made = confirmation.freeze
    assert (made.decision_ref, made.bank_bin, made.account_number, made.amount_vnd) == (
        freeze.decision_ref, MAIN, freeze.account_number, freeze.amount_vnd)
    assert (made.status, made.frozen_vnd, made.urgent_record) == (MeasureStatus.APPLIED, 2_000_000, True)
    assert made.confirmed_at == dt.datetime(2026, 11, 20, 2, 15, tzinfo=dt.UTC)
    # the hub's own freeze, when it has it, keeps its id
    known = m.account_freeze_from(event, freeze, bank_bin=MAIN)
    assert (known.id, known.status, known.frozen_vnd) == (freeze.id, MeasureStatus.APPLIED, 2_000_000)
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.freeze_confirmation_from(event, bank_bin="970418")
    assert caught.value.rule == "bank_echo"
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.freeze_confirmation_from(event, a_freeze(urgent=True, account="9876543210"))
    assert caught.value.rule == "freeze_echo"


def test_credit_advices_the_bank_pushes_map_to_incoming_payments(world: World, key_dir: Path,
                                                                 xsd: CompiledSchema) -> None:
    items = transfer_push_items(world, key_dir, MAIN, count=40, office_account=DEFAULT_OFFICE_ACCOUNT, seed=9)
    verifier = EnvelopeVerifier(TrustStore.load(key_dir))
    ids = set()
    for item in items:
        verified = verifier.verify(item.body, expected_to="hub")  # as the hub's inbound endpoint does first
        assert verified.signer == f"bank-{MAIN}"
        event = verified.body
        xsd.validate(event)
        advice = m.credit_advice_from(event, bank_bin=MAIN, office_account=DEFAULT_OFFICE_ACCOUNT)
        payment = advice.payment
        ids.add(payment.id)
        text = credit_advice(item)
        assert payment.direction is PaymentDirection.INCOMING and payment.status is PaymentStatus.SETTLED
        assert payment.amount_vnd == int(text.findtext(q("SoTien")) or "")
        payer = world.account(payment.bank_bin, payment.account_number)
        assert payer is not None and payer.status == "active"
        assert payment.counterparty_name == payer.holder_name
        assert payment.reference == advice.note == text.findtext(q("NoiDung"))
        assert payment.reference.startswith("THA ")
        assert advice.transaction_id == text.findtext(q("MaGiaoDich"))
        assert (advice.bank_bin, advice.office_account) == (MAIN, DEFAULT_OFFICE_ACCOUNT)
        assert payment.id == m.payment_id(MAIN, advice.transaction_id)
        assert m.payment_from(event) == payment  # the same advice again: the same payment
        assert payment.at.tzinfo is not None
    assert len(ids) == len({credit_advice(i).findtext(q("MaGiaoDich")) for i in items})
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.credit_advice_from(credit_advice(items[0]), office_account="0071000000000")
    assert caught.value.rule == "office_account"


def test_a_long_transfer_note_is_kept_whole_beside_the_payment(xsd: CompiledSchema) -> None:
    note = "THA 123/QD-THADS THADS-79-2026-0042 " + "tra no " * 25
    note = note[:210]
    event = el("BaoCo", ("MaGiaoDich", f"FT{MAIN}00000000000001"), ("MaNganHang", MAIN),
               ("SoTaiKhoanNhan", DEFAULT_OFFICE_ACCOUNT), ("SoTien", "2500000"), ("TenNguoiChuyen", "NGUYEN VAN AN"),
               ("SoTaiKhoanChuyen", "1234567890"), ("MaNganHangChuyen", "970418"), ("NoiDung", note),
               ("ThoiGian", "25/11/2026 09:30:00"))
    xsd.validate(event)
    advice = m.credit_advice_from(event)
    assert advice.note == note and advice.office_account_name is None
    assert len(advice.payment.reference) == 200 and advice.payment.reference.endswith("…")
    assert advice.payment.at == AT
