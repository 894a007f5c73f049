"""The sandbox banks over real HTTP: three BINs in one root app, used the way an outside SOAP client uses them.

zeep loads the shared interbank WSDL from a running bank (``GET /banks/970436?wsdl``) and the schemas it
imports from that bank too, and calls every operation. The hub's request envelopes are signed with
``adapters.envelope`` and slipped in by the land tests' ``PresignedEnvelope`` zeep plugin (see
test_land_mock.py for why zeep cannot carry a signed element itself).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import random
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import Soap12Binding

from adapters import soap_envelope
from adapters.envelope import DS, EnvelopeFields, EnvelopeSigner, EnvelopeVerifier, VerifiedEnvelope, build_envelope
from adapters.envelope import NS as ENV_NS
from adapters.pki import load_cert
from adapters.trust_store import TrustStore
from adapters.xml_hardened import parse_xml
from adapters.xsd import SCHEMA_DIR, CompiledSchema
from sandbox_mocks.bank import DEFAULT_OFFICE_ACCOUNT, BankMock
from sandbox_mocks.seed.spelling import upper_ascii
from sandbox_mocks.seed.world import Account, World, build_world
from tests.conftest import ServedApp
from tests.sandbox.test_land_mock import ZEEP_SETTINGS, PresignedEnvelope, SandboxOnlyTransport
from tests.sandbox.test_population_mock import make_key_dir, serve

NS = "urn:vn:napas:thads:nganhang:1"
BINS = ("970436", "970418", "970405")
MAIN = BINS[0]
CONTRACTS = Path(__file__).resolve().parents[2] / "mappings" / "bank" / "contracts"
BANK_XSD = CONTRACTS / "ngan-hang.xsd"
OPERATIONS = ("TraCuuTaiKhoan", "PhongToaTaiKhoan", "GiaiToaTaiKhoan", "ChiTraHangLoat")
OFFICE = "Thi hành án dân sự Thành phố Hồ Chí Minh"
CASE_REF = "THADS-79-2026-0042"


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def path(*steps: str) -> str:
    return "/".join(q(s) for s in steps)


def bank_request(local: str, **children: str) -> etree._Element:
    el = etree.Element(q(local), nsmap={"nh": NS})
    for name, text in children.items():
        etree.SubElement(el, q(name)).text = text
    return el


def unique_decision(kind: str = "QĐ-CCTHADS") -> str:
    return f"{uuid.uuid4().int % 900_000 + 100_000}/{kind}"


def texts(el: etree._Element, xpath: str) -> list[str]:
    return [t.strip() for t in el.xpath(xpath, namespaces={"nh": NS})]


# --- the hub's side, zeep as the SOAP client ------------------------------------------------------------
@dataclass
class Answer:
    request: etree._Element
    verified: VerifiedEnvelope
    parsed: Any

    @property
    def body(self) -> etree._Element:
        return self.verified.body


class BankClient:
    def __init__(self, base: str, key_dir: Path, bank_bin: str) -> None:
        self.base, self.key_dir, self.bank_bin = base, key_dir, bank_bin
        self.agency = f"bank-{bank_bin}"
        self.transport = SandboxOnlyTransport(base)
        self.plugin = PresignedEnvelope()
        self.zeep = zeep.Client(f"{base}/banks/{bank_bin}?wsdl", transport=self.transport, plugins=[self.plugin],
                                settings=ZEEP_SETTINGS)
        self.hub = EnvelopeSigner.from_key_dir(key_dir, "hub")
        self.verifier = EnvelopeVerifier(TrustStore.load(key_dir))
        self.xsd = CompiledSchema.load(BANK_XSD)

    def signed(self, business: etree._Element, *, signer: EnvelopeSigner | None = None,
               from_agency: str = "hub") -> etree._Element:
        now = dt.datetime.now(dt.UTC)
        header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency=from_agency, to_agency=self.agency,
                                service="bank", operation=etree.QName(business).localname, created=now,
                                expires=now + dt.timedelta(minutes=5), case_ref=CASE_REF, officer="Lê Văn Tám",
                                purpose="Xác minh điều kiện thi hành án")
        return (signer or self.hub).sign(build_envelope(header, business))

    def send(self, signed: etree._Element) -> Any:
        business = signed.find(f"{{{ENV_NS}}}Body")[0]
        header = {etree.QName(e).localname: e.text for e in signed.find(f"{{{ENV_NS}}}Header")}
        self.plugin.signed = signed
        return getattr(self.zeep.service, etree.QName(business).localname)(
            Header=header, Body={"_value_1": copy.deepcopy(business)})

    def call(self, business: etree._Element) -> Answer:
        """One exchange with every check a signed answer must pass: the bank's own signature, the request it
        answers, the published schema."""
        request = self.signed(business)
        result = self.send(request)
        assert self.transport.last_status == 200
        assert self.transport.last_answer is not None
        verified = self.verifier.verify(etree.tostring(soap_envelope.unwrap(self.transport.last_answer)),
                                        expected_to="hub")
        assert verified.signer == self.agency and verified.header.from_agency == self.agency
        assert verified.header.correlation_id == request.findtext(f"{{{ENV_NS}}}Header/{{{ENV_NS}}}MessageId")
        assert verified.header.case_ref == CASE_REF
        assert etree.QName(verified.body) == etree.QName(NS, f"{etree.QName(business).localname}PhanHoi")
        self.xsd.validate(verified.body)
        assert result.Header.From == self.agency
        return Answer(request=request, verified=verified, parsed=result.Body._value_1)


# --- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, citizens=500)


@pytest.fixture(scope="module")
def banks(world: World, key_dir: Path) -> dict[str, BankMock]:
    return {b: BankMock(bank_bin=b, world=world, key_dir=key_dir, seed=5) for b in BINS}


@pytest.fixture(scope="module")
def served(banks: dict[str, BankMock]) -> Iterator[ServedApp]:
    with serve(*banks.values()) as (app, _log):
        yield app


@pytest.fixture(scope="module")
def clients(served: ServedApp, key_dir: Path) -> dict[str, BankClient]:
    return {b: BankClient(served.url, key_dir, b) for b in BINS}


@pytest.fixture(scope="module")
def client(clients: dict[str, BankClient]) -> BankClient:
    return clients[MAIN]


def effects(served: ServedApp, bank_bin: str, kind: str, **match: str) -> list[dict[str, Any]]:
    snapshot = httpx.get(f"{served.url}/banks/{bank_bin}/_admin/recorder", timeout=10).json()
    return [e for e in snapshot["effects"] if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())]


def post_soap(served: ServedApp, data: bytes, bank_bin: str = MAIN) -> httpx.Response:
    return httpx.post(f"{served.url}/banks/{bank_bin}", content=data, timeout=15, follow_redirects=True,
                      headers={"Content-Type": soap_envelope.CONTENT_TYPE})


class Accounts:
    """Accounts of the world picked for each test, never the same one twice, so tests stay independent."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.used: set[tuple[str, str]] = set()

    def take(self, bank_bin: str = MAIN, *, status: str = "active", min_balance: int = 0) -> Account:
        for a in self.world.accounts:
            key = (a.bank_bin, a.account_number)
            if a.bank_bin == bank_bin and a.status == status and a.balance_vnd >= min_balance and key not in self.used:
                self.used.add(key)
                return a
        raise LookupError("the world ran out of suitable accounts")


