"""Events a sandbox bank pushes, received by a stand-in for the hub's ``/v1/inbound/banks/{bin}/events``
that does what the hub must do: verify the bank's signature against the trust store, check the signer is
the bank of the path, validate the event against the published contract, and answer 202."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import EnvelopeFields, EnvelopeSigner, EnvelopeVerifier, VerifiedEnvelope, build_envelope
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from adapters.xsd import CompiledSchema
from sandbox_mocks.bank import DEFAULT_OFFICE_ACCOUNT, EVENTS_PATH, BankMock, transfer_push_items, xml_sender
from sandbox_mocks.bank.events import credit_advice, payment_reference
from sandbox_mocks.framework.callbacks import RetryPolicy
from sandbox_mocks.framework.pusher import PushItem, push
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import ServedApp
from tests.sandbox.test_population_mock import make_key_dir, serve

NS = "urn:vn:napas:thads:nganhang:1"
BANK_XSD = Path(__file__).resolve().parents[2] / "mappings" / "bank" / "contracts" / "ngan-hang.xsd"
BIN = "970436"
REFERENCE = re.compile(r"^THA [0-9]+/QD-THADS THADS-[0-9]{2}-[0-9]{4}-[0-9]{4}$")


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


@dataclass
class Received:
    bank_bin: str
    verified: VerifiedEnvelope
    at: float


class Receiver:
    """The hub's bank-event endpoint, reduced to its checks."""

    def __init__(self, key_dir: Path) -> None:
        self.verifier = EnvelopeVerifier(TrustStore.load(key_dir))
        self.xsd = CompiledSchema.load(BANK_XSD)
        self.got: list[Received] = []
        self.refused: list[str] = []
        self.app = FastAPI()

        @self.app.post(EVENTS_PATH.replace("{bin}", "{bank_bin}"))
        async def events(bank_bin: str, request: Request) -> Response:
            try:
                if request.headers.get("content-type") != "application/xml":
                    raise Refusal("bank events are application/xml", code="UNSUPPORTED_MEDIA_TYPE")
                verified = self.verifier.verify(await request.body(), expected_to="hub")
                if verified.signer != f"bank-{bank_bin}":
                    raise Refusal(f"{verified.signer} posted to bank {bank_bin}", code="CERT_WRONG_AGENCY")
                self.xsd.validate(verified.body)
            except Refusal as exc:
                self.refused.append(exc.code)
                return JSONResponse({"type": f"urn:thads:problem:{exc.code}", "code": exc.code, "detail": exc.detail},
                                    status_code=400, media_type="application/problem+json")
            self.got.append(Received(bank_bin, verified, time.perf_counter()))
            return Response(status_code=202)

    def wait_for(self, n: int, timeout_s: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.got)


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, citizens=500)


@pytest.fixture
def receiver(key_dir: Path) -> Iterator[tuple[Receiver, ServedApp]]:
    hub = Receiver(key_dir)
    with ServedApp(hub.app) as served:
        yield hub, served


def events_url(served: ServedApp, bank_bin: str = BIN) -> str:
    return served.url + EVENTS_PATH.format(bin=bank_bin)


def hub_freeze(key_dir: Path, account_number: str, decision: str, amount: int) -> tuple[str, bytes]:
    """A hub-signed freeze request as SOAP bytes, and its MessageId."""
    business = etree.Element(q("PhongToaTaiKhoan"), nsmap={"nh": NS})
    for name, text in (("SoQuyetDinh", decision), ("NgayQuyetDinh", "20/11/2026"),
                       ("CoQuanThiHanhAn", "Thi hành án dân sự tỉnh Đồng Tháp"), ("SoTaiKhoan", account_number),
                       ("SoTien", str(amount))):
        etree.SubElement(business, q(name)).text = text
    now = dt.datetime.now(dt.UTC)
    header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency="hub", to_agency=f"bank-{BIN}",
                            service="bank", operation="PhongToaTaiKhoan", created=now,
                            expires=now + dt.timedelta(minutes=5), case_ref="THADS-82-2026-0007")
    signed = EnvelopeSigner.from_key_dir(key_dir, "hub").sign(build_envelope(header, business))
    return header.message_id, soap_envelope.wrap(signed)


