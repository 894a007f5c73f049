"""The worker side of a notification's channels, called by the commands' handler (``hub.commands.delivery``).

- VNeID: the agency's acceptance is the channel's event (delivered, under the packaged policy). A definitive
  refusal (no consent, a citizen the agency does not know) is recorded as the channel refused and, under
  ``vneid_else_postal``, adds the registered letter in the same transaction: its command is staged like any
  other, keyed by the notification's reference, so a refusal heard twice (a redelivered entry) sends one
  letter. The refusal is then raised again, so the VNeID command ends ``failed`` with the agency's reason.
- Letter: VNPost's acceptance gives the tracking number; the journey's events arrive pushed
  (``hub.notifications.postal_events``). A definitive refusal is recorded as the channel failed.

A transient failure records nothing: the command is retried as any other.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from hub.clients import ApiClient
from hub.commands.kinds import CommandKind
from hub.connector import RegisteredMail, VneidNotifier
from hub.errors import HubError
from hub.model.decisions import AgencyReceipt
from hub.model.notification import DeliveryStatus, NotificationChannel
from hub.model.party import Address
from hub.notifications.policy import ChannelMode
from hub.notifications.records import Event, add_event, lock
from hub.notifications.service import channel_command, stage_channels
from hub.resilience.context import CallContext
from hub.store.database import Database
from hub.store.tables import notifications
from hub.store.timestamps import as_utc, utc_now
from hub.worker.handler import is_permanent


@dataclass(frozen=True)
class _Asker:
    """Who asked for the notification: the fallback letter travels on their behalf."""

    case: str
    officer: str
    purpose: str


def _row(db: Database, notification_id: uuid.UUID) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(select(notifications).where(notifications.c.id == notification_id)).one()


def _why(exc: BaseException) -> str:
    if isinstance(exc, HubError):
        return f"{exc.code}: {exc.rule}" if exc.rule else exc.code
    return type(exc).__name__


def _record(db: Database, notification_id: uuid.UUID, event: Event, fallback: bool = False) -> None:
    with db.begin() as conn:
        row = lock(conn, notification_id)
        channels = [NotificationChannel(c) for c in row.channels]
        if fallback and NotificationChannel.POSTAL not in channels:
            channels.append(NotificationChannel.POSTAL)
            client = ApiClient(id=uuid.UUID(int=0), name=row.client_name, scopes=(), created_at=row.created_at,
                               revoked_at=None)
            stage_channels(conn, db, client, _Asker(row.case_ref, row.officer, row.purpose),
                           [channel_command(NotificationChannel.POSTAL, row.id, row.reference, row.document_ref)])
        add_event(conn, row, event, channels)


def _tracking(db: Database, notification_id: uuid.UUID, tracking: str) -> None:
    with db.begin() as conn:
        conn.execute(update(notifications).where(notifications.c.id == notification_id,
                                                 notifications.c.tracking_number.is_(None))
                     .values(tracking_number=tracking, updated_at=utc_now()))


async def _vneid(db: Database, connector: VneidNotifier, row: Any, call: CallContext) -> AgencyReceipt:
    asked = row.request
    document, recipient = asked["document"], asked["recipient"]
    try:
        receipt = await connector.send_vneid_notification(
            recipient["person_id"], row.reference, document["title"], document.get("text") or document["title"], call,
            document_url=document.get("url"))
    except Exception as exc:
        if is_permanent(exc):
            fallback = asked["policy"]["mode"] == ChannelMode.VNEID_ELSE_POSTAL.value
            event = Event("hub", f"{row.reference}:vneid-refused", NotificationChannel.VNEID, DeliveryStatus.REFUSED,
                          utc_now(), reason=_why(exc))
            await asyncio.to_thread(_record, db, row.id, event, fallback)
        raise
    status = DeliveryStatus(receipt.details.get("status", DeliveryStatus.ACCEPTED.value))
    event = Event("vneid", f"{receipt.reference}:{status.value}", NotificationChannel.VNEID, status,
                  as_utc(receipt.at) if receipt.at else datetime.now(UTC), detail={"agency_ref": receipt.reference})
    await asyncio.to_thread(_record, db, row.id, event)
    return receipt


async def _letter(db: Database, connector: RegisteredMail, row: Any, call: CallContext) -> AgencyReceipt:
    asked = row.request
    document, recipient = asked["document"], asked["recipient"]
    try:
        receipt = await connector.send_registered_letter(
            row.reference, recipient["name"], Address.model_validate(recipient["address"]), document["ref"],
            asked["office"]["name"], call, recipient_phone=recipient.get("phone"), summary=document["title"],
            callback_url=asked["policy"].get("callback_url"))
    except Exception as exc:
        if is_permanent(exc):
            event = Event("hub", f"{row.reference}:letter-failed", NotificationChannel.POSTAL, DeliveryStatus.FAILED,
                          utc_now(), reason=_why(exc))
            await asyncio.to_thread(_record, db, row.id, event)
        raise
    await asyncio.to_thread(_tracking, db, row.id, receipt.reference)
    return receipt


async def deliver_notification(db: Database, connector: Any, kind: CommandKind, payload: dict[str, Any],
                               call: CallContext) -> AgencyReceipt:
    row = await asyncio.to_thread(_row, db, uuid.UUID(payload["notification"]))
    if kind is CommandKind.NOTIFICATION_VNEID:
        return await _vneid(db, connector, row, call)
    return await _letter(db, connector, row, call)