@pytest.fixture(scope="module")
def accounts(world: World) -> Accounts:
    return Accounts(world)


def freeze_request(account: Account, decision: str, amount: int, *, urgent: bool | None = None,
                   date: str = "20/11/2026") -> etree._Element:
    children = {"SoQuyetDinh": decision, "NgayQuyetDinh": date, "CoQuanThiHanhAn": OFFICE,
                "SoTaiKhoan": account.account_number, "SoTien": str(amount)}
    if urgent is not None:
        children["KhanCap"] = "true" if urgent else "false"
    return bank_request("PhongToaTaiKhoan", **children)


def release_request(account_number: str, decision: str, release: str) -> etree._Element:
    return bank_request("GiaiToaTaiKhoan", SoQuyetDinh=decision, SoTaiKhoan=account_number,
                        SoQuyetDinhGiaiToa=release, NgayQuyetDinhGiaiToa="22/11/2026")


def account_row(client: BankClient, account: Account) -> etree._Element:
    body = client.call(bank_request("TraCuuTaiKhoan", SoDinhDanh=account.owner_id)
                       if len(account.owner_id) == 12 else
                       bank_request("TraCuuTaiKhoan", MaSoThue=account.owner_id)).body
    rows = [r for r in body.findall(q("TaiKhoan")) if r.findtext(q("SoTaiKhoan")) == account.account_number]
    assert len(rows) == 1
    return rows[0]


