"""Notifications (thông báo) to parties and what happened to them on the way."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import Field, StringConstraints

from hub.model.base import CanonicalModel, Extensions, ShortText, UtcDatetime
from hub.model.party import Address

S10TrackingNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}\d{9}[A-Z]{2}$"), Field(
    description="UPU S10 tracking number, e.g. RR123456785VN.")]


class NotificationChannel(StrEnum):
    VNEID = "vneid"  # only with the citizen's consent
    POSTAL = "postal"  # bưu chính, registered mail
    IN_PERSON = "in_person"  # trực tiếp
    PUBLIC_POSTING = "public_posting"  # niêm yết công khai


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    RETURNED = "returned"
    REFUSED = "refused"  # e.g. VNeID without consent
    FAILED = "failed"


class DeliveryEvent(CanonicalModel):
    at: UtcDatetime
    status: DeliveryStatus
    channel: NotificationChannel
    tracking_number: S10TrackingNumber | None = None
    reason: ShortText | None = None
    extensions: Extensions = Field(default_factory=dict)


class Notification(CanonicalModel):
    """Thông báo thi hành án: a document sent to a party, due by a legal deadline."""

    id: UUID = Field(default_factory=uuid4)
    case_id: UUID
    recipient_party_id: UUID
    document_ref: ShortText = Field(description="The document notified (e.g. the enforcement decision).")
    channel: NotificationChannel
    address: Address | None = None
    issued_on: date
    due_by: date | None = Field(None, description="Legal deadline for the notification.")
    events: list[DeliveryEvent] = Field(default_factory=list)
