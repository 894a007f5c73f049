"""What a command is: its kinds, its statuses, and a command planned from a request before it is stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

QUEUE = "commands"
# Open entries the stream may hold; the rest waits in the outbox table (SQL), so a burst of commands
# costs disk, not Redis memory. An entry is ~60 bytes.
QUEUE_CAPACITY = 20_000


class CommandKind(StrEnum):
    ACCOUNT_FREEZE = "account_freeze"  # phong tỏa tài khoản
    ACCOUNT_RELEASE = "account_release"  # giải tỏa tài khoản
    LAND_RESTRICTION = "land_restriction"  # đăng ký hạn chế (tạm dừng, kê biên) quyền sử dụng đất
    LAND_RESTRICTION_LIFT = "land_restriction_lift"  # gỡ hạn chế
    PROCURACY_DECISION = "procuracy_decision"  # gửi quyết định để viện kiểm sát kiểm sát
    # hub/notifications and hub/payouts: their records follow each delivery (docs/notifications.md, payouts.md)
    NOTIFICATION_VNEID = "notification_vneid"  # thông báo qua VNeID (with the citizen's consent)
    NOTIFICATION_LETTER = "notification_letter"  # thông báo bằng thư bảo đảm
    PAYOUT_BATCH = "payout_batch"  # chi trả hàng loạt: one pain.001-like message at one bank


class CommandStatus(StrEnum):
    QUEUED = "queued"  # accepted, waiting for a worker (again, after a transient failure)
    SENT = "sent"  # a worker is asking the agency
    ACKNOWLEDGED = "acknowledged"  # the agency acted and answered its receipt
    FAILED = "failed"  # the agency refused, or the command cannot be carried out: asking again changes nothing
    DEAD_LETTERED = "dead_lettered"  # every allowed attempt failed transiently; replayable from the dead letters


# A history entry only, never a command's status: the agency confirmed the act afterwards, in an event it
# pushed (a bank's XacNhanPhongToa for a freeze). The act was acknowledged (or is being retried) already.
CONFIRMED = "confirmed"

END_STATES = frozenset({CommandStatus.ACKNOWLEDGED, CommandStatus.FAILED, CommandStatus.DEAD_LETTERED})


@dataclass(frozen=True)
class PlannedCommand:
    """One command a request asks for, not yet stored. ``natural_key`` is the agency's own idempotency key
    (kind, agency, decision, target): the same act asked again finds the stored command instead."""

    kind: CommandKind
    agency: str
    target: str
    decision_ref: str
    payload: dict[str, Any]
    linked_to: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def natural_key(self) -> str:
        return f"{self.kind.value}|{self.agency}|{self.decision_ref}|{self.target}"
