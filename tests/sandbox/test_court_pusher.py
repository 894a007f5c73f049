"""The court pushing judgments to a stand-in for the hub's SubmitJudgment (court-submit.wsdl).

The hub's endpoint comes in a later issue; here a small FastAPI app at ``/soap/court`` plays it as the
contract says: it unwraps the SOAP message, verifies the court's signature, validates the judgment
against the court's XSD, remembers MessageIds and answers a receipt signed with the hub's key,
TRUNG_LAP (with the first MaTiepNhan) for a message it already took in.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
from fastapi import FastAPI, Request
from fastapi.responses import Response
from lxml import etree
from zeep.transports import Transport

from adapters import soap_envelope
from adapters.envelope import NS as ENV_NS
from adapters.envelope import EnvelopeFields, EnvelopeSigner, EnvelopeVerifier, build_envelope, canonical_hash
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from adapters.xsd import CompiledSchema
from hub.agency_ids import sandbox_agencies
from hub.trust.pki_init import init_pki
from sandbox_mocks.court import judgment_push_items, soap_sender
from sandbox_mocks.framework.pusher import Ack, PushItem, PushReport, push
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import ServedApp
from tests.sandbox.test_land_mock import ZEEP_SETTINGS, PresignedEnvelope

NS = "urn:vn:gov:toaan:banan:1"
CONTRACTS = Path(__file__).resolve().parents[2] / "mappings" / "court" / "contracts"
COURT_XSD = CONTRACTS / "court-judgments.xsd"
VN_TIME = dt.timezone(dt.timedelta(hours=7))


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


class HubStandIn:
    """The hub's SubmitJudgment as court-submit.wsdl describes it, with a ``mode`` to misbehave on purpose."""

    def __init__(self, key_dir: Path) -> None:
        self.verifier = EnvelopeVerifier(TrustStore.load(key_dir))
        self.signer = EnvelopeSigner.from_key_dir(key_dir, "hub")
        self.schema = CompiledSchema.load(COURT_XSD)
        self.mode = "ok"
        self.raw: list[bytes] = []  # every request body, as received
        self.documents: dict[str, bytes] = {}  # MessageId -> the verified BanAn, canonical
        self.receipts: dict[str, tuple[str, str]] = {}  # MessageId -> (MaTiepNhan, ThoiGian) of the first receipt
        self._numbers = itertools.count(1)
        self.app = FastAPI()
        self.app.add_api_route("/soap/court", self.submit, methods=["POST"])

    def reset(self) -> None:
        self.mode = "ok"
        self.raw.clear()
        self.documents.clear()
        self.receipts.clear()
        self._numbers = itertools.count(1)

    @staticmethod
    def _soap(data: bytes, status: int = 200) -> Response:
        return Response(data, status_code=status, media_type=soap_envelope.CONTENT_TYPE)

    async def submit(self, request: Request) -> Response:
        body = await request.body()
        self.raw.append(body)
        if self.mode == "down":
            return Response("upstream connect error", status_code=503, media_type="text/plain")
        if self.mode == "replay":
            return self._soap(soap_envelope.fault("REPLAY", "message id already seen", rule="message_id"), 409)
        try:
            verified = self.verifier.verify(etree.tostring(soap_envelope.unwrap(body)), expected_to="hub")
            if verified.signer != "court":
                raise Refusal(f"{verified.signer} may not submit judgments", code="CERT_WRONG_AGENCY", rule="caller")
            if verified.body.tag != q("BanAn"):
                raise Refusal("the Body must hold ba:BanAn", code="SCHEMA_INVALID", rule="document")
            self.schema.validate(verified.body)
        except Refusal as exc:
            return self._soap(soap_envelope.fault(exc.code, exc.detail, rule=exc.rule), 400)
        message_id = verified.header.message_id
        first = self.receipts.get(message_id)
        state = "TRUNG_LAP" if first else "DA_TIEP_NHAN"
        if first is None:
            at = dt.datetime.now(VN_TIME).strftime("%d/%m/%Y %H:%M:%S")
            first = self.receipts[message_id] = (f"TN-{next(self._numbers):06d}", at)
            self.documents[message_id] = etree.tostring(verified.body, method="c14n", exclusive=True)
        receipt = etree.Element(q("BienNhanBanAn"), nsmap={"ba": NS})
        for local, text in (("SoBanAn", verified.body.findtext(q("SoBanAn"))),
                            ("MaToaAn", verified.body.findtext(f"{q('ToaAn')}/{q('MaToaAn')}")),
                            ("MaTiepNhan", first[0]), ("TrangThai", state), ("ThoiGian", first[1])):
            etree.SubElement(receipt, q(local)).text = text
        now = dt.datetime.now(dt.UTC)
        header = EnvelopeFields(message_id=str(uuid.uuid4()), correlation_id=message_id, from_agency="hub",
                                to_agency="court", service="judgments", operation="SubmitJudgment", created=now,
                                expires=now + dt.timedelta(minutes=5), request_hash=verified.envelope_hash)
        signed = self.signer.sign(build_envelope(header, receipt))
        if self.mode == "tampered":
            signed.find(f".//{q('MaTiepNhan')}").text = "TN-999999"
        return self._soap(soap_envelope.wrap(signed))


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("court-push-pki")
    init_pki(path, sandbox_agencies())
    return path


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, citizens=1000)  # 50 judgments: a push of 40 needs no cycling


