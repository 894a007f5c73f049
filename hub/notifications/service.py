"""Accepting notifications and reading them back.

Accepting is one SQL transaction: the notification (with its legal deadline, computed on the working-day
calendar, and the policy it follows) and one command per channel tried first (with its history and outbox
entry). The same notification asked again (same case, document and recipient) answers the stored one and
stages nothing; with other content it is a conflict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from hub.clients import ApiClient
from hub.commands.kinds import CommandKind, PlannedCommand
from hub.commands.requests import CommandRequest
from hub.commands.service import CommandService, command_url
from hub.commands.views import CommandSummary
from hub.deadlines import Deadline, WorkingCalendar, compute_deadline
from hub.errors import Conflict, NotFound
from hub.model.notification import NotificationChannel
from hub.notifications.policy import NotificationPolicy
from hub.notifications.requests import NotificationRequest
from hub.notifications.state import NotificationStatus, deadline_state, vietnam_date
from hub.notifications.views import (
    DeadlineView,
    EventView,
    NotificationCounts,
    NotificationList,
    NotificationSummary,
    NotificationView,
)
from hub.store.database import Database
from hub.store.tables import commands as commands_table
from hub.store.tables import notification_events, notifications
from hub.store.timestamps import as_utc, utc_now

MAX_LISTED = 1000
AGENCY_OF = {NotificationChannel.VNEID: "population", NotificationChannel.POSTAL: "postal"}
KIND_OF = {NotificationChannel.VNEID: CommandKind.NOTIFICATION_VNEID,
           NotificationChannel.POSTAL: CommandKind.NOTIFICATION_LETTER}


def notification_url(notification_id: uuid.UUID) -> str:
    return f"/v1/notifications/{notification_id}"


def channel_command(channel: NotificationChannel, row_id: uuid.UUID, reference: str,
                    document_ref: str) -> PlannedCommand:
    """A channel of a notification as a command: the agency keys it on the notification's reference."""
    return PlannedCommand(kind=KIND_OF[channel], agency=AGENCY_OF[channel], target=reference,
                          decision_ref=document_ref, payload={"notification": str(row_id)})


def stage_channels(conn: Any, db: Database, client: ApiClient, asker: Any,
                   planned: list[PlannedCommand]) -> list[uuid.UUID]:
    """The commands' own acceptance, inside the caller's transaction: each command row, its first history
    entry and its outbox entry commit with the notification's rows. ``asker`` names the case, officer and
    purpose, which travel with the command to the agency."""
    return CommandService(db)._accept(conn, client, cast(CommandRequest, asker), planned, None, "")