def refusal_code(answer: Answer) -> str:
    assert answer.body.find(q("BienNhan")) is None
    assert answer.body.findtext(path("TuChoi", "MoTaLoi"))
    return answer.body.findtext(path("TuChoi", "MaLoi")) or ""


# --- the contract ------------------------------------------------------------------------------------
def test_zeep_loads_the_contract_from_the_bank_only(client: BankClient, served: ServedApp) -> None:
    own = f"{served.url}/banks/{MAIN}"
    assert set(client.transport.loaded) == {
        f"{own}?wsdl", f"{own}/contracts/thads-envelope-1.xsd", f"{own}/contracts/xmldsig-core-schema.xsd",
        f"{own}/contracts/ngan-hang.xsd"}
    service = client.zeep.service
    assert isinstance(service._binding, Soap12Binding)
    assert service._binding_options["address"] == own
    assert set(service._binding._operations) == set(OPERATIONS)
    for name in OPERATIONS:
        op = service._binding._operations[name]
        assert op.soapaction == f"{NS}#{name}"
        assert op.input.body.qname == etree.QName(ENV_NS, "Envelope")
        assert op.output.body.qname == etree.QName(ENV_NS, "Envelope")


def test_every_bank_serves_the_shared_contract_at_its_own_address(served: ServedApp) -> None:
    for b in BINS:
        wsdl = httpx.get(f"{served.url}/banks/{b}?wsdl", timeout=10, follow_redirects=True).text
        assert f'location="{served.url}/banks/{b}"' in wsdl
        assert f'schemaLocation="{served.url}/banks/{b}/contracts/ngan-hang.xsd"' in wsdl
        assert "SANDBOX_BANK_URL" not in wsdl


def test_the_contract_loads_from_disk_and_its_envelope_schemas_are_the_hubs() -> None:
    class NoNetwork(Transport):
        def load(self, url: str) -> bytes:
            assert "://" not in url or url.startswith("file://"), f"zeep tried to load {url}"
            return bytes(super().load(url))

    offline = zeep.Client(str(CONTRACTS / "ngan-hang.wsdl"), transport=NoNetwork(), settings=ZEEP_SETTINGS)
    assert set(offline.service._binding._operations) == set(OPERATIONS)
    assert offline.get_element(f"{{{NS}}}ChiTraHangLoat") is not None
    for name in ("thads-envelope-1.xsd", "xmldsig-core-schema.xsd"):  # copies must not drift
        assert (CONTRACTS / name).read_bytes() == (SCHEMA_DIR / name).read_bytes(), name
    CompiledSchema(BANK_XSD)


# --- account look-up -----------------------------------------------------------------------------------
def test_accounts_of_a_person_and_of_an_organisation(client: BankClient, world: World) -> None:
    person = next(c for c in world.citizens
                  if {a.status for a in world.accounts_of(c.person_id, MAIN)} == {"active", "closed"})
    answer = client.call(bank_request("TraCuuTaiKhoan", SoDinhDanh=person.person_id))
    expected = world.accounts_of(person.person_id, MAIN)
    assert answer.body.findtext(q("SoDinhDanh")) == person.person_id
    assert answer.body.findtext(q("MaNganHang")) == MAIN
    assert answer.body.findtext(q("TongSo")) == str(len(expected))
    rows = {r.findtext(q("SoTaiKhoan")): r for r in answer.body.findall(q("TaiKhoan"))}
    assert set(rows) == {a.account_number for a in expected}
    for account in expected:
        row = rows[account.account_number]
        assert row.findtext(q("TenChuTaiKhoan")) == upper_ascii(person.full_name)
        assert row.findtext(q("TrangThai")) == ("HOAT_DONG" if account.status == "active" else "DONG")
        assert row.findtext(q("SoDu")) == str(account.balance_vnd)
        assert row.findtext(q("ThoiDiemSoDu"))
    assert answer.parsed.TongSo == len(expected)  # zeep read the answer against the published schema

    firm = next(o for o in world.organisations if world.accounts_of(o.tax_code, MAIN))
    by_tax = client.call(bank_request("TraCuuTaiKhoan", MaSoThue=firm.tax_code)).body
    assert by_tax.findtext(q("MaSoThue")) == firm.tax_code
    assert texts(by_tax, "nh:TaiKhoan/nh:SoTaiKhoan/text()") == [a.account_number
                                                                 for a in world.accounts_of(firm.tax_code, MAIN)]

    nobody = next(c for c in world.citizens if not world.accounts_of(c.person_id, MAIN))
    empty = client.call(bank_request("TraCuuTaiKhoan", SoDinhDanh=nobody.person_id)).body
    assert empty.findtext(q("TongSo")) == "0" and empty.findall(q("TaiKhoan")) == []


