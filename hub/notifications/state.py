"""Where a notification stands, derived from its events whatever order they arrived in. Pure functions.

Each channel's state comes from its own events: once an end is reached (delivered, returned, refused,
failed) it is kept, so a late "in transit" never reopens a delivered letter; before that, the step
furthest along the journey counts (the operator's sequence number, then the time). The notification's
status follows from its channels: delivered as soon as one channel delivered; returned or failed once
every channel tried has ended without delivering; otherwise queued or in transit.

The legal deadline is met when the delivery happened by the end of the due day (Vietnam time), missed
when it happened later or has not happened by then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hub.model.notification import DeliveryStatus, NotificationChannel

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
ENDS = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.RETURNED, DeliveryStatus.REFUSED, DeliveryStatus.FAILED})
_MOVING = frozenset({DeliveryStatus.ACCEPTED, DeliveryStatus.IN_TRANSIT})


class NotificationStatus(StrEnum):
    QUEUED = "queued"  # no channel has taken it yet
    IN_TRANSIT = "in_transit"  # a channel took it (the letter is at the post, VNeID has it but not yet served)
    DELIVERED = "delivered"  # served: the end
    RETURNED = "returned"  # every channel ended and the letter came back (chuyển hoàn): the officer acts
    FAILED = "failed"  # every channel ended without delivering and no letter came back (refused, failed)


class DeadlineState(StrEnum):
    OPEN = "open"  # not delivered yet, the due day has not passed
    MET = "met"  # delivered by the end of the due day
    MISSED = "missed"  # delivered after the due day, or not delivered and the due day has passed


@dataclass(frozen=True)
class Seen:
    """One stored event of a notification."""

    channel: NotificationChannel
    status: DeliveryStatus
    at: dt.datetime
    sequence: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Standing:
    status: NotificationStatus
    channel: NotificationChannel | None = None  # the one that delivered, or returned it
    delivered_at: dt.datetime | None = None
    returned_reason: str | None = None


def _order(event: Seen) -> tuple[int, dt.datetime]:
    return (event.sequence or 0, event.at)


def channel_state(events: Iterable[Seen]) -> Seen | None:
    """The event that says where one channel stands: its end once reached, else its furthest step."""
    events = list(events)
    if not events:
        return None
    ends = [e for e in events if e.status in ENDS]
    return max(ends or events, key=_order)


def standing(channels: Sequence[NotificationChannel], events: Iterable[Seen], *,
             vneid_acceptance_delivers: bool) -> Standing:
    by_channel: dict[NotificationChannel, list[Seen]] = {}
    for event in events:
        if vneid_acceptance_delivers and event.channel is NotificationChannel.VNEID \
                and event.status is DeliveryStatus.ACCEPTED:
            event = Seen(event.channel, DeliveryStatus.DELIVERED, event.at, event.sequence, event.reason)
        by_channel.setdefault(event.channel, []).append(event)
    states: Mapping[NotificationChannel, Seen | None] = {c: channel_state(by_channel.get(c, ())) for c in channels}
    delivered = [s for s in states.values() if s is not None and s.status is DeliveryStatus.DELIVERED]
    if delivered:
        first = min(delivered, key=lambda s: s.at)
        return Standing(NotificationStatus.DELIVERED, first.channel, delivered_at=first.at)
    if any(s is None or s.status not in ENDS for s in states.values()):
        moving = any(s is not None and s.status in _MOVING for s in states.values())
        return Standing(NotificationStatus.IN_TRANSIT if moving else NotificationStatus.QUEUED)
    returned = [s for s in states.values() if s is not None and s.status is DeliveryStatus.RETURNED]
    if returned:
        return Standing(NotificationStatus.RETURNED, returned[0].channel, returned_reason=returned[0].reason)
    return Standing(NotificationStatus.FAILED)


def vietnam_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(VIETNAM).date()


def deadline_state(due_by: dt.date, delivered_at: dt.datetime | None, now: dt.datetime) -> DeadlineState:
    if delivered_at is not None:
        return DeadlineState.MET if vietnam_date(delivered_at) <= due_by else DeadlineState.MISSED
    return DeadlineState.OPEN if vietnam_date(now) <= due_by else DeadlineState.MISSED
