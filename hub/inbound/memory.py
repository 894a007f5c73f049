"""Replay protection that tells a retransmission from a replay.

A sender that lost the hub's answer sends the same bytes again, same MessageId: that must get the first
answer (the contract's TRUNG_LAP), not a REPLAY refusal. Another document under a MessageId already seen
is a replay. The store answers first for messages it took in (``inbound_messages``); this memory covers
the moments before that commit (two copies in flight at once) and messages refused after admission.

Beside the ``ReplayGuard`` key, the hash of the envelope is remembered under its own key, written with
SET NX *before* the guard admits the message: whichever copy arrives first fixes the hash, so a second
copy can always compare, with no window where the guard knows the id and the hash is not yet there.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import redis.asyncio as aioredis

from adapters.envelope import EnvelopeFields
from hub.errors import HubError
from hub.trust.replay import ReplayGuard


class MessageMemory:
    def __init__(self, redis: aioredis.Redis, key_prefix: str, clock_skew: dt.timedelta) -> None:
        self.redis = redis
        self.prefix = key_prefix
        self.clock_skew = clock_skew
        self.guard = ReplayGuard(redis, key_prefix, clock_skew)  # type: ignore[arg-type]  # redis-py's wide types

    def _key(self, header: EnvelopeFields) -> str:
        digest = hashlib.sha256(f"{header.from_agency}\n{header.message_id}".encode()).hexdigest()
        return f"{self.prefix}inbound:content:{digest}"

    async def admit(self, header: EnvelopeFields, envelope_hash: str, now: dt.datetime | None = None) -> bool:
        """True the first time; False for another copy of the same envelope; REPLAY for another document."""
        now = now or dt.datetime.now(dt.UTC)
        ttl_ms = int((header.expires + self.clock_skew - now).total_seconds() * 1000)
        if ttl_ms <= 0:
            raise HubError("the message has expired", code="MESSAGE_EXPIRED", rule="expired")
        key = self._key(header)
        first = await self.redis.set(key, envelope_hash.encode(), nx=True, px=ttl_ms)
        if not first:
            seen = await self.redis.get(key)
            if seen is not None and (seen.decode() if isinstance(seen, bytes) else seen) != envelope_hash:
                raise HubError(f"message {header.message_id} from {header.from_agency} already carried another "
                               "document", code="REPLAY", rule="message_id_reused", message_id=header.message_id)
        try:
            await self.guard.admit(header, now)
        except HubError as exc:
            if exc.code == "REPLAY" and not first:
                return False
            raise
        return True
