"""Webhook subscriptions of case systems to new intake records, delivered through the outbox.

The intake transaction stages one outbox entry per active subscription (hub/inbound/intake_store.py), so
an intake and its deliveries commit together; the relay moves them to the ``inbound.webhooks`` stream and
:class:`WebhookHandler` POSTs each, at least once, until the subscriber answers 2xx (a transient failure
is retried with backoff; 410 Gone ends it). Each delivery is the intake record as JSON, signed by the hub
as a detached JWS (``X-JWS-Signature``), and carries a delivery id that stays the same on every attempt
(``X-Thads-Delivery-Id`` and ``delivery_id`` in the body): a subscriber drops what it already has.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import httpx
from sqlalchemy import insert, select, update

from adapters.envelope import EnvelopeFields
from adapters.jws_envelope import JwsSigner
from hub.bootstrap import Services
from hub.errors import InvalidValue, NotFound
from hub.inbound.intake_store import NEW_INTAKE_EVENT, WEBHOOK_QUEUE, evidence, get_record
from hub.store.database import Database
from hub.store.tables import subscriptions
from hub.store.timestamps import as_utc, utc_now
from hub.trust.keys import hub_signing_key
from hub.worker.handler import QueueHandler, Reject, RetryLater
from hub.worker.streams import Entry

DELIVERY_NAMESPACE = uuid.UUID("0b8f1c9e-4a57-5d0e-8a1f-7468616473a2")
DELIVERY_HEADER = "X-Thads-Delivery-Id"
JWS_HEADER = "X-JWS-Signature"
EVENTS = (NEW_INTAKE_EVENT,)


def delivery_id(subscription_id: str, record_id: str, event: str) -> uuid.UUID:
    """The same on every attempt of one delivery, different for every (subscription, record, event)."""
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{subscription_id}:{record_id}:{event}")


def _view(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "url": row.url, "events": list(row.events),
            "created_at": as_utc(row.created_at).isoformat()}


def add_subscription(db: Database, client_name: str, url: str) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")) or len(url) > 1000:
        raise InvalidValue("a subscription URL is an http(s) URL of at most 1000 characters", rule="url")
    row_id = uuid.uuid4()
    with db.begin() as conn:
        conn.execute(insert(subscriptions).values(id=row_id, client_name=client_name, url=url, events=list(EVENTS),
                                                  created_at=utc_now()))
        row = conn.execute(select(subscriptions).where(subscriptions.c.id == row_id)).one()
    return _view(row)


def list_subscriptions(db: Database, client_name: str) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(subscriptions).where(subscriptions.c.client_name == client_name,
                                                        subscriptions.c.revoked_at.is_(None))
                            .order_by(subscriptions.c.created_at)).all()
    return [_view(r) for r in rows]


def revoke_subscription(db: Database, client_name: str, subscription_id: uuid.UUID) -> None:
    with db.begin() as conn:
        done = conn.execute(update(subscriptions).where(
            subscriptions.c.id == subscription_id, subscriptions.c.client_name == client_name,
            subscriptions.c.revoked_at.is_(None)).values(revoked_at=utc_now()))
    if done.rowcount == 0:
        raise NotFound(f"no active subscription {subscription_id} of this client")


class WebhookHandler(QueueHandler):
    queue = WEBHOOK_QUEUE
    max_attempts = 12
    retry_base_s = 1.0
    retry_max_s = 120.0
    concurrency = 16

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        key, cert = hub_signing_key(services.settings)
        self.signer = JwsSigner(key, cert)
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:  # made in the loop that uses it
            self._http = httpx.AsyncClient(timeout=10, follow_redirects=False)
        return self._http

    def _load(self, subscription_id: str, record_id: str) -> tuple[Any, dict[str, Any]] | None:
        with self.services.db.engine.connect() as conn:
            sub = conn.execute(select(subscriptions).where(subscriptions.c.id == uuid.UUID(subscription_id))).first()
        if sub is None or sub.revoked_at is not None:
            return None
        record = get_record(self.services.db, intake_id=uuid.UUID(record_id))
        return sub, record.model_dump(mode="json")

    async def handle(self, entry: Entry) -> None:
        fields = entry.fields
        loaded = await asyncio.to_thread(self._load, fields["subscription_id"], fields["intake_id"])
        if loaded is None:
            return  # revoked since: nothing to deliver
        sub, record = loaded
        event = fields.get("event", NEW_INTAKE_EVENT)
        delivery = delivery_id(fields["subscription_id"], fields["intake_id"], event)
        body = json.dumps({"delivery_id": str(delivery), "event": event, "intake": record},
                          ensure_ascii=False).encode()
        now = dt.datetime.now(dt.UTC)
        token = self.signer.sign(EnvelopeFields(
            message_id=str(delivery), from_agency="hub", to_agency="hub", service="webhooks", operation=event,
            created=now, expires=now + dt.timedelta(hours=1), case_ref=record["case_ref"]), body)
        try:
            response = await self._client().post(sub.url, content=body, headers={
                "content-type": "application/json", DELIVERY_HEADER: str(delivery), JWS_HEADER: token})
        except httpx.HTTPError as exc:
            raise RetryLater(f"subscriber {sub.url}: {type(exc).__name__}") from exc
        if response.status_code == 410:
            raise Reject(f"subscriber {sub.url} answered 410 Gone")
        if not 200 <= response.status_code < 300:
            raise RetryLater(f"subscriber {sub.url} answered HTTP {response.status_code}")
        await asyncio.to_thread(self._delivered, sub, fields["intake_id"], delivery, response.status_code,
                                entry.deliveries)

    def _delivered(self, sub: Any, record_id: str, delivery: uuid.UUID, status: int, attempt: int) -> None:
        with self.services.db.begin() as conn:
            evidence(conn, "hub", str(delivery), "delivered", record_id, subscription_id=str(sub.id),
                     client=sub.client_name, url=sub.url, status=status, attempt=attempt)


__all__ = ["WebhookHandler", "add_subscription", "delivery_id", "list_subscriptions",
           "revoke_subscription"]
