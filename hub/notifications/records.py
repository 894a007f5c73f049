"""A notification's record: its events stored once each, and its standing recomputed from all of them.

Every writer (the workers carrying its channels, the API receiving the postal operator's events) goes
through ``add_event`` inside its own transaction, holding the notification's row (FOR UPDATE on
PostgreSQL; SQLite's transactions are serialised already), so two events arriving together cannot each
compute a standing that misses the other.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from hub.model.notification import DeliveryStatus, NotificationChannel
from hub.notifications.state import Seen, channel_state, standing
from hub.store.tables import notification_events, notifications
from hub.store.timestamps import as_utc, utc_now

APPLIED, STALE, UNMATCHED, DUPLICATE = "applied", "stale", "unmatched", "duplicate"


@dataclass(frozen=True)
class Event:
    source: str  # postal, vneid, hub
    event_id: str  # the source's own id: the same id again is the same event
    channel: NotificationChannel
    status: DeliveryStatus
    at: dt.datetime
    sequence: int | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None


def lock(conn: Connection, notification_id: uuid.UUID) -> Any:
    row = conn.execute(select(notifications).where(notifications.c.id == notification_id)
                       .with_for_update()).first()
    if row is None:
        raise LookupError(f"no notification {notification_id}")
    return row


def seen_events(conn: Connection, notification_id: uuid.UUID) -> list[Seen]:
    rows = conn.execute(select(notification_events).where(notification_events.c.notification_id == notification_id)
                        .order_by(notification_events.c.id)).all()
    return [Seen(NotificationChannel(r.channel), DeliveryStatus(r.status), as_utc(r.at), r.sequence,
                 (r.detail or {}).get("reason")) for r in rows]


def _known(conn: Connection, event: Event) -> bool:
    return conn.execute(select(notification_events.c.id).where(
        notification_events.c.source == event.source, notification_events.c.event_id == event.event_id)).first() \
        is not None


def add_event(conn: Connection, row: Any, event: Event, channels: list[NotificationChannel] | None = None) -> str:
    """Store ``event`` for the notification ``row`` (locked by the caller) and update its standing over
    ``channels`` (the row's, unless a fallback adds one); the event's effect: applied, stale (it changes
    nothing: out of order, or after the channel's end) or duplicate."""
    if _known(conn, event):
        return DUPLICATE
    now = utc_now()
    seen = Seen(event.channel, event.status, as_utc(event.at), event.sequence, event.reason)
    before = seen_events(conn, row.id)
    decides = channel_state([e for e in before if e.channel is event.channel] + [seen]) is seen
    effect = APPLIED if decides else STALE
    conn.execute(insert(notification_events).values(
        notification_id=row.id, source=event.source, event_id=event.event_id, sequence=event.sequence,
        channel=event.channel.value, status=event.status.value, at=seen.at, received_at=now, effect=effect,
        detail={**(event.detail or {}), **({"reason": event.reason} if event.reason else {})}))
    tried = channels if channels is not None else [NotificationChannel(c) for c in row.channels]
    restand(conn, row, tried, [*before, seen], now)
    return effect


def add_unmatched(conn: Connection, event: Event) -> str:
    """An event naming no notification of this hub: kept, so an operator can see what was pushed."""
    if _known(conn, event):
        return DUPLICATE
    conn.execute(insert(notification_events).values(
        notification_id=None, source=event.source, event_id=event.event_id, sequence=event.sequence,
        channel=event.channel.value, status=event.status.value, at=as_utc(event.at), received_at=utc_now(),
        effect=UNMATCHED, detail=event.detail or {}))
    return UNMATCHED


def restand(conn: Connection, row: Any, channels: list[NotificationChannel], events: list[Seen],
            now: dt.datetime) -> None:
    """The standing from every event, under the policy the notification was accepted with."""
    delivers = bool(row.request["policy"]["vneid_acceptance_delivers"])
    now_standing = standing(channels, events, vneid_acceptance_delivers=delivers)
    conn.execute(update(notifications).where(notifications.c.id == row.id).values(
        status=now_standing.status.value,
        channel=now_standing.channel.value if now_standing.channel else None,
        delivered_at=now_standing.delivered_at, returned_reason=now_standing.returned_reason,
        channels=[c.value for c in channels], updated_at=now))