@dataclass
class NotificationService:
    db: Database
    policy: NotificationPolicy
    calendar: WorkingCalendar

    def channels_for(self, request: NotificationRequest) -> list[NotificationChannel]:
        """Every channel the request may use (the first ones and a fallback letter): their agencies must be
        configured before anything is stored."""
        mode = self.policy.mode_for(request.document.kind)
        return list(dict.fromkeys([*mode.first_channels(request.recipient.person_id is not None),
                                   NotificationChannel.POSTAL]))

    def accept(self, client: ApiClient, request: NotificationRequest) -> uuid.UUID:
        deadline = compute_deadline(self.policy.deadline_rule, request.document.issued_on, self.calendar)
        for attempt in range(3):
            try:
                with self.db.begin() as conn:
                    return self._accept(conn, client, request, deadline)
            except IntegrityError:  # the same notification accepted by another request first
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _accept(self, conn: Any, client: ApiClient, request: NotificationRequest, deadline: Deadline) -> uuid.UUID:
        key, body_hash = request.natural_key, request.body_hash()
        seen = conn.execute(select(notifications.c.id, notifications.c.request_hash)
                            .where(notifications.c.natural_key == key)).first()
        if seen is not None:
            if seen.request_hash != body_hash:
                raise Conflict(f"{request.document.ref} was already notified to this recipient with other content "
                               f"(notification {seen.id})", rule="same_notice_differs", notification_id=str(seen.id))
            return uuid.UUID(str(seen.id))
        mode = self.policy.mode_for(request.document.kind)
        channels = mode.first_channels(request.recipient.person_id is not None)
        row_id = uuid.uuid4()
        reference = f"TB-{row_id.hex}"
        now = utc_now()
        stored = request.model_dump(mode="json", include={"document", "office", "recipient"})
        stored["policy"] = {"mode": mode.value, "vneid_acceptance_delivers": self.policy.vneid_acceptance_delivers,
                            "callback_url": self.policy.postal.callback_url or None}
        conn.execute(insert(notifications).values(
            id=row_id, reference=reference, natural_key=key, request_hash=body_hash, case_ref=request.case,
            client_name=client.name, officer=(request.officer or "").strip(), purpose=(request.purpose or "").strip(),
            document_ref=request.document.ref, request=stored, policy=mode.value,
            deadline=deadline.model_dump(mode="json"), due_by=deadline.due, channels=[c.value for c in channels],
            status=NotificationStatus.QUEUED.value, created_at=now, updated_at=now))
        stage_channels(conn, self.db, client, request,
                       [channel_command(c, row_id, reference, request.document.ref) for c in channels])
        return row_id

    # -- reading -----------------------------------------------------------------------------------------

    def get(self, notification_id: uuid.UUID) -> NotificationView:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(notifications).where(notifications.c.id == notification_id)).first()
            if row is None:
                raise NotFound(f"no notification {notification_id}")
            events = conn.execute(select(notification_events)
                                  .where(notification_events.c.notification_id == notification_id)
                                  .order_by(notification_events.c.at, notification_events.c.id)).all()
            commands = [CommandSummary(id=c.id, kind=c.kind, agency=c.agency, target=c.target, case_ref=c.case_ref,
                                       decision_ref=c.decision_ref, status=c.status, agency_ref=c.agency_ref,
                                       url=command_url(c.id))
                        for c in conn.execute(select(commands_table).where(commands_table.c.natural_key.in_(
                            [channel_command(ch, row.id, row.reference, row.document_ref).natural_key
                             for ch in KIND_OF])).order_by(commands_table.c.created_at, commands_table.c.id))]
        now = utc_now()
        deadline = Deadline.model_validate(row.deadline)
        summary = _summary(row, now)
        return NotificationView(
            **summary.model_dump(), officer=row.officer, purpose=row.purpose,
            deadline=DeadlineView(rule_id=deadline.rule_id, start=deadline.start, due_by=deadline.due,
                                  basis=deadline.basis, status=deadline.status,
                                  calendar_status=deadline.calendar_status, state=summary.deadline_state,
                                  days_left=deadline.days_left(vietnam_date(now))),
            events=[EventView(at=as_utc(e.at), channel=e.channel, status=e.status, source=e.source,
                              sequence=e.sequence, reason=(e.detail or {}).get("reason"), effect=e.effect,
                              received_at=as_utc(e.received_at)) for e in events],
            commands=commands, created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at))

    def by_case(self, case_ref: str) -> NotificationList:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(notifications).where(notifications.c.case_ref == case_ref.strip())
                                .order_by(notifications.c.created_at, notifications.c.id).limit(MAX_LISTED)).all()
        now = utc_now()
        listed = [_summary(r, now) for r in rows]
        counts = NotificationCounts(total=len(listed))
        for n in listed:
            setattr(counts, n.status.value, getattr(counts, n.status.value) + 1)
            name = f"deadline_{n.deadline_state.value}"
            setattr(counts, name, getattr(counts, name) + 1)
        return NotificationList(notifications=listed, counts=counts)


def _summary(row: Any, now: Any) -> NotificationSummary:
    delivered_at = as_utc(row.delivered_at)
    return NotificationSummary(
        id=row.id, url=notification_url(row.id), reference=row.reference, case_ref=row.case_ref,
        document_ref=row.document_ref, document_kind=row.request["document"]["kind"],
        recipient_name=row.request["recipient"]["name"], mode=row.policy, channels=row.channels,
        status=row.status, channel=row.channel, tracking_number=row.tracking_number, delivered_at=delivered_at,
        returned_reason=row.returned_reason, due_by=row.due_by,
        deadline_state=deadline_state(row.due_by, delivered_at, now))