# --- freeze and release -----------------------------------------------------------------------------------
def test_a_freeze_asked_twice_is_one_freeze_and_shows_in_the_look_up(
        client: BankClient, accounts: Accounts, served: ServedApp) -> None:
    account, decision = accounts.take(min_balance=10_000_000), unique_decision()
    amount = account.balance_vnd // 2

    first = client.call(freeze_request(account, decision, amount))
    receipt = first.body.find(q("BienNhan"))
    assert receipt is not None
    assert receipt.findtext(q("SoTienDaPhongToa")) == str(amount)
    assert receipt.findtext(q("TrangThai")) == "PHONG_TOA_DU"
    assert receipt.findtext(q("TenChuTaiKhoan")) == account.holder_name
    assert receipt.find(q("HanBoSungQuyetDinh")) is None
    transaction = receipt.findtext(q("MaGiaoDich")) or ""
    assert transaction.startswith(f"PT{MAIN}")

    again = client.call(freeze_request(account, decision, amount))
    assert etree.tostring(again.body, method="c14n") == etree.tostring(first.body, method="c14n")
    assert len(effects(served, MAIN, "freeze_applied", decision=decision)) == 1

    row = account_row(client, account)
    assert row.findtext(q("SoTienDangPhongToa")) == str(amount)
    assert row.findtext(q("SoDuKhaDung")) == str(account.balance_vnd - amount)
    assert texts(row, "nh:PhongToa/nh:SoQuyetDinh/text()") == [decision]


def test_a_freeze_is_capped_by_the_available_balance_and_released(
        client: BankClient, accounts: Accounts, served: ServedApp) -> None:
    account = accounts.take(min_balance=1_000_000)
    first, second, release = unique_decision(), unique_decision(), unique_decision("QĐ-GTPT")

    capped = client.call(freeze_request(account, first, account.balance_vnd + 5_000_000)).body
    assert capped.findtext(path("BienNhan", "SoTienYeuCau")) == str(account.balance_vnd + 5_000_000)
    assert capped.findtext(path("BienNhan", "SoTienDaPhongToa")) == str(account.balance_vnd)
    assert capped.findtext(path("BienNhan", "TrangThai")) == "PHONG_TOA_MOT_PHAN"
    # a second decision finds nothing left to hold
    nothing = client.call(freeze_request(account, second, 1_000_000)).body
    assert nothing.findtext(path("BienNhan", "SoTienDaPhongToa")) == "0"
    row = account_row(client, account)
    assert row.findtext(q("SoTienDangPhongToa")) == str(account.balance_vnd)
    assert row.findtext(q("SoDuKhaDung")) == "0"

    released = client.call(release_request(account.account_number, first, release)).body
    assert released.findtext(path("BienNhan", "TrangThai")) == "DA_GIAI_TOA"
    assert released.findtext(path("BienNhan", "SoTienDaGiaiToa")) == str(account.balance_vnd)
    assert released.findtext(path("BienNhan", "MaGiaoDichPhongToa")) == capped.findtext(path("BienNhan", "MaGiaoDich"))
    assert (released.findtext(path("BienNhan", "MaGiaoDich")) or "").startswith(f"GT{MAIN}")
    again = client.call(release_request(account.account_number, first, release)).body
    assert etree.tostring(again, method="c14n") == etree.tostring(released, method="c14n")
    assert len(effects(served, MAIN, "freeze_released", decision=first)) == 1
    row = account_row(client, account)
    assert row.findtext(q("SoTienDangPhongToa")) == "0"
    assert texts(row, "nh:PhongToa/nh:SoQuyetDinh/text()") == [second]
    # the first receipt, asked again, now tells the freeze's state
    late = client.call(freeze_request(account, first, account.balance_vnd + 5_000_000)).body
    assert late.findtext(path("BienNhan", "TrangThai")) == "DA_GIAI_TOA"
    assert len(effects(served, MAIN, "freeze_applied", decision=first)) == 1