@pytest.fixture(scope="module")
def hub(key_dir: Path) -> HubStandIn:
    return HubStandIn(key_dir)


@pytest.fixture(scope="module")
def served(hub: HubStandIn) -> Iterator[ServedApp]:
    with ServedApp(hub.app) as app:
        yield app


@pytest.fixture
def url(served: ServedApp, hub: HubStandIn) -> Iterator[str]:
    hub.reset()
    yield f"{served.url}/soap/court"
    hub.reset()


def run_push(items: list[PushItem], url: str, **kw: Any) -> PushReport:
    async def main() -> PushReport:
        send, close = soap_sender(url, trust=kw.pop("trust", None))
        try:
            return await push(items, send, **kw)
        finally:
            await close()

    return asyncio.run(main())


def send_one(item: PushItem, url: str, trust: TrustStore | None = None) -> Ack:
    async def main() -> Ack:
        send, close = soap_sender(url, trust=trust)
        try:
            return await send(item)
        finally:
            await close()

    return asyncio.run(main())


def message_id(body: bytes) -> str:
    return soap_envelope.unwrap(body).findtext(f"{{{ENV_NS}}}Header/{{{ENV_NS}}}MessageId") or ""


# --- tests ---------------------------------------------------------------------------------------
def test_40_judgments_at_20_per_second_with_repeats(world: World, key_dir: Path, hub: HubStandIn, url: str) -> None:
    items = judgment_push_items(world, key_dir, count=40)
    report = run_push(items, url, trust=TrustStore.load(key_dir), rate_per_s=20, repeat_share=0.2, seed=5)
    summary = report.summary()
    assert summary["originals"] == 40 and summary["repeats"] >= 3, summary
    originals = [o for o in report.outcomes if not o.repeat]
    repeats = [o for o in report.outcomes if o.repeat]
    assert all(o.ack.acknowledged and o.ack.status == 200 for o in originals), summary
    assert all(not o.ack.acknowledged and o.ack.code == "DUPLICATE" for o in repeats), summary
    assert summary["not_acknowledged"] == {"DUPLICATE": len(repeats)}
    # a repeat is told the reference of the first receipt
    first_reference = {o.item_id: o.ack.detail for o in originals}
    assert all(o.ack.detail == first_reference[o.item_id] for o in repeats)
    assert len(set(first_reference.values())) == 40
    assert abs(summary["achieved_rate_per_s"] - 20) / 20 <= 0.2, summary

    # the hub received exactly what the pusher prepared, byte for byte, repeats included
    prepared = {item.item_id: item.body for item in items}
    assert len(hub.raw) == summary["sent"]
    for body in hub.raw:
        assert body == prepared[message_id(body)]
    # and each judgment document is the world's judgment, once per judgment
    received = {mid: etree.fromstring(doc) for mid, doc in hub.documents.items()}
    assert set(received) == set(prepared)
    assert sorted(doc.findtext(q("SoBanAn")) or "" for doc in received.values()) == \
        sorted(j.number for j in world.judgments[:40])
    for item in items:
        sent_doc = soap_envelope.unwrap(item.body).find(f"{{{ENV_NS}}}Body")[0]
        assert canonical_hash(sent_doc) == canonical_hash(received[item.item_id])


