"""SubmitJudgment end to end: the sandbox court pushes signed judgments to a real hub over SOAP and REST;
the hub answers its signed receipt, takes each judgment in once, and answers a repeat with the first."""

from __future__ import annotations

from pathlib import Path

import httpx
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import NS as ENV_NS
from adapters.envelope import EnvelopeVerifier
from adapters.trust_store import TrustStore
from hub.settings import Settings
from hub.store.database import Database
from hub.store.tables import enforcement_cases, inbound_messages, intakes, judgments
from sandbox_mocks.court import judgment_push_items
from sandbox_mocks.framework.pusher import Ack
from sandbox_mocks.seed.world import World
from tests.conftest import ServedApp
from tests.inbound.conftest import count, run_push, send_one

BA = "urn:vn:gov:toaan:banan:1"


def test_pushed_judgments_are_taken_in_once_and_repeats_get_the_first_receipt(
        hub: ServedApp, key_dir: Path, world: World, db: Database) -> None:
    trust = TrustStore.load(key_dir)
    items = judgment_push_items(world, key_dir, count=12)
    report = run_push(items, f"{hub.url}/soap/court", trust, rate_per_s=200, repeat_share=0.3, seed=3)
    assert report.summary()["repeats"] >= 2, report.summary()
    # Copies race (a repeat may be processed before its original): per message, exactly one send is
    # acknowledged and every other one is told that same first reference.
    by_item: dict[str, list[Ack]] = {}
    for o in report.outcomes:
        by_item.setdefault(o.item_id, []).append(o.ack)
    first: dict[str, str | None] = {}
    for item_id, acks in by_item.items():
        taken = [a for a in acks if a.acknowledged]
        assert len(taken) == 1, acks
        assert all(a.code == "DUPLICATE" and a.detail == taken[0].detail for a in acks if not a.acknowledged), acks
        first[item_id] = taken[0].detail
    assert len(set(first.values())) == 12
    assert count(db, judgments) == count(db, intakes) == count(db, enforcement_cases) == 12
    assert count(db, inbound_messages) == 12

    # the same judgment under a new MessageId (a court that re-sends it): TRUNG_LAP, nothing new stored
    again = judgment_push_items(world, key_dir, count=1)[0]
    ack = send_one(again, f"{hub.url}/soap/court", trust)
    assert (ack.acknowledged, ack.code, ack.detail) == (False, "DUPLICATE", first[items[0].item_id])
    assert count(db, judgments) == 12 and count(db, inbound_messages) == 13


def test_the_rest_route_takes_the_same_envelope_and_answers_the_signed_receipt(
        hub: ServedApp, key_dir: Path, world: World, db: Database) -> None:
    item = judgment_push_items(world, key_dir, count=1, start=20)[0]
    envelope = etree.tostring(soap_envelope.unwrap(item.body))
    answer = httpx.post(f"{hub.url}/v1/inbound/judgments", content=envelope,
                        headers={"content-type": "application/xml"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    verified = EnvelopeVerifier(TrustStore.load(key_dir)).verify(answer.content, expected_to="court")
    assert verified.signer == "hub" and verified.header.correlation_id == item.item_id
    receipt = verified.body
    assert receipt.tag == f"{{{BA}}}BienNhanBanAn"
    assert receipt.findtext(f"{{{BA}}}TrangThai") == "DA_TIEP_NHAN"
    assert receipt.findtext(f"{{{BA}}}SoBanAn") == world.judgments[20].number
    with db.engine.connect() as conn:
        row = conn.execute(intakes.select()).one()
    assert row.intake_ref == receipt.findtext(f"{{{BA}}}MaTiepNhan") and row.channel == "rest"

    # the same bytes again: the first receipt, TRUNG_LAP
    again = httpx.post(f"{hub.url}/v1/inbound/judgments", content=envelope,
                       headers={"content-type": "application/xml"})
    body = EnvelopeVerifier(TrustStore.load(key_dir)).verify(again.content, expected_to="court").body
    assert body.findtext(f"{{{BA}}}TrangThai") == "TRUNG_LAP"
    assert body.findtext(f"{{{BA}}}MaTiepNhan") == row.intake_ref
    assert count(db, intakes) == 1


def test_another_document_under_a_message_id_already_used_is_a_replay(
        hub: ServedApp, key_dir: Path, world: World, db: Database) -> None:
    first, second = judgment_push_items(world, key_dir, count=2, start=30)
    trust = TrustStore.load(key_dir)
    assert send_one(first, f"{hub.url}/soap/court", trust).acknowledged
    # the court's key signs a second judgment under the first one's MessageId
    from adapters.envelope import EnvelopeSigner, build_envelope, read_header

    inner = soap_envelope.unwrap(second.body)
    header = read_header(inner)
    reused = header.__class__(**{**header.__dict__, "message_id": first.item_id})
    body = inner.find(f"{{{ENV_NS}}}Body")[0]
    signed = EnvelopeSigner.from_key_dir(key_dir, "court").sign(build_envelope(reused, body))
    answer = httpx.post(f"{hub.url}/soap/court", content=soap_envelope.wrap(signed),
                        headers={"content-type": soap_envelope.CONTENT_TYPE})
    assert answer.status_code == 400
    refusal = soap_envelope.fault_to_refusal(soap_envelope.parse_xml(answer.content)[0][0])
    assert refusal.code == "REPLAY"
    assert count(db, intakes) == 1


def test_with_redis_away_a_push_is_told_to_come_back_and_nothing_is_stored(
        inbound_settings: Settings, key_dir: Path, world: World, db: Database) -> None:
    from hub.api.app import create_app

    away = inbound_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})  # nothing listens there
    item = judgment_push_items(world, key_dir, count=1, start=40)[0]
    with ServedApp(create_app(away)) as hub:
        answer = httpx.post(f"{hub.url}/soap/court", content=item.body,
                            headers={"content-type": soap_envelope.CONTENT_TYPE}, timeout=30)
    fault = soap_envelope.parse_xml(answer.content)[0][0]
    assert answer.status_code == 500 and soap_envelope.fault_to_refusal(fault).code == "DEPENDENCY_UNAVAILABLE"
    assert count(db, intakes) == 0 and count(db, judgments) == 0