def test_an_urgent_freeze_states_the_deadline_for_the_decision(client: BankClient, accounts: Accounts) -> None:
    account = accounts.take(min_balance=1_000_000)
    receipt = client.call(freeze_request(account, unique_decision("BB-THADS"), 500_000, urgent=True)).body
    assert receipt.findtext(path("BienNhan", "KhanCap")) == "true"
    done = dt.datetime.strptime(receipt.findtext(path("BienNhan", "ThoiGianThucHien")) or "", "%d/%m/%Y %H:%M:%S")
    deadline = dt.datetime.strptime(receipt.findtext(path("BienNhan", "HanBoSungQuyetDinh")) or "",
                                    "%d/%m/%Y %H:%M:%S")
    assert deadline - done == dt.timedelta(hours=24)


def test_business_refusals_are_signed_answers_not_faults(client: BankClient, accounts: Accounts,
                                                         world: World, served: ServedApp) -> None:
    closed, account, decision = accounts.take(status="closed"), accounts.take(min_balance=1), unique_decision()
    unknown = next(n for n in (f"{i:013d}" for i in range(1, 1000)) if world.account(MAIN, n) is None)

    assert refusal_code(client.call(freeze_request(closed, decision, 1_000))) == "TAI_KHOAN_DA_DONG"
    assert refusal_code(client.call(bank_request(
        "PhongToaTaiKhoan", SoQuyetDinh=decision, NgayQuyetDinh="20/11/2026", CoQuanThiHanhAn=OFFICE,
        SoTaiKhoan=unknown, SoTien="1000"))) == "KHONG_TIM_THAY_TAI_KHOAN"
    assert refusal_code(client.call(release_request(account.account_number, decision, unique_decision()))) \
        == "KHONG_TIM_THAY_PHONG_TOA"

    client.call(freeze_request(account, decision, 1_000))
    assert refusal_code(client.call(freeze_request(account, decision, 2_000))) == "TRUNG_SO_QUYET_DINH"
    client.call(release_request(account.account_number, decision, unique_decision()))
    assert refusal_code(client.call(release_request(account.account_number, decision, unique_decision()))) \
        == "DA_GIAI_TOA_THEO_QUYET_DINH_KHAC"
    assert effects(served, MAIN, "freeze_applied", account_number=closed.account_number) == []
    assert len(effects(served, MAIN, "freeze_applied", decision=decision)) == 1


# --- bulk payout ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    end_to_end_id: str
    amount: int
    bank_bin: str
    account_number: str
    name: str
    expected: str  # ACSC or the reason code


def plan_payout(world: World, count: int, seed: int) -> list[Planned]:
    """``count`` transfers to the world's accounts at every bank: mostly good, some to closed accounts, some
    with another person's name, some to accounts that do not exist. Expectations are written here, from the
    world, not by asking the mock."""
    rng = random.Random(seed)
    open_accounts = [a for a in world.accounts if a.status == "active"]
    closed = [a for a in world.accounts if a.status == "closed"]
    planned = []
    for n in range(count):
        roll = rng.random()
        e2e = f"CT-{seed}-{n:05d}"
        amount = rng.randint(1, 500) * 10_000
        if roll < 0.05:
            a = rng.choice(closed)
            planned.append(Planned(e2e, amount, a.bank_bin, a.account_number, a.holder_name, "AC04"))
        elif roll < 0.10:
            a = rng.choice(open_accounts)
            other = next(b for b in rng.sample(open_accounts, 10) if b.holder_name != a.holder_name)
            planned.append(Planned(e2e, amount, a.bank_bin, a.account_number, other.holder_name, "BE01"))
        elif roll < 0.13:
            b = rng.choice(BINS)
            number = f"{rng.randrange(10**12):013d}"  # a leading zero: no world account starts with one
            planned.append(Planned(e2e, amount, b, number, "NGUYEN VAN KHONG CO", "AC01"))
        else:
            a = rng.choice(open_accounts)
            # the hub may write the name with its diacritics: the bank folds before comparing
            citizen = world.citizen(a.owner_id)
            name = citizen.full_name if citizen is not None and rng.random() < 0.5 else a.holder_name
            planned.append(Planned(e2e, amount, a.bank_bin, a.account_number, name, "ACSC"))
    return planned


