"""The procuracy calling the hub: signed protests and recommendations pushed at a chosen rate to a test
receiver that checks what the hub's inbound endpoint will check (the procuracy's signature, the edXML
schema, the case named in both the envelope and the document), and the mock pushing a recommendation
on its own after receiving decisions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree

from adapters.envelope import EnvelopeVerifier, VerifiedEnvelope
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from adapters.xsd import CompiledSchema
from sandbox_mocks.framework.pusher import PushItem, PushReport, push
from sandbox_mocks.procuracy import ProcuracyMock
from sandbox_mocks.procuracy.pusher import action_push_items, world_cases, xml_sender
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import ServedApp
from tests.sandbox.test_population_mock import make_key_dir, serve
from tests.sandbox.test_procuracy_mock import CASE_REF, CONTRACTS, HubSide, decision_xml, document_id_of

EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
INBOUND = "/v1/inbound/procuracy"
NS = {"edXML": EDXML}


@dataclass
class Arrival:
    at: float
    verified: VerifiedEnvelope


class Receiver:
    """The hub's inbound endpoint for the procuracy, reduced to its checks: 202 when accepted, a
    problem+xml for a bad document, a problem+json REPLAY for a MessageId seen before."""

    def __init__(self, key_dir: Path) -> None:
        self.verifier = EnvelopeVerifier(TrustStore.load(key_dir))
        self.edxml = CompiledSchema(CONTRACTS / "edxml-qcvn102-2016.xsd")
        self.arrivals: list[Arrival] = []
        self.seen: set[str] = set()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post(INBOUND)
        async def inbound(request: Request) -> Response:
            at = time.perf_counter()
            try:
                verified = self.verifier.verify(await request.body(), expected_to="hub")
                if verified.signer != "procuracy":
                    raise Refusal("only the procuracy sends here", code="CERT_WRONG_AGENCY", rule="caller")
                self.edxml.validate(verified.body)
                named = verified.body.findtext(".//edXML:HoSoThiHanhAn/edXML:MaHoSo", namespaces=NS)
                if not verified.header.case_ref or named != verified.header.case_ref:
                    raise Refusal("CaseRef and MaHoSo differ", code="REQUEST_INVALID", rule="case_ref")
            except Refusal as exc:
                body = (f'<problem xmlns="urn:ietf:rfc:7807"><type>urn:thads:problem:{exc.code}</type>'
                        f"<title>{exc.code}</title><status>400</status><detail>refused</detail></problem>")
                return Response(body, status_code=400, media_type="application/problem+xml")
            if verified.header.message_id in self.seen:
                return JSONResponse({"type": "urn:thads:problem:REPLAY", "title": "Replay", "status": 409,
                                     "detail": "seen before"}, status_code=409, media_type="application/problem+json")
            self.seen.add(verified.header.message_id)
            self.arrivals.append(Arrival(at, verified))
            return Response(status_code=202)

        return app


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, citizens=500)


@pytest.fixture
def receiver(key_dir: Path) -> Iterator[tuple[Receiver, str]]:
    got = Receiver(key_dir)
    with ServedApp(got.app()) as served:
        yield got, f"{served.url}{INBOUND}"


def push_to(url: str, items: list[PushItem], rate: float, repeat_share: float = 0.0) -> PushReport:
    async def run() -> PushReport:
        send, close = xml_sender(url)
        try:
            return await push(items, send, rate_per_s=rate, repeat_share=repeat_share, seed=5)
        finally:
            await close()

    return asyncio.run(run())


def texts(verified: VerifiedEnvelope, path: str) -> str:
    return verified.body.findtext(path, namespaces=NS) or ""


def test_thirty_actions_at_fifteen_per_second(world: World, key_dir: Path,
                                              receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    items = action_push_items(world, key_dir, count=30, seed=3)
    assert len({i.item_id for i in items}) == 30
    report = push_to(url, items, rate=15)
    summary = report.summary()
    assert summary["acknowledged"] == 30 and summary["not_acknowledged"] == {}
    assert all(o.ack.status == 202 for o in report.outcomes)
    assert abs(summary["achieved_rate_per_s"] - 15) / 15 < 0.2, summary
    span = got.arrivals[-1].at - got.arrivals[0].at
    assert abs(29 / span - 15) / 15 < 0.2, span

    cases = {c.case_ref for c in world_cases(world)}
    kinds = {"GuiKhangNghi": ("KN", "KN-VKS", "Kháng nghị"), "GuiKienNghi": ("KNGH", "KNgh-VKS", "Kiến nghị")}
    seen_ops = set()
    for arrival in got.arrivals:
        v = arrival.verified
        kind, notation, subject = kinds[v.header.operation]
        seen_ops.add(v.header.operation)
        assert v.header.from_agency == "procuracy" and v.header.to_agency == "hub" and v.header.service == "procuracy"
        assert v.header.case_ref in cases
        assert texts(v, ".//edXML:HoSoThiHanhAn/edXML:MaHoSo") == v.header.case_ref
        assert texts(v, ".//edXML:DocumentType/edXML:Type") == kind
        assert texts(v, ".//edXML:Code/edXML:CodeNotation") == notation
        assert texts(v, ".//edXML:Subject").startswith(subject)
        assert texts(v, ".//edXML:From/edXML:OrganId").startswith("H37.")
        day, month, year = texts(v, ".//edXML:PromulgationDate").split("/")
        number = texts(v, ".//edXML:Code/edXML:CodeNumber")
        assert texts(v, ".//edXML:DocumentId").endswith(f",{year}/{month}/{day},{number}/{notation}")
        assert texts(v, ".//edXML:Attachment/edXML:ContentTransferEncoded")
    assert seen_ops == set(kinds)
    assert len({texts(a.verified, ".//edXML:DocumentId") for a in got.arrivals}) == 30


def test_given_case_refs_are_used_in_turn(world: World, key_dir: Path) -> None:
    refs = ["THADS-75-2026-0001", "THADS-01-2026-0002", "HS/2026/77"]
    items = action_push_items(world, key_dir, count=6, case_refs=refs, seed=1)
    verifier = EnvelopeVerifier(TrustStore.load(key_dir))
    got = [verifier.verify(i.body) for i in items]
    assert [v.header.case_ref for v in got] == refs * 2
    assert texts(got[0], ".//edXML:From/edXML:OrganId") == "H37.DN.075"  # Đồng Nai's procuracy
    assert texts(got[0], ".//edXML:To/edXML:OrganId") == "G12.DN.075"
    assert texts(got[1], ".//edXML:From/edXML:OrganId") == "H37.HN.001"
    # the same seed builds the same documents (message ids and times aside)
    again = [verifier.verify(i.body) for i in action_push_items(world, key_dir, count=6, case_refs=refs, seed=1)]
    assert [etree.tostring(v.body) for v in again] == [etree.tostring(v.body) for v in got]


def test_refusals_are_reported_with_their_codes(world: World, key_dir: Path,
                                                receiver: tuple[Receiver, str]) -> None:
    _, url = receiver
    items = action_push_items(world, key_dir, count=8, seed=2)
    tampered = PushItem("tampered", items[0].body.replace("Kiến nghị".encode(), "Kiến  nghị".encode(), 1),
                        "application/xml")
    report = push_to(url, [*items, tampered], rate=50, repeat_share=0.5)
    summary = report.summary()
    assert summary["acknowledged"] == 8
    assert summary["not_acknowledged"] == {"REPLAY": summary["repeats"], "SIGNATURE_INVALID": 1}  # json, xml
    assert summary["repeats"] >= 1


def test_the_mock_pushes_a_recommendation_after_five_decisions(world: World, key_dir: Path,
                                                               receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    mock = ProcuracyMock(world=world, key_dir=key_dir, seed=4, push_url=url, push_delay_s=0.1)
    with serve(mock) as (served, _):
        hub = HubSide(served.url, key_dir)
        decisions = [decision_xml(n) for n in range(7001, 7006)]
        for doc in decisions[:4]:
            hub.status(*hub.send(doc))
        hub.status(*hub.send(decisions[0]))  # a repeat is not a new decision
        time.sleep(0.3)
        assert got.arrivals == []
        hub.status(*hub.send(decisions[4]))
        deadline = time.monotonic() + 5
        while not got.arrivals and time.monotonic() < deadline:
            time.sleep(0.05)
        snapshot = httpx.get(f"{served.url}/procuracy/_admin/recorder", timeout=10).json()
    assert len(got.arrivals) == 1
    action = got.arrivals[0].verified
    assert action.header.operation == "GuiKienNghi" and action.header.case_ref == CASE_REF
    assert texts(action, ".//edXML:DocumentType/edXML:Type") == "KNGH"
    assert texts(action, ".//edXML:ResponseFor/edXML:DocumentId") == document_id_of(decisions[4])
    assert texts(action, ".//edXML:To/edXML:OrganId") == "G12.HCM.079"
    assert texts(action, ".//edXML:From/edXML:OrganId") == "H37.HCM.079"
    assert texts(action, ".//edXML:Subject").startswith("Kiến nghị về việc chậm thông báo quyết định thi hành án")
    attempts = [x for x in snapshot["effects"] if x["kind"] == "callback_attempt"]
    assert [(a["status"], a["outcome"]) for a in attempts] == [(202, "delivered")]
    assert len([x for x in snapshot["effects"] if x["kind"] == "decision_received"]) == 5
