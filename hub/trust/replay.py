"""Replay protection: a message id is accepted once inside its validity window.

The id is remembered in Redis with SET NX until the message's Expires plus the allowed clock skew;
after that the envelope's own window check refuses it anyway, so nothing needs remembering longer.
The check runs after the signature check, so unsigned junk cannot burn other agencies' message ids.
Redis keys hold a hash of (sender, message id), not the id itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Protocol

from adapters.envelope import EnvelopeFields
from hub.errors import HubError


class _SetNx(Protocol):
    async def set(self, name: str, value: bytes, *, nx: bool, px: int) -> bool | None: ...


class ReplayGuard:
    def __init__(self, redis: _SetNx, key_prefix: str, clock_skew: dt.timedelta = dt.timedelta(minutes=5)) -> None:
        self.redis = redis
        self.prefix = key_prefix
        self.clock_skew = clock_skew

    def _key(self, sender: str, message_id: str) -> str:
        digest = hashlib.sha256(f"{sender}\n{message_id}".encode()).hexdigest()
        return f"{self.prefix}replay:{digest}"

    async def admit(self, header: EnvelopeFields, now: dt.datetime | None = None) -> None:
        """Remember the message; refuse with REPLAY if it was already seen inside its window."""
        now = now or dt.datetime.now(dt.UTC)
        ttl_ms = int((header.expires + self.clock_skew - now).total_seconds() * 1000)
        if ttl_ms <= 0:
            raise HubError("the message has expired", code="MESSAGE_EXPIRED", rule="expired")
        fresh = await self.redis.set(self._key(header.from_agency, header.message_id), b"1", nx=True, px=ttl_ms)
        if not fresh:
            raise HubError(f"message {header.message_id} from {header.from_agency} was already received",
                           code="REPLAY", rule="message_id_seen", message_id=header.message_id)
