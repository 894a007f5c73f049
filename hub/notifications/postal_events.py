"""Delivery events the postal operator pushes (``POST /v1/inbound/postal/events``), taken in once each.

The postal connector authenticates the call (its HMAC over the raw body, with the agencies file's secret,
within the operator's clock window) and reads it (``PostalEventIntake``); nothing is read before that. Each
event is stored once per the operator's event id, so a webhook delivered twice changes nothing the second
time; it is matched to its notification by the sender's reference the hub gave the letter, and the
notification's standing is recomputed from all its events, so an event arriving out of order is kept in
the history without undoing a later one. One message-log exchange per call, refused or not.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.audit.recorder import ExchangeRecorder
from hub.connector import PostalEventIntake, PushedDeliveryEvent
from hub.errors import HubError
from hub.inbound.desk import intake_capability
from hub.notifications.records import DUPLICATE, Event, add_event, add_unmatched, lock
from hub.store.database import Database
from hub.store.tables import notifications

AGENCY = "postal"
OPERATION = "SuKienBuuGui"
MAX_BODY = 64 * 1024  # one event is well under 2 KB


def _json_object(body: bytes) -> None:
    """Junk is refused as such before anything else, whoever sent it."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise HubError("an event is one JSON object", code="REQUEST_INVALID", rule="json_object")


def _event(pushed: PushedDeliveryEvent) -> Event:
    e = pushed.event
    return Event(AGENCY, pushed.event_id, e.channel, e.status, e.at, sequence=pushed.sequence, reason=e.reason,
                 detail={"tracking_number": e.tracking_number, "reference": pushed.reference, **e.extensions})


@dataclass
class PostalEventDesk:
    db: Database
    recorder: ExchangeRecorder
    connectors: Any

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The answer to the operator: each event's id and what it did (applied, stale, duplicate, unmatched)."""
        async with self.recorder.exchange_async("inbound", AGENCY, OPERATION, service=AGENCY) as ex:
            ex.request(body)
            _json_object(body)
            pushed = self._operator().events_from_webhook(body, headers)
            effects = await asyncio.to_thread(self._take, pushed)
            answer = {"events": [{"event_id": p.event_id, "effect": effect} for p, effect in
                                 zip(pushed, effects, strict=True)]}
            ex.response(json.dumps(answer).encode())
            return answer

    def _operator(self) -> PostalEventIntake:
        try:
            connector: PostalEventIntake = intake_capability(self.connectors, AGENCY, PostalEventIntake)
        except HubError as exc:
            # Without the postal connector the hub holds no secret to check the operator's HMAC with: like
            # a missing secret, nothing pushed can be authenticated.
            raise HubError(exc.detail, code="SIGNATURE_INVALID", rule="sender_not_configured") from None
        return connector

    def _take(self, pushed: list[PushedDeliveryEvent]) -> list[str]:
        effects = []
        for p in pushed:
            try:
                effects.append(self._take_one(p))
            except IntegrityError:  # another copy of the same event was stored first
                effects.append(DUPLICATE)
        return effects

    def _take_one(self, pushed: PushedDeliveryEvent) -> str:
        with self.db.begin() as conn:
            found = conn.execute(select(notifications.c.id).where(notifications.c.reference == pushed.reference)
                                 ).first()
            if found is None:
                return add_unmatched(conn, _event(pushed))
            return add_event(conn, lock(conn, found.id), _event(pushed))
