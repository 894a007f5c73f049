"""The procuracy's protests and recommendations and the banks' events: each stored once, linked to its
case; a credit advice naming a case issues its receipt, numbered without gaps per office and year, signed,
with a QR code of the public URL that says whether it is genuine."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import segno
from sqlalchemy import select, update

from adapters.envelope import EnvelopeVerifier
from adapters.trust_store import TrustStore
from hub.clients import add_client
from hub.store.database import Database
from hub.store.tables import bank_events, intakes, judgments, procuracy_actions, receipts
from hub.store.timestamps import as_utc
from sandbox_mocks.bank import DEFAULT_OFFICE_ACCOUNT, transfer_push_items
from sandbox_mocks.bank import xml_sender as bank_sender
from sandbox_mocks.framework.pusher import PushItem, PushReport, Send, push
from sandbox_mocks.procuracy.pusher import action_push_items
from sandbox_mocks.procuracy.pusher import xml_sender as procuracy_sender
from sandbox_mocks.seed.world import Judgment, World
from tests.conftest import ServedApp
from tests.inbound.conftest import BANK_BIN, count, push_all, rest_items

ACK = "urn:thads:ack:1"


def pushed(items: list[PushItem], sender: tuple[Send, Any], repeat_share: float = 0.0) -> PushReport:
    send, close = sender

    async def main() -> PushReport:
        try:
            return await push(items, send, rate_per_s=100, repeat_share=repeat_share, seed=1, concurrency=4)
        finally:
            await close()

    return asyncio.run(main())


def case_refs(db: Database) -> dict[str, str]:
    """Judgment number -> the case reference the hub gave its intake."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(judgments.c.number_text, intakes.c.case_ref)
                            .join(intakes, intakes.c.judgment_id == judgments.c.id)).all()
    return {r.number_text: r.case_ref for r in rows}


def test_protests_and_recommendations_are_stored_once_and_linked(hub: ServedApp, key_dir: Path, world: World,
                                                                 db: Database) -> None:
    asyncio.run(push_all(hub, rest_items(world, key_dir, 2)))
    refs = list(case_refs(db).values())
    items = action_push_items(world, key_dir, count=3, case_refs=[*refs, "THADS-01-2020-9999"])
    report = pushed(items, procuracy_sender(f"{hub.url}/v1/inbound/procuracy"), repeat_share=0.5)
    assert report.summary()["acknowledged"] == report.summary()["sent"], report.summary()
    assert report.summary()["repeats"] >= 1
    assert count(db, procuracy_actions) == 3
    with db.engine.connect() as conn:
        rows = {r.case_ref: r for r in conn.execute(select(procuracy_actions))}
        linked = {r.case_ref: r.case_id for r in conn.execute(select(intakes))}
    assert rows["THADS-01-2020-9999"].case_id is None  # kept, findable, not linked
    for ref in refs:
        assert rows[ref].case_id == linked[ref]
    _, key = add_client(db, "case-system", ["cases:read"])
    view = httpx.get(f"{hub.url}/v1/cases/{linked[refs[0]]}", headers={"authorization": f"Bearer {key}"}).json()
    assert [a["document_id"] for a in view["procuracy_actions"]] == [rows[refs[0]].document_id]
    assert view["procuracy_actions"][0]["kind"] in ("protest", "recommendation")

    # the answer is the hub's signed acknowledgment of this very message
    again = httpx.post(f"{hub.url}/v1/inbound/procuracy", content=items[0].body,
                       headers={"content-type": "application/xml"})
    verified = EnvelopeVerifier(TrustStore.load(key_dir)).verify(again.content, expected_to="procuracy")
    assert verified.header.correlation_id == items[0].item_id
    assert verified.body.findtext(f"{{{ACK}}}Status") == "duplicate"
    assert count(db, procuracy_actions) == 3