def payout_request(msg_id: str, planned: list[Planned], *, debtor_account: str = DEFAULT_OFFICE_ACCOUNT,
                   nb_of_txs: int | None = None, ctrl_sum: int | None = None) -> etree._Element:
    root = etree.Element(q("ChiTraHangLoat"), nsmap={"nh": NS})
    doc = etree.SubElement(root, q("CstmrCdtTrfInitn"))

    def sub(parent: etree._Element, *steps: str, text: str | None = None) -> etree._Element:
        el = parent
        for step in steps:
            el = etree.SubElement(el, q(step))
        el.text = text
        return el

    header = sub(doc, "GrpHdr")
    sub(header, "MsgId", text=msg_id)
    sub(header, "CreDtTm", text="2026-11-25T09:30:00+07:00")
    sub(header, "NbOfTxs", text=str(len(planned) if nb_of_txs is None else nb_of_txs))
    sub(header, "CtrlSum", text=str(sum(p.amount for p in planned) if ctrl_sum is None else ctrl_sum))
    sub(header, "InitgPty", "Nm", text=OFFICE)
    pmt = sub(doc, "PmtInf")
    sub(pmt, "PmtInfId", text=f"{msg_id}-1")
    sub(pmt, "PmtMtd", text="TRF")
    sub(pmt, "ReqdExctnDt", "Dt", text="2026-11-25")
    sub(pmt, "Dbtr", "Nm", text=OFFICE)
    sub(pmt, "DbtrAcct", "Id", "Othr", "Id", text=debtor_account)
    sub(pmt, "DbtrAgt", "FinInstnId", "ClrSysMmbId", "MmbId", text=MAIN)
    for p in planned:
        tx = sub(pmt, "CdtTrfTxInf")
        sub(tx, "PmtId", "EndToEndId", text=p.end_to_end_id)
        sub(tx, "Amt", "InstdAmt", text=str(p.amount)).set("Ccy", "VND")
        sub(tx, "CdtrAgt", "FinInstnId", "ClrSysMmbId", "MmbId", text=p.bank_bin)
        sub(tx, "Cdtr", "Nm", text=p.name)
        sub(tx, "CdtrAcct", "Id", "Othr", "Id", text=p.account_number)
        sub(tx, "RmtInf", "Ustrd", text="Chi tra tien thi hanh an theo QD 15/QD-CCTHADS")
    return root


def statuses(body: etree._Element) -> list[tuple[str, str]]:
    """(EndToEndId, ACSC or the reason code) for every TxInfAndSts, in the report's order."""
    out = []
    for tx in body.iter(q("TxInfAndSts")):
        status = tx.findtext(q("TxSts")) or ""
        reason = tx.findtext(path("StsRsnInf", "Rsn", "Cd"))
        assert (status == "RJCT") == (reason is not None)
        out.append((tx.findtext(q("OrgnlEndToEndId")) or "", reason or status))
    return out