def post_freeze(bank_url: str, data: bytes) -> etree._Element:
    response = httpx.post(f"{bank_url}/banks/{BIN}", content=data, timeout=10, follow_redirects=True,
                          headers={"Content-Type": soap_envelope.CONTENT_TYPE})
    assert response.status_code == 200, response.text
    answer = soap_envelope.unwrap(response.content)
    receipt = answer.find(f".//{q('BienNhan')}")
    assert receipt is not None
    return receipt


def recorder(bank_url: str) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{bank_url}/banks/{BIN}/_admin/recorder", timeout=10).json()
    return result


# --- freeze confirmations ----------------------------------------------------------------------------
def test_a_freeze_is_confirmed_once_by_a_bank_signed_event(
        receiver: tuple[Receiver, ServedApp], world: World, key_dir: Path) -> None:
    hub, hub_served = receiver
    bank = BankMock(bank_bin=BIN, world=world, key_dir=key_dir, events_url=events_url(hub_served))
    account = next(a for a in world.accounts if a.bank_bin == BIN and a.status == "active" and a.balance_vnd > 0)
    decision = "41/QĐ-CCTHADS"
    with serve(bank) as (bank_served, _):
        message_id, data = hub_freeze(key_dir, account.account_number, decision, 1_000)
        receipt = post_freeze(bank_served.url, data)
        got = hub.wait_for(1)
        assert len(got) == 1 and hub.refused == []
        event = got[0]
        assert event.bank_bin == BIN and event.verified.signer == f"bank-{BIN}"
        assert event.verified.header.operation == "XacNhanPhongToa"
        assert event.verified.header.correlation_id == message_id  # the freeze request it confirms
        assert event.verified.header.case_ref == "THADS-82-2026-0007"
        body = event.verified.body
        assert etree.QName(body) == etree.QName(NS, "XacNhanPhongToa")
        assert body.findtext(q("MaNganHang")) == BIN
        confirmed = body.find(q("BienNhan"))
        assert confirmed is not None
        for name in ("MaGiaoDich", "SoQuyetDinh", "SoTaiKhoan", "SoTienDaPhongToa", "TrangThai"):
            assert confirmed.findtext(q(name)) == receipt.findtext(q(name)), name

        # the same freeze again: the same receipt, and nothing new to confirm
        _, again = hub_freeze(key_dir, account.account_number, decision, 1_000)
        assert post_freeze(bank_served.url, again).findtext(q("MaGiaoDich")) == receipt.findtext(q("MaGiaoDich"))
        time.sleep(0.3)
        assert len(hub.got) == 1
        attempts = [e for e in recorder(bank_served.url)["effects"] if e["kind"] == "callback_attempt"]
        assert [(a["status"], a["outcome"]) for a in attempts] == [(202, "delivered")]


def test_an_unsigned_confirmation_is_refused_by_the_receiver_and_recorded(
        receiver: tuple[Receiver, ServedApp], world: World, key_dir: Path) -> None:
    hub, hub_served = receiver
    bank = BankMock(bank_bin=BIN, world=world, key_dir=key_dir, events_url=events_url(hub_served),
                    retry=RetryPolicy(max_attempts=2, backoff_s=0.01))
    account = next(a for a in world.accounts if a.bank_bin == BIN and a.status == "active")
    with serve(bank) as (bank_served, _):
        _, data = hub_freeze(key_dir, account.account_number, "42/QĐ-CCTHADS", 1_000)
        post_freeze(bank_served.url, data)  # the answer itself is signed: the fault is set afterwards
        httpx.put(f"{bank_served.url}/banks/{BIN}/_admin/faults", json={"unsigned_rate": 1},
                  timeout=10).raise_for_status()
        _, data = hub_freeze(key_dir, account.account_number, "43/QĐ-CCTHADS", 1_000)
        httpx.post(f"{bank_served.url}/banks/{BIN}", content=data, timeout=10, follow_redirects=True,
                   headers={"Content-Type": soap_envelope.CONTENT_TYPE})
        deadline = time.monotonic() + 5
        while not hub.refused and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hub.refused == ["SIGNATURE_INVALID"]
        assert len(hub.wait_for(1)) == 1
        time.sleep(0.1)
        attempts = [e for e in recorder(bank_served.url)["effects"] if e["kind"] == "callback_attempt"]
        assert [(a["status"], a["outcome"]) for a in attempts] == [(202, "delivered"), (400, "refused")]