def transfers(world: World, key_dir: Path, refs: dict[str, str], count: int) -> list[PushItem]:
    def case_ref_of(judgment: Judgment, index: int) -> str:
        return refs.get(judgment.number, f"THADS-99-2020-{index + 1:04d}")

    return transfer_push_items(world, key_dir, BANK_BIN, count=count, office_account=DEFAULT_OFFICE_ACCOUNT,
                               case_ref_of=case_ref_of, seed=4)


def test_credit_advices_naming_a_case_issue_numbered_signed_verifiable_receipts(
        hub: ServedApp, key_dir: Path, world: World, db: Database) -> None:
    asyncio.run(push_all(hub, rest_items(world, key_dir, len(world.judgments))))
    refs = case_refs(db)
    items = transfers(world, key_dir, refs, 12)
    report = pushed(items, bank_sender(f"{hub.url}/v1/inbound/banks/{BANK_BIN}/events"), repeat_share=0.3)
    assert report.summary()["acknowledged"] == report.summary()["sent"], report.summary()
    assert count(db, bank_events) == 12
    with db.engine.connect() as conn:
        events = conn.execute(select(bank_events)).all()
        issued = conn.execute(select(receipts).order_by(receipts.c.office_code, receipts.c.number)).all()
    matched = [e for e in events if e.case_id is not None]
    assert matched and len(issued) == len(matched)  # one receipt per matched credit, none for the others
    by_office: dict[str, list[int]] = {}
    for r in issued:
        by_office.setdefault(r.office_code, []).append(r.number)
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in by_office.values()), by_office

    receipt = issued[0]
    verdict = httpx.get(f"{hub.url}/v1/receipts/{receipt.id}/verify").json()  # public: no key
    assert verdict["genuine"] is True and verdict["number"] == receipt.number
    assert verdict["case_ref"] == receipt.receipt["case_ref"] and "." in verdict["payer"]
    qr = httpx.get(f"{hub.url}/v1/receipts/{receipt.id}/qr.svg")
    url = f"{hub.url}/v1/receipts/{receipt.id}/verify"
    expected = io.BytesIO()
    segno.make(url, error="m", micro=False).save(expected, kind="svg", scale=4, xmldecl=False)
    assert qr.status_code == 200 and qr.content == expected.getvalue()  # the QR code encodes the verify URL
    _, key = add_client(db, "office", [])
    full = httpx.get(f"{hub.url}/v1/receipts/{receipt.id}", headers={"authorization": f"Bearer {key}"}).json()
    signed = EnvelopeVerifier(TrustStore.load(key_dir)).verify(full["signed_xml"].encode(),
                                                                    now=as_utc(receipt.issued_at))
    assert signed.signer == "hub"
    assert re.fullmatch(r"[0-9]{7}", signed.body.findtext("{urn:thads:receipt:1}So") or "")

    # an edited record no longer passes as genuine
    with db.begin() as conn:
        conn.execute(update(receipts).where(receipts.c.id == receipt.id)
                     .values(receipt={**receipt.receipt, "amount_vnd": receipt.receipt["amount_vnd"] + 1}))
    assert httpx.get(f"{hub.url}/v1/receipts/{receipt.id}/verify").json()["genuine"] is False
    assert httpx.get(f"{hub.url}/v1/receipts/{uuid.uuid4()}/verify").status_code == 404


def test_a_bank_may_only_speak_for_its_own_bin(hub: ServedApp, key_dir: Path, world: World, db: Database) -> None:
    other = transfer_push_items(world, key_dir, "970418", count=1, office_account=DEFAULT_OFFICE_ACCOUNT)[0]
    answer = httpx.post(f"{hub.url}/v1/inbound/banks/{BANK_BIN}/events", content=other.body,
                        headers={"content-type": "application/xml"})
    assert (answer.status_code, answer.json()["code"]) == (403, "CERT_WRONG_AGENCY")
    unknown = httpx.post(f"{hub.url}/v1/inbound/banks/970418/events", content=other.body,
                         headers={"content-type": "application/xml"})
    assert (unknown.status_code, unknown.json()["code"]) == (503, "DEPENDENCY_UNAVAILABLE")  # no such bank here
    assert count(db, bank_events) == 0