def test_items_are_court_signed_submit_judgment_messages_cycling_through_the_world(world: World,
                                                                                    key_dir: Path) -> None:
    count, start = len(world.judgments) + 3, 2
    items = judgment_push_items(world, key_dir, count=count, start=start)
    assert len(items) == count and len({i.item_id for i in items}) == count
    verifier = EnvelopeVerifier(TrustStore.load(key_dir))
    schema = CompiledSchema.load(COURT_XSD)
    numbers = []
    for item in items:
        assert item.content_type.startswith("application/soap+xml")
        assert f'action="{NS}#SubmitJudgment"' in item.content_type
        verified = verifier.verify(etree.tostring(soap_envelope.unwrap(item.body)), expected_to="hub")
        header = verified.header
        assert (verified.signer, header.service, header.operation) == ("court", "judgments", "SubmitJudgment")
        assert header.message_id == item.item_id and header.correlation_id is None
        schema.validate(verified.body)
        numbers.append(verified.body.findtext(q("SoBanAn")))
    judgments = world.judgments
    assert numbers == [judgments[(start + i) % len(judgments)].number for i in range(count)]
    assert judgment_push_items(world, key_dir, count=0) == []


def test_what_the_sender_makes_of_each_answer(world: World, key_dir: Path, hub: HubStandIn, url: str) -> None:
    trust = TrustStore.load(key_dir)
    item, other = judgment_push_items(world, key_dir, count=2)
    assert send_one(item, url, trust) == Ack(status=200, acknowledged=True, detail="TN-000001")
    assert send_one(item, url, trust) == Ack(status=200, acknowledged=False, code="DUPLICATE", detail="TN-000001")

    hub.mode = "replay"  # a SOAP Fault: its Subcode's registry code
    ack = send_one(other, url, trust)
    assert (ack.status, ack.acknowledged, ack.code) == (409, False, "REPLAY")

    hub.mode = "down"  # not SOAP at all: the HTTP status is the news
    ack = send_one(other, url, trust)
    assert (ack.status, ack.acknowledged, ack.code) == (503, False, None)
    report = run_push([other], url, rate_per_s=50)
    assert report.summary()["not_acknowledged"] == {"HTTP 503": 1}

    hub.mode = "tampered"  # a receipt edited after the hub signed it
    ack = send_one(other, url, trust)
    assert (ack.acknowledged, ack.code) == (False, "SIGNATURE_INVALID")
    assert send_one(other, url, None).code == "DUPLICATE"  # without a trust store it is only read

    hub.mode = "ok"  # the hub refuses a judgment edited after the court signed it
    forged = soap_envelope.unwrap(other.body)
    forged.find(f".//{q('SoBanAn')}").text = "1/2025/DS-ST"
    ack = send_one(PushItem("forged", soap_envelope.wrap(forged), other.content_type), url, trust)
    assert (ack.status, ack.acknowledged, ack.code) == (400, False, "SIGNATURE_INVALID")


def test_a_receipt_for_another_message_is_not_an_acknowledgment(world: World, key_dir: Path, url: str) -> None:
    item, other = judgment_push_items(world, key_dir, count=2)
    # the hub's answer to ``item`` read as if it answered ``other``: CorrelationId and RequestHash disagree
    ack = send_one(PushItem(other.item_id, item.body, item.content_type), url, TrustStore.load(key_dir))
    assert (ack.acknowledged, ack.code) == (False, "AGENCY_INVALID_RESPONSE")


def test_zeep_speaks_the_submit_contract_to_the_stand_in(world: World, key_dir: Path, url: str) -> None:
    """court-submit.wsdl is enough for an outside SOAP client to push a judgment and read the receipt."""

    class LocalContract(Transport):
        def load(self, address: str) -> bytes:
            assert "://" not in address or address.startswith("file://"), f"zeep tried to load {address}"
            return bytes(super().load(address))

    plugin = PresignedEnvelope()
    client = zeep.Client(str(CONTRACTS / "court-submit.wsdl"), transport=LocalContract(), plugins=[plugin],
                         settings=ZEEP_SETTINGS)
    service = client.create_service(f"{{{NS}}}TiepNhanBanAnSoap12Binding", url)
    item = judgment_push_items(world, key_dir, count=1)[0]
    signed = soap_envelope.unwrap(item.body)
    plugin.signed = signed
    header = {etree.QName(e).localname: e.text for e in signed.find(f"{{{ENV_NS}}}Header")}
    result = service.SubmitJudgment(Header=header,
                                    Body={"_value_1": copy.deepcopy(signed.find(f"{{{ENV_NS}}}Body")[0])})
    assert result.Header.From == "hub" and result.Header.CorrelationId == item.item_id
    receipt = result.Body._value_1
    assert (receipt.SoBanAn, receipt.TrangThai) == (world.judgments[0].number, "DA_TIEP_NHAN")
    assert receipt.MaToaAn == world.judgments[0].court_code