def test_a_payout_of_2000_transfers_accounts_for_every_one_and_is_idempotent(
        client: BankClient, world: World, served: ServedApp) -> None:
    planned = plan_payout(world, 2000, seed=1)
    expected = Counter(p.expected for p in planned)
    assert all(expected[c] > 20 for c in ("AC01", "AC04", "BE01"))
    msg_id = f"THADS-{uuid.uuid4().hex[:20]}"

    first = client.call(payout_request(msg_id, planned))
    report = first.body.find(q("CstmrPmtStsRpt"))
    assert report is not None
    assert report.findtext(path("OrgnlGrpInfAndSts", "OrgnlMsgId")) == msg_id
    assert report.findtext(path("OrgnlGrpInfAndSts", "OrgnlNbOfTxs")) == "2000"
    assert report.findtext(path("OrgnlGrpInfAndSts", "GrpSts")) == "PART"
    assert statuses(first.body) == [(p.end_to_end_id, p.expected) for p in planned]
    per_status = {r.findtext(q("DtldSts")): (int(r.findtext(q("DtldNbOfTxs")) or 0),
                                             int(r.findtext(q("DtldCtrlSum")) or 0))
                  for r in report.iterfind(path("OrgnlGrpInfAndSts", "NbOfTxsPerSts"))}
    settled = [p for p in planned if p.expected == "ACSC"]
    assert per_status["ACSC"] == (len(settled), sum(p.amount for p in settled))
    assert per_status["RJCT"][0] == 2000 - len(settled)
    references = texts(first.body, "//nh:TxInfAndSts[nh:TxSts='ACSC']/nh:AcctSvcrRef/text()")
    assert len(set(references)) == len(settled)

    again = client.call(payout_request(msg_id, planned))
    assert etree.tostring(again.body, method="c14n") == etree.tostring(first.body, method="c14n")
    recorded = effects(served, MAIN, "payout_batch", msg_id=msg_id)
    assert len(recorded) == 1
    assert recorded[0]["settled"] == len(settled)
    assert recorded[0]["reasons"] == {c: n for c, n in expected.items() if c != "ACSC"}


def test_a_payout_credits_accounts_at_the_same_bank(client: BankClient, accounts: Accounts) -> None:
    account = accounts.take()
    before = int(account_row(client, account).findtext(q("SoDu")) or "")  # other payouts may have paid it too
    planned = [Planned("CREDIT-1", 1_250_000, MAIN, account.account_number, account.holder_name, "ACSC")]
    client.call(payout_request(f"THADS-{uuid.uuid4().hex[:20]}", planned))
    assert account_row(client, account).findtext(q("SoDu")) == str(before + 1_250_000)


@pytest.mark.parametrize(("change", "code"), [
    ({"nb_of_txs": 4}, "AM18"), ({"ctrl_sum": 1}, "AM10"), ({"debtor_account": "0071000000000"}, "AC02"),
], ids=["count", "control-sum", "debtor-account"])
def test_a_payout_that_does_not_add_up_is_rejected_whole(client: BankClient, world: World,
                                                         change: dict[str, Any], code: str) -> None:
    planned = [p for p in plan_payout(world, 40, seed=2) if p.expected == "ACSC"][:5]
    body = client.call(payout_request(f"THADS-{uuid.uuid4().hex[:20]}", planned, **change)).body
    assert body.findtext(path("CstmrPmtStsRpt", "OrgnlGrpInfAndSts", "GrpSts")) == "RJCT"
    assert statuses(body) == [(p.end_to_end_id, code) for p in planned]


def test_a_message_id_reused_for_other_transfers_is_rejected_as_a_duplicate(
        client: BankClient, world: World, served: ServedApp) -> None:
    planned = [p for p in plan_payout(world, 40, seed=3) if p.expected == "ACSC"]
    msg_id = f"THADS-{uuid.uuid4().hex[:20]}"
    client.call(payout_request(msg_id, planned[:3]))
    body = client.call(payout_request(msg_id, planned[3:6])).body
    assert body.findtext(path("CstmrPmtStsRpt", "OrgnlGrpInfAndSts", "GrpSts")) == "RJCT"
    assert body.findtext(path("CstmrPmtStsRpt", "OrgnlGrpInfAndSts", "StsRsnInf", "Rsn", "Cd")) == "DU01"
    assert statuses(body) == [(p.end_to_end_id, "DU01") for p in planned[3:6]]
    assert len(effects(served, MAIN, "payout_batch", msg_id=msg_id)) == 1


