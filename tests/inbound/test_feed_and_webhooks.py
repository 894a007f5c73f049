"""Case systems receive every intake record: the pull feed returns each once, in order, even while
intakes commit concurrently; webhook subscriptions get each one through the outbox, signed, retried until
the subscriber takes it, under a delivery id that stays the same across attempts."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import select

from adapters.jws_envelope import JwsVerifier
from adapters.trust_store import TrustStore
from hub.bootstrap import build_services
from hub.clients import add_client
from hub.inbound.webhooks import WebhookHandler
from hub.outbox.relay import OutboxRelay
from hub.settings import Settings
from hub.store.database import Database
from hub.store.tables import inbound_evidence
from hub.worker.runtime import Worker, WorkerOptions
from sandbox_mocks.seed.world import World
from tests.conftest import ServedApp
from tests.inbound.conftest import push_all, rest_items
from tests.worker.support import until


def test_the_feed_returns_each_intake_once_in_order(hub: ServedApp, key_dir: Path, world: World,
                                                   db: Database) -> None:
    _, key = add_client(db, "case-system", ["cases:read"])
    auth = {"authorization": f"Bearer {key}"}
    bodies = rest_items(world, key_dir, 30)

    async def scenario() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        pushing = asyncio.create_task(push_all(hub, bodies[:15]))
        pushing_too = asyncio.create_task(push_all(hub, bodies[15:]))  # two senders: commits interleave
        cursor = 0
        async with httpx.AsyncClient(timeout=30, headers=auth) as http:
            while len(got) < 30:
                page = (await http.get(f"{hub.url}/v1/judgments", params={"after": cursor, "limit": 7})).json()
                got += page["items"]
                assert page["next"] >= cursor
                cursor = page["next"]
                if not page["items"]:
                    await asyncio.sleep(0.02)
            await asyncio.gather(pushing, pushing_too)
            tail = (await http.get(f"{hub.url}/v1/judgments", params={"after": cursor})).json()
        assert tail == {"items": [], "next": cursor}
        return got

    got = asyncio.run(scenario())
    sequences = [r["sequence"] for r in got]
    assert sequences == list(range(1, 31))
    assert len({r["judgment"]["number"]["text"] for r in got}) == 30
    assert httpx.get(f"{hub.url}/v1/judgments").status_code == 401


class Subscriber:
    """A case system's webhook endpoint that fails the first attempt of every third delivery."""

    def __init__(self, key_dir: Path) -> None:
        self.verifier = JwsVerifier(TrustStore.load(key_dir))
        self.attempts: dict[str, int] = {}
        self.kept: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.app = FastAPI()
        self.app.add_api_route("/hook", self.hook, methods=["POST"])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        signed = self.verifier.verify(request.headers["x-jws-signature"], body)
        assert signed.signer == "hub"
        delivery = request.headers["x-thads-delivery-id"]
        with self.lock:
            n = self.attempts[delivery] = self.attempts.get(delivery, 0) + 1
            if n == 1 and len(self.attempts) % 3 == 0:
                return Response(status_code=503)
            payload = await request.json()
            assert payload["delivery_id"] == delivery
            self.kept.setdefault(delivery, payload)  # a repeat is dropped by its delivery id
        return Response(status_code=204)


def test_subscribers_get_every_intake_signed_and_retried(hub: ServedApp, key_dir: Path, world: World,
                                                         db: Database, inbound_settings: Settings) -> None:
    subscriber = Subscriber(key_dir)
    _, key = add_client(db, "case-system", ["cases:read"])
    with ServedApp(subscriber.app) as endpoint:
        created = httpx.post(f"{hub.url}/v1/subscriptions", json={"url": f"{endpoint.url}/hook"},
                             headers={"authorization": f"Bearer {key}"})
        assert created.status_code == 201, created.text
        asyncio.run(push_all(hub, rest_items(world, key_dir, 7, start=10)))

        async def work() -> None:
            services = build_services(inbound_settings)
            # a retry is due after max(lease, backoff): a short lease keeps the test short
            worker = Worker(services, [WebhookHandler(services)],
                            WorkerOptions(consumer="w1", lease_s=1.0, claim_every_s=0.1, block_s=0.2),
                            companions=[OutboxRelay(services, "relay-1", idle_s=0.05)])
            running = asyncio.create_task(worker.run())
            try:
                await until(lambda: len(subscriber.kept) == 7, 30, "every delivery kept")
            finally:
                worker.stop()
                await running
                await services.aclose()

        asyncio.run(work())
    assert len(subscriber.kept) == 7 and max(subscriber.attempts.values()) == 2  # failed ones came again
    assert sorted(p["intake"]["judgment"]["number"]["text"] for p in subscriber.kept.values()) == \
        sorted(j.number for j in world.judgments[10:17])
    with db.engine.connect() as conn:
        delivered = conn.execute(select(inbound_evidence).where(inbound_evidence.c.stage == "delivered")).all()
    assert sorted(r.message_id for r in delivered) == sorted(subscriber.kept)
    listed = httpx.get(f"{hub.url}/v1/subscriptions", headers={"authorization": f"Bearer {key}"}).json()
    assert [s["url"] for s in listed] == [f"{endpoint.url}/hook"]




def test_intake_records_are_read_only_with_the_cases_scope(hub: ServedApp, key_dir: Path, world: World,
                                                           db: Database) -> None:
    """A client granted only look-ups may not read the feed, a case or subscribe to new intake records."""
    asyncio.run(push_all(hub, rest_items(world, key_dir, 1)))
    _, reader = add_client(db, "case-reader", ["cases:read"])
    _, other = add_client(db, "verifier-only", ["verify:identity"])
    page = httpx.get(f"{hub.url}/v1/judgments", headers={"authorization": f"Bearer {reader}"}).json()
    case_id = page["items"][0]["case"]["id"]
    assert httpx.get(f"{hub.url}/v1/cases/{case_id}", headers={"authorization": f"Bearer {reader}"}).status_code == 200
    refused = [httpx.get(f"{hub.url}/v1/judgments", headers={"authorization": f"Bearer {other}"}),
               httpx.get(f"{hub.url}/v1/cases/{case_id}", headers={"authorization": f"Bearer {other}"}),
               httpx.post(f"{hub.url}/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook"},
                          headers={"authorization": f"Bearer {other}"}),
               httpx.get(f"{hub.url}/v1/subscriptions", headers={"authorization": f"Bearer {other}"})]
    for r in refused:
        assert r.status_code == 403, r.text
        assert r.json()["type"] == "urn:thads:problem:SCOPE_MISSING"
        assert r.json()["missing"] == ["cases:read"]