def test_a_bank_without_an_events_url_pushes_nothing(world: World, key_dir: Path) -> None:
    bank = BankMock(bank_bin=BIN, world=world, key_dir=key_dir)
    account = next(a for a in world.accounts if a.bank_bin == BIN and a.status == "active")
    with serve(bank) as (bank_served, _):
        post_freeze(bank_served.url, hub_freeze(key_dir, account.account_number, "44/QĐ-CCTHADS", 1_000)[1])
        assert [e["kind"] for e in recorder(bank_served.url)["effects"]] == ["freeze_applied"]


# --- incoming transfers ----------------------------------------------------------------------------------
def test_thirty_transfers_arrive_at_the_chosen_rate_verified_with_their_reference(
        receiver: tuple[Receiver, ServedApp], world: World, key_dir: Path) -> None:
    hub, hub_served = receiver
    items = transfer_push_items(world, key_dir, BIN, count=30, office_account=DEFAULT_OFFICE_ACCOUNT, seed=3)
    assert len(items) == 30 and len({i.item_id for i in items}) == 30
    sent_notes = {i.item_id: credit_advice(i).findtext(q("NoiDung")) for i in items}

    async def run() -> Any:
        send, close = xml_sender(events_url(hub_served))
        try:
            return await push(items, send, rate_per_s=30)
        finally:
            await close()

    summary = asyncio.run(run()).summary()
    assert summary["acknowledged"] == 30 and summary["not_acknowledged"] == {}
    got = hub.wait_for(30)
    assert len(got) == 30 and hub.refused == []
    span = max(r.at for r in got) - min(r.at for r in got)
    assert abs(29 / span - 30) / 30 < 0.2, span  # the offered rate holds within 20%

    references = {payment_reference(j, n) for n, j in enumerate(world.judgments)}
    for received in got:
        body = received.verified.body
        assert received.verified.signer == f"bank-{BIN}" and received.verified.header.operation == "BaoCo"
        assert etree.QName(body) == etree.QName(NS, "BaoCo")
        note = body.findtext(q("NoiDung")) or ""
        assert note == sent_notes[received.verified.header.message_id]  # the reference arrived intact
        assert REFERENCE.match(note) and note in references
        assert body.findtext(q("SoTaiKhoanNhan")) == DEFAULT_OFFICE_ACCOUNT
        assert int(body.findtext(q("SoTien")) or 0) > 0
        payer = world.account(body.findtext(q("MaNganHangChuyen")) or "", body.findtext(q("SoTaiKhoanChuyen")) or "")
        assert payer is not None and payer.status == "active"
        assert body.findtext(q("TenNguoiChuyen")) == payer.holder_name
        debts = [d for j in world.judgments for d in j.dispositions if d.obligor == payer.owner_id and d.amount_vnd]
        assert debts, "the payer is a judgment debtor"


def test_the_same_seed_gives_the_same_transfers_in_fresh_envelopes(world: World, key_dir: Path) -> None:
    def transfers(seed: int) -> tuple[list[str], list[str]]:
        items = transfer_push_items(world, key_dir, BIN, count=5, office_account=DEFAULT_OFFICE_ACCOUNT, seed=seed)
        return [credit_advice(i).findtext(q("MaGiaoDich")) or "" for i in items], [i.item_id for i in items]

    ids_a, messages_a = transfers(1)
    ids_b, messages_b = transfers(1)
    assert ids_a == ids_b and not set(messages_a) & set(messages_b)
    assert transfers(2)[0] != ids_a


def test_the_sender_reports_the_receivers_refusal_code(
        receiver: tuple[Receiver, ServedApp], world: World, key_dir: Path) -> None:
    _, hub_served = receiver
    good = transfer_push_items(world, key_dir, BIN, count=1, office_account=DEFAULT_OFFICE_ACCOUNT)[0]
    tampered = PushItem("tampered", good.body.replace(b"<nh:SoTien>", b"<nh:SoTien>9"), good.content_type)
    elsewhere = transfer_push_items(world, key_dir, "970418", count=1, office_account=DEFAULT_OFFICE_ACCOUNT)[0]

    async def run() -> Any:
        send, close = xml_sender(events_url(hub_served))  # bank 970436's address, for all three
        try:
            return [await send(item) for item in (good, tampered, elsewhere)]
        finally:
            await close()

    acks = asyncio.run(run())
    assert [(a.status, a.acknowledged, a.code) for a in acks] == [
        (202, True, None), (400, False, "SIGNATURE_INVALID"), (400, False, "CERT_WRONG_AGENCY")]