def test_duplicate_end_to_end_ids_are_a_schema_fault(client: BankClient, world: World, served: ServedApp) -> None:
    planned = [p for p in plan_payout(world, 20, seed=4) if p.expected == "ACSC"][:2]
    twins = [planned[0], Planned(planned[0].end_to_end_id, *[getattr(planned[1], f) for f in
                                                              ("amount", "bank_bin", "account_number", "name",
                                                               "expected")])]
    response = post_soap(served, soap_envelope.wrap(client.signed(payout_request("THADS-twins", twins))))
    assert response.status_code == 400
    fault = parse_xml(response.content).find(f".//{{{soap_envelope.SOAP12}}}Subcode/{{{soap_envelope.SOAP12}}}Value")
    assert fault is not None and fault.text == "thads:SCHEMA_INVALID"


# --- signatures: each bank its own key ---------------------------------------------------------------------
def _certificate_der(answer: bytes) -> bytes:
    cert = soap_envelope.unwrap(answer).findtext(f".//{{{DS}}}X509Certificate") or ""
    return base64.b64decode("".join(cert.split()))


def test_each_bank_signs_with_its_own_key(clients: dict[str, BankClient], world: World, key_dir: Path) -> None:
    pems = {b: load_cert(key_dir / f"bank-{b}.pem").public_bytes(Encoding.DER) for b in BINS}
    assert len(set(pems.values())) == 3
    for b, bank_client in clients.items():
        owner = next(a.owner_id for a in world.accounts if a.bank_bin == b)
        answer = bank_client.call(bank_request("TraCuuTaiKhoan", SoDinhDanh=owner)
                                  if len(owner) == 12 else bank_request("TraCuuTaiKhoan", MaSoThue=owner))
        assert answer.verified.signer == f"bank-{b}"
        assert answer.body.findtext(q("MaNganHang")) == b
        assert bank_client.transport.last_answer is not None
        carried = _certificate_der(bank_client.transport.last_answer)
        assert carried == pems[b]
        assert all(carried != pems[other] for other in BINS if other != b)


def test_answers_verify_in_xmlsec1(clients: dict[str, BankClient], accounts: Accounts, key_dir: Path,
                                   tmp_path: Path) -> None:
    xmlsec1 = shutil.which("xmlsec1")
    assert xmlsec1, "xmlsec1 is not installed (Debian: apt-get install xmlsec1)"
    bidv = clients["970418"]
    account = accounts.take("970418", min_balance=1)
    bidv.call(freeze_request(account, unique_decision(), 1))
    assert bidv.transport.last_answer is not None
    answer = tmp_path / "answer.xml"
    answer.write_bytes(etree.tostring(soap_envelope.unwrap(bidv.transport.last_answer), xml_declaration=True,
                                      encoding="UTF-8"))
    run = subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(key_dir / "ca.pem"), str(answer)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(answer.read_bytes().replace(b"<nh:SoTienDaPhongToa>1<", b"<nh:SoTienDaPhongToa>9<"))
    assert tampered.read_bytes() != answer.read_bytes()
    run = subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(key_dir / "ca.pem"), str(tampered)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0


def test_only_the_hub_may_call_a_bank(client: BankClient, world: World, key_dir: Path, served: ServedApp) -> None:
    other_bank = EnvelopeSigner.from_key_dir(key_dir, "bank-970418")
    owner = next(a.owner_id for a in world.accounts if a.bank_bin == MAIN and len(a.owner_id) == 12)
    signed = client.signed(bank_request("TraCuuTaiKhoan", SoDinhDanh=owner), signer=other_bank,
                           from_agency="bank-970418")
    response = post_soap(served, soap_envelope.wrap(signed))
    assert response.status_code == 400
    root = parse_xml(response.content)
    assert root.findtext(f".//{{{soap_envelope.SOAP12}}}Subcode/{{{soap_envelope.SOAP12}}}Value") \
        == "thads:CERT_WRONG_AGENCY"
    # a request addressed to another bank is refused too, even when the hub signed it
    misaddressed = client.signed(bank_request("TraCuuTaiKhoan", SoDinhDanh=owner))  # To: bank-970436
    response = post_soap(served, soap_envelope.wrap(misaddressed), bank_bin="970405")
    assert response.status_code == 400
    assert parse_xml(response.content).findtext(
        f".//{{{soap_envelope.SOAP12}}}Subcode/{{{soap_envelope.SOAP12}}}Value") == "thads:REQUEST_INVALID"
